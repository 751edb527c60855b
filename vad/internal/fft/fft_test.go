package fft

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// simds lists the stage kernels this CPU can run.
func simds() []bool {
	if HaveSIMD {
		return []bool{false, true}
	}
	return []bool{false}
}

// TestForwardMatchesDFT compares the spectrum with a direct DFT in float64,
// windowed and not, and checks that Inverse gives the block back.
func TestForwardMatchesDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{16, 64, 256, 512, 1024} {
		p, err := NewReal(n)
		if err != nil {
			t.Fatal(err)
		}
		x, win := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
		}
		for _, w := range [][]float32{nil, win} {
			for _, simd := range simds() {
				xr, xi, work := make([]float32, n/2+1), make([]float32, n/2+1), make([]float32, n)
				p.Forward(xr, xi, x, w, work, simd)
				for k := 0; k <= n/2; k++ {
					var wr, wi float64
					for i, v := range x {
						s := float64(v)
						if w != nil {
							s *= float64(w[i])
						}
						a := -2 * math.Pi * float64(k*i) / float64(n)
						wr += s * math.Cos(a)
						wi += s * math.Sin(a)
					}
					if d := math.Hypot(float64(xr[k])-wr, float64(xi[k])-wi); d > 1e-4*math.Sqrt(float64(n)) {
						t.Fatalf("n=%d simd=%v window=%v bin %d: got %v%+vi, want %v%+vi", n, simd, w != nil, k, xr[k], xi[k], wr, wi)
					}
				}
				if w != nil {
					continue
				}
				y := make([]float32, n)
				p.Inverse(y, xr, xi, work, simd)
				for i := range x {
					if d := math.Abs(float64(y[i] - x[i])); d > 1e-5 {
						t.Fatalf("n=%d simd=%v: inverse sample %d = %v, want %v", n, simd, i, y[i], x[i])
					}
				}
			}
		}
	}
}

// TestStageKernelsAgree runs the vector stage against the Go stage.
func TestStageKernelsAgree(t *testing.T) {
	if !HaveSIMD {
		t.Skip("no AVX2+FMA on this CPU")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, h := range []int{8, 16, 64, 256} {
		m := 4 * h
		re, im, twr, twi := make([]float32, m), make([]float32, m), make([]float32, h), make([]float32, h)
		for i := range re {
			re[i], im[i] = rng.Float32(), rng.Float32()
		}
		for i := range twr {
			twr[i], twi[i] = rng.Float32(), rng.Float32()
		}
		re2, im2 := append([]float32(nil), re...), append([]float32(nil), im...)
		stageGo(re, im, twr, twi, h)
		stageSIMD(re2, im2, twr, twi, h)
		for i := range re {
			if math.Abs(float64(re[i]-re2[i])) > 1e-5 || math.Abs(float64(im[i]-im2[i])) > 1e-5 {
				t.Fatalf("h=%d value %d: go %v%+vi, simd %v%+vi", h, i, re[i], im[i], re2[i], im2[i])
			}
		}
	}
}

func TestNewRealSizes(t *testing.T) {
	for _, n := range []int{0, 8, 100, 1 << 18, -16} {
		if _, err := NewReal(n); !errors.Is(err, ErrSize) {
			t.Errorf("NewReal(%d): %v, want ErrSize", n, err)
		}
	}
}

func BenchmarkForward512(b *testing.B) {
	p, _ := NewReal(512)
	x, xr, xi, work := make([]float32, 512), make([]float32, 257), make([]float32, 257), make([]float32, 512)
	for _, simd := range simds() {
		name := "go"
		if simd {
			name = "simd"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Forward(xr, xi, x, nil, work, simd)
			}
		})
	}
}
