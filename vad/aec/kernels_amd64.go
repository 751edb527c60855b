//go:build amd64 && !purego

package aec

import "golang.org/x/sys/cpu"

// haveSIMD reports whether the AVX2+FMA kernels can run on this CPU.
var haveSIMD = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func cmacAVX2(yr, yi, xr, xi, wr, wi []float32)

//go:noescape
func macAVX2(y, a, b []float32)

//go:noescape
func kalmanUpdateAVX2(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil, h float32)

// The vector kernels take lengths that are multiples of 8 (padBins makes
// every spectrum one); anything else goes to the portable kernels.

func cmacSIMD(yr, yi, xr, xi, wr, wi []float32) {
	n := len(yr)
	if n%8 != 0 || len(yi) < n || len(xr) < n || len(xi) < n || len(wr) < n || len(wi) < n {
		cmacGo(yr, yi, xr, xi, wr, wi)
		return
	}
	cmacAVX2(yr, yi, xr, xi, wr, wi)
}

func macSIMD(y, a, b []float32) {
	n := len(y)
	if n%8 != 0 || len(a) < n || len(b) < n {
		macGo(y, a, b)
		return
	}
	macAVX2(y, a, b)
}

func kalmanUpdateSIMD(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil float32) {
	n := len(wr)
	if n%8 != 0 || len(wi) < n || len(pk) < n || len(xr) < n || len(xi) < n || len(xp) < n ||
		len(gr) < n || len(gi) < n || len(inv) < n {
		kalmanUpdateGo(wr, wi, pk, xr, xi, xp, gr, gi, inv, a, q, ceil)
		return
	}
	kalmanUpdateAVX2(wr, wi, pk, xr, xi, xp, gr, gi, inv, a, q, ceil, 0.5*filterShrink)
}
