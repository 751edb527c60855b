package resample

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDot checks the kernel this build uses against the portable one for
// every length a filter can have.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 4; n <= 300; n += 4 {
		a, b := make([]float32, n), make([]float32, n+5)
		for i := range a {
			a[i] = rng.Float32()*2 - 1
		}
		for i := range b {
			b[i] = rng.Float32()*60000 - 30000
		}
		got, want := dot(a, b), dotGo(a, b)
		var scale float64
		for i := range a {
			scale += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if math.Abs(float64(got-want)) > 1e-5*scale {
			t.Fatalf("len %d: dot = %v, portable dot = %v", n, got, want)
		}
	}
}

// TestDotAnyLength checks the exported Dot, whose tail the kernel does not
// take, against a plain sum for lengths that are not multiples of 4.
func TestDotAnyLength(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 70; n++ {
		a, b := make([]float32, n), make([]float32, n+3)
		for i := range b {
			b[i] = rng.Float32()*2 - 1
		}
		var want, scale float64
		for i := range a {
			a[i] = rng.Float32()*2 - 1
			want += float64(a[i]) * float64(b[i])
			scale += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-5*max(scale, 1) {
			t.Fatalf("len %d: Dot = %v, want %v", n, got, want)
		}
	}
}
