//go:build amd64 && !purego

package resample

import "golang.org/x/sys/cpu"

// useAVX2 reports whether dotAVX2 can run on this CPU.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dotAVX2 is dotGo with AVX2 and FMA: len(a) a multiple of 4,
// len(b) >= len(a).
//
//go:noescape
func dotAVX2(a, b []float32) float32

// dot returns the dot product of a and b[:len(a)] (len(a) a multiple of 4).
func dot(a, b []float32) float32 {
	if useAVX2 {
		return dotAVX2(a, b[:len(a)])
	}
	return dotGo(a, b)
}
