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

func matVecSIMD(y, w, x []float32, k, ws int) {
	if len(y)%4 != 0 || k <= 0 || k%16 != 0 || len(x) < k || (len(y) > 0 && len(w) < (len(y)-1)*ws+k) {
		matVecGo(y, w, x, k, ws) // shapes the kernel cannot take
		return
	}
	matVecAVX2(y, w, x, k, ws)
}

// matVec4AVX2 computes y[t*ys+r] = w[r*ws:r*ws+k] · x[t*xs:t*xs+k] for
// t < 4 and r < rows: rows even, k a multiple of 8, and the slices long
// enough (checked by matVec4SIMD).
//
//go:noescape
func matVec4AVX2(y, w, x []float32, k, ws, xs, ys, rows int)

func matVec4SIMD(y, w, x []float32, k, ws, xs, ys, rows int) {
	if rows <= 0 || rows%2 != 0 || k <= 0 || k%8 != 0 ||
		len(y) < 3*ys+rows || len(w) < (rows-1)*ws+k || len(x) < 3*xs+k {
		matVec4Go(y, w, x, k, ws, xs, ys, rows) // shapes the kernel cannot take
		return
	}
	matVec4AVX2(y, w, x, k, ws, xs, ys, rows)
}

// expAVX2 sets x[i] = e^x[i] for len(x) a multiple of 8 (expf's method).
//
//go:noescape
func expAVX2(x []float32)

func expSIMD(x []float32) { expAVX2(x) }
