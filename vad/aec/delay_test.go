package aec

import (
	"math/rand/v2"
	"testing"

	"github.com/harkvoice/hark/vad/aec/aectest"
)

// The estimator finds pure delays of real speech within a block, with
// noise and with the user talking now and then.
func TestDelayEstimator(t *testing.T) {
	clips, err := aectest.LoadClips("../../testdata/speech", 16000, aectest.FarClips...)
	if err != nil {
		t.Fatal(err)
	}
	var far []float32
	for range 2 {
		for _, c := range clips {
			far = append(far, c.Samples...)
			far = append(far, make([]float32, 4000)...)
		}
	}
	user, err := aectest.LoadClips("../../testdata/speech", 16000, aectest.NearClips[0])
	if err != nil {
		t.Fatal(err)
	}
	const b = 128
	plan := testPlan(t, 2*b, false)
	win := newSuppressor(b, plan).win
	spectrum := func(x []float32, re, im []float32) {
		w := make([]float32, 2*b)
		for i := range w {
			w[i] = win[i] * x[i]
		}
		plan.forward(re, im, w)
	}
	for _, delay := range []int{20, 100, 300, 700} { // ms
		rng := rand.New(rand.NewPCG(uint64(delay), 1))
		d := newDelayEstimator(b, 16000, 0, 125)
		shift := delay * 16
		mic := make([]float32, len(far))
		for i := range mic {
			if i >= shift {
				mic[i] = 0.3 * far[i-shift]
			}
			mic[i] += float32(rng.NormFloat64() * 10)
		}
		for i, v := range user[0].Samples { // the user at 5 s
			mic[80000+i] += v
		}
		re, im := make([]float32, padBins(b)), make([]float32, padBins(b))
		var got int
		var ok bool
		for j := 1; (j+1)*b <= len(far); j++ {
			spectrum(far[(j-1)*b:], re, im)
			d.addRef(re, im)
			spectrum(mic[(j-1)*b:], re, im)
			got, ok = d.update(re, im, true, false)
		}
		want := delay * 16 / b
		if !ok || iabs(got-want) > 1 {
			t.Errorf("delay %d ms: found %v, lag %d blocks, want %d", delay, ok, got, want)
		}
	}
}
