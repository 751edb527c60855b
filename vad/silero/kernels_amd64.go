//go:build amd64 && !purego

package silero

import "golang.org/x/sys/cpu"

// haveSIMD reports whether the AVX2+FMA kernels can run on this CPU.
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// matVecAVX2 is matVecGo in AVX2+FMA assembly: len(y) a multiple of 4, k a
// multiple of 16, len(w) ≥ (len(y)-1)*ws+k, len(x) ≥ k.
//
//go:noescape
func matVecAVX2(y, w, x []float32, k, ws int)

func matVecSIMD(y, w, x []float32, k, ws int) { matVecAVX2(y, w, x, k, ws) }
