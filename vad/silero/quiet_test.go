package silero

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
)

// onsets runs a detector with default parameters over stream and returns
// the positions where it confirmed speech.
func onsets(t *testing.T, m vad.Model, stream []int16) (at []int64) {
	t.Helper()
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(stream); i += 320 {
		evs, err := d.Write(stream[i:min(i+320, len(stream))])
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Type == vad.SpeechStart {
				at = append(at, ev.At)
			}
		}
	}
	return at
}

// Scoring near-digital silence as silence misses no onset and delays none:
// on every speech clip, at both rates, each utterance after digital silence
// (exact zeros, a decoder's ±1 LSB, ±8 LSB) is confirmed, within one window
// of a stream that runs the whole network on every window and no later in
// all. (Windows of the clips themselves at a few LSB shift a few onsets by
// a window either way, as that much dither does to the whole network.)
func TestQuietSkipKeepsOnsets(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "speech")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	silences := []struct {
		name string
		lsb  int
	}{{"zeros", 0}, {"1 LSB", 1}, {"8 LSB", 8}}
	var utterances, skipped, windows int
	shift := map[int]int{} // windows later than scoring every window: onsets
	later := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".wav") {
			continue
		}
		fr, err := wav.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, rate := range []int{16000, 8000} {
			clip := fr.Samples
			if rate == 8000 {
				clip = decimate16(fr.Samples)
			}
			for _, sil := range silences {
				rng := rand.New(rand.NewPCG(7, uint64(sil.lsb)))
				quiet := func(d float64) []int16 {
					q := make([]int16, int(d*float64(rate)))
					for i := range q {
						q[i] = int16(rng.IntN(2*sil.lsb+1) - sil.lsb)
					}
					return q
				}
				// Lead-in, the clip, a short gap, the clip, a long gap, the clip.
				var stream []int16
				for _, part := range [][]int16{quiet(0.7), clip, quiet(0.5), clip, quiet(2.3), clip, quiet(1)} {
					stream = append(stream, part...)
				}
				name := fmt.Sprintf("%s/%d/%s", e.Name(), rate, sil.name)
				every, err := testWeights(t).NewModel(rate)
				if err != nil {
					t.Fatal(err)
				}
				every.exact = true
				wantAt := onsets(t, every, stream)
				gated, err := testWeights(t).NewModel(rate)
				if err != nil {
					t.Fatal(err)
				}
				counted := &skipCounter{Model: gated}
				gotAt := onsets(t, counted, stream)
				if len(wantAt) < 3 {
					t.Errorf("%s: the scoring stream confirmed %d utterances, want at least 3", name, len(wantAt))
				}
				if len(gotAt) != len(wantAt) {
					t.Errorf("%s: onsets confirmed at %v, scoring every window %v", name, gotAt, wantAt)
					continue
				}
				for i := range gotAt {
					d := int(gotAt[i]-wantAt[i]) / gated.WindowSize()
					shift[d]++
					later += d
					if d > 1 {
						t.Errorf("%s: onset %d confirmed %d windows later than scoring every window (%v, %v)", name, i, d, gotAt, wantAt)
					}
				}
				utterances += len(wantAt)
				skipped += counted.skipped
				windows += len(stream) / gated.WindowSize()
			}
		}
	}
	t.Logf("%d utterances confirmed, windows later than scoring every window: onsets %v; %d of %d windows scored as silence", utterances, shift, skipped, windows)
	if later > 0 {
		t.Errorf("onsets confirmed %d windows later in all than scoring every window", later)
	}
	if skipped < windows/4 {
		t.Errorf("only %d of %d windows skipped", skipped, windows)
	}
}

// skipCounter counts the windows its model did not score.
type skipCounter struct {
	*Model
	skipped int
}

func (c *skipCounter) Probability(w []float32) (float32, error) {
	var peak float32
	for _, v := range w {
		peak = max(peak, v, -v)
	}
	if c.Model.quietWindow(peak) {
		c.skipped++
	}
	return c.Model.Probability(w)
}

// decimate16 halves the rate of 16-bit samples (see decimate).
func decimate16(x []int16) []int16 {
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v) / 32768
	}
	f = decimate(f)
	out := make([]int16, len(f))
	for i, v := range f {
		out[i] = int16(max(-32768, min(32767, v*32768)))
	}
	return out
}

// On exact digital silence the shortcut gives the whole network's
// probabilities (up to float32 rounding), with either kernel set and at
// both rates, before, between and after speech.
func TestQuietSilenceMatches(t *testing.T) {
	clips := goldenClips(t)
	for _, k := range kernels() {
		for _, c := range clips[:2] { // speech at 16 and 8 kHz
			quiet := make([]float32, c.rate)
			stream := append(append(append(append([]float32{}, quiet...), c.samples[:2*c.rate]...), quiet...), quiet...)
			run := func(exact bool) []float32 {
				m := newTestModel(t, c.rate, k)
				m.exact = exact
				w := m.WindowSize()
				var probs []float32
				for i := 0; i+w <= len(stream); i += w {
					p, err := m.Probability(stream[i : i+w])
					if err != nil {
						t.Fatal(err)
					}
					probs = append(probs, p)
				}
				return probs
			}
			got, want := run(false), run(true)
			var worst float64
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			t.Logf("%s %d Hz: %d windows, max |shortcut - whole network| = %.2g", k, c.rate, len(want), worst)
			if worst > 1e-5 {
				t.Errorf("%s %d Hz: probabilities differ from the whole network's by up to %g, want <= 1e-5", k, c.rate, worst)
			}
		}
	}
}

// BenchmarkSileroQuiet measures a window of near-digital silence (±1 LSB).
func BenchmarkSileroQuiet(b *testing.B) {
	m, err := testWeights(b).NewModel(16000)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	w := make([]float32, m.WindowSize())
	for i := range w {
		w[i] = float32(rng.IntN(3)-1) / 32768
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Probability(w); err != nil {
			b.Fatal(err)
		}
	}
}
