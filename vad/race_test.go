//go:build race

package vad_test

// raceEnabled trims the long Silero runs under the race detector, which
// slows the network about tenfold; the package starts no goroutines.
const raceEnabled = true
