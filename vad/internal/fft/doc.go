// Package fft holds the real-signal FFT that the listening front end shares:
// the Silero detector's short-time spectra (vad/silero) and the echo
// canceller's block filter (vad/aec). A plan is read-only after NewReal and
// may serve many goroutines; the caller brings the work space.
//
// The radix-2 stages run in AVX2+FMA assembly on amd64 CPUs that have it
// (HaveSIMD) and in Go elsewhere; both give the same results to float32
// rounding, and callers choose per call so tests can compare them.
package fft
