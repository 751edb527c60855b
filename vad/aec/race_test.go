//go:build race

package aec_test

// raceEnabled trims the room simulations under the race detector, which
// slows them about tenfold (the canceller itself starts no goroutines).
const raceEnabled = true
