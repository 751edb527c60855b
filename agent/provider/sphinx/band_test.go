package sphinx

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
)

func noise(n int) []int16 {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(rng.NormFloat64() * 3000)
	}
	return s
}

func TestNarrowband(t *testing.T) {
	wide := noise(16000)
	narrow, err := resample.Frame(pcm.Frame{Samples: wide, Format: pcm.Mono16k}, pcm.Mono8k)
	if err != nil {
		t.Fatal(err)
	}
	up, err := resample.Frame(narrow, pcm.Mono16k)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		samples []int16
		want    bool
	}{
		{"white noise", wide, false},
		{"through 8 kHz", up.Samples, true},
		{"silence", make([]int16, 16000), false},
		{"too short", wide[:10], false},
	} {
		if got := narrowband(c.samples); got != c.want {
			t.Errorf("%s: narrowband = %v (%.1f dB), want %v", c.name, got, highBandDB(c.samples), c.want)
		}
	}
}

func TestBandDecider(t *testing.T) {
	wide := noise(2 * bandProbe)
	narrow, err := resample.Frame(pcm.Frame{Samples: noise(4 * bandProbe), Format: pcm.Mono16k}, pcm.Mono8k)
	if err != nil {
		t.Fatal(err)
	}
	upf, err := resample.Frame(narrow, pcm.Mono16k)
	if err != nil {
		t.Fatal(err)
	}
	// Telephone audio from its second 100 ms on, fading in over 50 ms.
	up := slices.Clone(upf.Samples[bandProbe:])
	for i := range 800 {
		up[i] = int16(float64(up[i]) * float64(i) / 800)
	}
	for _, c := range []struct {
		name       string
		d          bandDecider
		writes     [][]int16
		last       bool
		wantNarrow bool
		wantOut    []int // samples returned per write
	}{
		{"no map passes through", bandDecider{}, [][]int16{wide[:100], wide[100:200]}, false, false, []int{100, 100}},
		{"8 kHz format passes through", bandDecider{mapped: true, narrow: true}, [][]int16{wide[:100]}, false, true, []int{100}},
		{"holds until the probe", bandDecider{mapped: true}, [][]int16{wide[:bandProbe/2], wide[bandProbe/2 : bandProbe], wide[bandProbe : bandProbe+10]}, false, false, []int{0, bandProbe, 10}},
		{"decides on the last write", bandDecider{mapped: true}, [][]int16{wide[:100]}, true, false, []int{100}},
		{"waits through silence", bandDecider{mapped: true}, [][]int16{make([]int16, bandProbe), up[:bandProbe]}, false, true, []int{0, 2 * bandProbe}},
		{"silence up to the limit is wideband", bandDecider{mapped: true}, [][]int16{make([]int16, bandWait)}, false, false, []int{bandWait}},
	} {
		var got []int
		for i, w := range c.writes {
			got = append(got, len(c.d.take(w, c.last && i == len(c.writes)-1)))
		}
		if !slices.Equal(got, c.wantOut) || c.d.narrow != c.wantNarrow || !c.d.decided {
			t.Errorf("%s: returned %v, narrow %v, decided %v; want %v, narrow %v", c.name, got, c.d.narrow, c.d.decided, c.wantOut, c.wantNarrow)
		}
	}
}

func TestBandStreamMatchesApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ctx := range []int{0, 1, 2} {
		m := &bandMap{ctx: ctx, dim: 3}
		m.w = make([]float32, m.dim*m.inputs())
		for i := range m.w {
			m.w[i] = float32(rng.NormFloat64())
		}
		cep := make([]float32, 17*m.dim)
		for i := range cep {
			cep[i] = float32(rng.NormFloat64())
		}
		want := m.apply(nil, cep)
		for _, piece := range []int{1, 2, 5, 17} {
			s := &bandStream{m: m}
			var got []float32
			for f := 0; f < 17; f += piece {
				got = s.push(got, cep[f*m.dim:min(f+piece, 17)*m.dim])
			}
			got = s.end(got)
			if len(got) != len(want) {
				t.Fatalf("ctx %d, pieces of %d: %d values, want %d", ctx, piece, len(got), len(want))
			}
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("ctx %d, pieces of %d: value %d = %v, want %v", ctx, piece, i, got[i], want[i])
				}
			}
			// A second utterance starts afresh.
			if again := s.end(s.push(nil, cep)); !slices.Equal(again, want) {
				t.Errorf("ctx %d: second utterance differs", ctx)
			}
		}
	}
}
