package aec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testPlan returns a plan for blocks of n samples.
func testPlan(t *testing.T, n int, k kernels) *fftPlan {
	t.Helper()
	p, err := newFFTPlan(n, k)
	if err != nil {
		t.Fatal(err)
	}
	return p
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
