//go:build !race

package aectest

const raceEnabled = false
