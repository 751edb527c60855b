//go:build amd64 && !purego

package fft

import "golang.org/x/sys/cpu"

// HaveSIMD reports whether the AVX2+FMA stages can run on this CPU.
var HaveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// stageAVX2 is stageGo in AVX2+FMA assembly: h a multiple of 8, len(re) =
// len(im) a multiple of 2h, len(twr) = len(twi) ≥ h.
//
//go:noescape
func stageAVX2(re, im, twr, twi []float32, h int)

func stageSIMD(re, im, twr, twi []float32, h int) {
	if len(im) != len(re) || h <= 0 || len(re)%(2*h) != 0 || h%8 != 0 || len(twr) < h || len(twi) < h {
		stageGo(re, im, twr, twi, h) // shapes the kernel cannot take
		return
	}
	stageAVX2(re, im, twr, twi, h)
}
