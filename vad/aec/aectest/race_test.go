//go:build race

package aectest

// raceEnabled trims the room simulations under the race detector, which
// slows them about tenfold (the canceller itself starts no goroutines).
const raceEnabled = true
