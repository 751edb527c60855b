package aec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The real FFT against a direct DFT, and the inverse against the input.
func TestFFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		n int
		k kernels
	}{{16, false}, {32, false}, {64, false}, {128, false}, {256, false}, {512, false}, {64, true}, {128, true}, {256, true}, {512, true}} {
		n := tc.n
		p := newFFTPlan(n, tc.k && kernels(haveSIMD))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		xr, xi := make([]float32, padBins(n/2)), make([]float32, padBins(n/2))
		p.forward(xr, xi, x)
		for k := 0; k <= n/2; k++ {
			var re, im float64
			for j, v := range x {
				a := -2 * math.Pi * float64(k*j) / float64(n)
				re += float64(v) * math.Cos(a)
				im += float64(v) * math.Sin(a)
			}
			if math.Abs(float64(xr[k])-re) > 1e-4*float64(n) || math.Abs(float64(xi[k])-im) > 1e-4*float64(n) {
				t.Fatalf("n=%d %v bin %d: %v%+vi, want %v%+vi", n, tc.k, k, xr[k], xi[k], re, im)
			}
		}
		y := make([]float32, n)
		p.inverse(y, xr, xi)
		for i := range x {
			if math.Abs(float64(y[i]-x[i])) > 1e-5 {
				t.Fatalf("n=%d %v inverse sample %d: %v, want %v", n, tc.k, i, y[i], x[i])
			}
		}
	}
}

// The vector kernels against the portable ones on random data.
func TestKernels(t *testing.T) {
	if !haveSIMD {
		t.Skip("no AVX2+FMA")
	}
	rng := rand.New(rand.NewPCG(3, 3))
	const n = 136
	vec := func() []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	pos := func() []float32 {
		v := vec()
		for i := range v {
			v[i] = v[i]*v[i] + 0.01
		}
		return v
	}
	near := func(what string, a, b []float32, tol float64) {
		t.Helper()
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > tol*(1+math.Abs(float64(a[i]))) {
				t.Fatalf("%s[%d]: portable %v, vector %v", what, i, a[i], b[i])
			}
		}
	}
	yr, yi, xr, xi, wr, wi := vec(), vec(), vec(), vec(), vec(), vec()
	yr2, yi2 := append([]float32(nil), yr...), append([]float32(nil), yi...)
	kernels(false).cmac(yr, yi, xr, xi, wr, wi)
	kernels(true).cmac(yr2, yi2, xr, xi, wr, wi)
	near("cmac re", yr, yr2, 1e-5)
	near("cmac im", yi, yi2, 1e-5)

	y, a, b := vec(), vec(), vec()
	y2 := append([]float32(nil), y...)
	kernels(false).mac(y, a, b)
	kernels(true).mac(y2, a, b)
	near("mac", y, y2, 1e-5)

	pk, xp, gr, gi, inv := pos(), pos(), vec(), vec(), pos()
	for i := range inv {
		inv[i] = 0.5 / (xp[i] * pk[i]) // keeps P positive, as in the filter
	}
	wr2, wi2, pk2 := append([]float32(nil), wr...), append([]float32(nil), wi...), append([]float32(nil), pk...)
	kernels(false).kalmanUpdate(wr, wi, pk, xr, xi, xp, gr, gi, inv, 0.999, 1e-3, 2)
	kernels(true).kalmanUpdate(wr2, wi2, pk2, xr, xi, xp, gr, gi, inv, 0.999, 1e-3, 2)
	near("kalman W re", wr, wr2, 1e-5)
	near("kalman W im", wi, wi2, 1e-5)
	near("kalman P", pk, pk2, 1e-5)
}
