//go:build !amd64 || purego

package fft

// HaveSIMD is false: no vector stages in this build.
const HaveSIMD = false

// stageSIMD is never called in this build (HaveSIMD is false).
func stageSIMD(re, im, twr, twi []float32, h int) { stageGo(re, im, twr, twi, h) }
