//go:build race

package agent_test

// raceEnabled trims the randomized test under the race detector, which
// slows each conversation about tenfold.
const raceEnabled = true
