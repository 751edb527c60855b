//go:build !race

package aec_test

const raceEnabled = false
