//go:build !amd64 || purego

package aec

// haveSIMD is false: no vector kernels in this build.
const haveSIMD = false

// The SIMD entry points are never called in this build (haveSIMD is
// false); they keep the dispatch portable.

func cmacSIMD(yr, yi, xr, xi, wr, wi []float32) { cmacGo(yr, yi, xr, xi, wr, wi) }

func macSIMD(y, a, b []float32) { macGo(y, a, b) }

func kalmanUpdateSIMD(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil float32) {
	kalmanUpdateGo(wr, wi, pk, xr, xi, xp, gr, gi, inv, a, q, ceil)
}
