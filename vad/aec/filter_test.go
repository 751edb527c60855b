package aec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// whiteEcho runs the filter on white noise through a random decaying
// response (plus noise at the microphone) and returns the ERLE in dB over
// each run of 50 blocks.
func whiteEcho(t *testing.T, f *filter, h []float32, blocks int, noise float64, seed uint64) []float64 {
	t.Helper()
	b := f.b
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, (blocks+1)*b)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 1000)
	}
	yhat, e := make([]float32, b), make([]float32, b)
	var out []float64
	var ey, ee float64
	echo := make([]float32, b)
	for j := 1; j <= blocks; j++ {
		f.pushRef(x[j*b-b : j*b+b])
		f.estimate(yhat)
		var eyb float32
		for i := range b {
			var y float32
			for k, c := range h {
				if n := j*b + i - k; n >= 0 {
					y += c * x[n]
				}
			}
			echo[i] = y
			ey += float64(y * y)
			y += float32(rng.NormFloat64() * noise)
			e[i] = y - yhat[i]
			eyb += y * y
			// Residual echo only: the noise is not the filter's to remove.
			d := float64(echo[i] - yhat[i])
			ee += d * d
		}
		f.adapt(e, eyb)
		if j%50 == 0 {
			out = append(out, 10*math.Log10(ey/ee))
			ey, ee = 0, 0
		}
	}
	return out
}

func decaying(rng *rand.Rand, n int, tau, gain float64) []float32 {
	h := make([]float32, n)
	for i := range h {
		h[i] = float32(rng.NormFloat64() * math.Exp(-float64(i)/tau) * gain)
	}
	return h
}

func TestFilterConverges(t *testing.T) {
	const b, parts = 128, 16
	rng := rand.New(rand.NewPCG(2, 2))
	h := decaying(rng, 1500, 300, 0.1)
	for _, tc := range []struct {
		noise float64
		k     kernels
	}{{0, false}, {40, false}, {0, true}, {40, true}} { // noise 40: 30 dB below the echo
		noise := tc.noise
		f := newFilter(b, parts, testPlan(t, 2*b, tc.k && kernels(haveSIMD)))
		erle := whiteEcho(t, f, h, 400, noise, 1)
		t.Logf("noise %v %v: ERLE every 50 blocks %.1f", noise, tc.k, erle)
		if last := erle[len(erle)-1]; last < 25 {
			t.Errorf("noise %v: ERLE %.1f dB after 400 blocks, want ≥ 25", noise, last)
		}
	}
}
