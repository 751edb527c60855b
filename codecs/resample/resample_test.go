package resample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// mainRates are the rates Hark's stages use; every pair is measured.
var mainRates = []int{8000, 16000, 22050, 24000, 48000}

type pair struct{ from, to int }

func pairs(rates []int) []pair {
	var ps []pair
	for _, a := range rates {
		for _, b := range rates {
			if a != b {
				ps = append(ps, pair{a, b})
			}
		}
	}
	return ps
}

func tone(rate int, freq, amp float64, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return s
}

func rms(x []int16) float64 {
	var sum float64
	for _, v := range x {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(x)))
}

// residualRMS fits a sine and cosine at freq to x (least squares) and returns
// the RMS of the fit and of what remains.
func residualRMS(x []int16, rate int, freq float64) (fit, rest float64) {
	var ss, sc, cc, xs, xc float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss += s * s
		sc += s * c
		cc += c * c
		xs += float64(v) * s
		xc += float64(v) * c
	}
	det := ss*cc - sc*sc
	a := (xs*cc - xc*sc) / det
	b := (xc*ss - xs*sc) / det
	var fe, re float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		y := a*math.Sin(w) + b*math.Cos(w)
		fe += y * y
		re += (float64(v) - y) * (float64(v) - y)
	}
	n := float64(len(x))
	return math.Sqrt(fe / n), math.Sqrt(re / n)
}

func mustNew(t testing.TB, from, to int) *Resampler {
	t.Helper()
	r, err := New(from, to)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAliasRejection sweeps sine tones across the input band of every rate
// pair. Tones the output rate cannot carry must vanish (aliases); tones it
// can carry must come out clean (no images or other spurs). Whatever the
// output holds besides the tone is measured against the input level; the
// worst case of each pair is logged and must be at least 60 dB down.
func TestAliasRejection(t *testing.T) {
	const amp = 16000.0
	// The echo guard also takes the main rates down to 4 kHz.
	to4k := []pair{{8000, 4000}, {16000, 4000}, {24000, 4000}, {48000, 4000}}
	for _, p := range append(pairs(mainRates), to4k...) {
		t.Run(fmt.Sprintf("%d-%d", p.from, p.to), func(t *testing.T) {
			worst, worstF := math.Inf(1), 0.0
			in := p.from / 8 // 125 ms per tone
			inNyq, outNyq := float64(p.from)/2, float64(p.to)/2
			// A coarse sweep over the input band plus a fine one around
			// the lower Nyquist frequency, where the filter is weakest.
			var freqs []float64
			for f := 50.0; f < inNyq; f += inNyq / 47 {
				freqs = append(freqs, f)
			}
			edge := min(inNyq, outNyq)
			for f := edge * 0.85; f < min(edge*1.15, inNyq); f += edge * 0.3 / 31 {
				freqs = append(freqs, f)
			}
			for _, f := range freqs {
				r := mustNew(t, p.from, p.to)
				out := r.Process(nil, tone(p.from, f, amp, in))
				out = out[len(out)/3:] // skip the filter's start-up
				// Everything but the tone itself is alias, image or
				// noise; compare it with the input level.
				spurs := rms(out)
				if f < outNyq {
					_, spurs = residualRMS(out, p.to, f)
				}
				rejection := 20 * math.Log10(amp/math.Sqrt2/max(spurs, 1e-9))
				if rejection < worst {
					worst, worstF = rejection, f
				}
			}
			t.Logf("%5d -> %5d Hz: worst alias/image rejection %.1f dB (tone %.0f Hz)", p.from, p.to, worst, worstF)
			if worst < 60 {
				t.Errorf("rejection %.1f dB at %.0f Hz, want >= 60 dB", worst, worstF)
			}
		})
	}
}

func chirp(rate int, f0, f1, dur, t0 float64, n int) []float64 {
	s := make([]float64, n)
	k := (f1 - f0) / dur
	for i := range s {
		tt := float64(i)/float64(rate) - t0
		if tt < 0 || tt > dur {
			continue
		}
		env := math.Min(1, math.Min(tt, dur-tt)/0.02) // 20 ms fades
		s[i] = env * math.Sin(2*math.Pi*(f0*tt+k*tt*tt/2))
	}
	return s
}

// measureDelay finds the lag (seconds) of out against the ideal chirp by
// cross-correlation at whole output samples refined with a parabola.
func measureDelay(out []int16, rate int, ideal []float64, maxLag int) float64 {
	corr := func(lag int) float64 {
		var sum float64
		for i := range ideal {
			if j := i + lag; j >= 0 && j < len(out) {
				sum += ideal[i] * float64(out[j])
			}
		}
		return sum
	}
	best, bestC := 0, math.Inf(-1)
	for lag := 0; lag <= maxLag; lag++ {
		if c := corr(lag); c > bestC {
			best, bestC = lag, c
		}
	}
	a, b, c := corr(best-1), bestC, corr(best+1)
	frac := 0.0
	if d := a - 2*b + c; d != 0 {
		frac = 0.5 * (a - c) / d
	}
	return (float64(best) + frac) / float64(rate)
}

// TestDelay feeds a sine sweep through every pair and measures the added
// delay by cross-correlation with the ideal sweep at the output rate.
func TestDelay(t *testing.T) {
	for _, p := range pairs(mainRates) {
		r := mustNew(t, p.from, p.to)
		low := float64(min(p.from, p.to))
		const dur, start = 0.4, 0.05
		in := chirp(p.from, 100, 0.4*low, dur, start, p.from/2)
		src := make([]int16, len(in))
		for i, v := range in {
			src[i] = int16(math.Round(12000 * v))
		}
		out := r.Process(nil, src)
		ideal := chirp(p.to, 100, 0.4*low, dur, start, p.to/2)
		got := measureDelay(out, p.to, ideal, p.to/100)
		t.Logf("%5d -> %5d Hz: measured delay %.3f ms (filter group delay %.3f ms)",
			p.from, p.to, got*1e3, r.Delay().Seconds()*1e3)
		if got > 0.003 {
			t.Errorf("%d -> %d: delay %.3f ms, want <= 3 ms", p.from, p.to, got*1e3)
		}
		if diff := math.Abs(got - r.Delay().Seconds()); diff > 0.5/float64(p.to) {
			t.Errorf("%d -> %d: measured delay %.4f ms, Delay() says %.4f ms", p.from, p.to, got*1e3, r.Delay().Seconds()*1e3)
		}
	}
}

// TestStreamingMatchesOneShot checks that frames of random sizes produce
// exactly the samples of one call over the whole signal: the state carried
// across calls leaves no seams at frame borders.
func TestStreamingMatchesOneShot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range pairs(Rates) {
		src := make([]int16, p.from/5)
		for i := range src {
			src[i] = int16(rng.IntN(20000) - 10000)
		}
		whole := mustNew(t, p.from, p.to).Process(nil, src)
		r := mustNew(t, p.from, p.to)
		var parts []int16
		for rest := src; len(rest) > 0; {
			n := min(len(rest), rng.IntN(700))
			parts = r.Process(parts, rest[:n])
			rest = rest[n:]
		}
		if !slices.Equal(whole, parts) {
			t.Fatalf("%d -> %d: chunked output differs from one-shot output", p.from, p.to)
		}
		want := len(src) * p.to / p.from
		if d := len(whole) - want; d < -1 || d > 1 {
			t.Fatalf("%d -> %d: %d output samples for %d input, want ~%d", p.from, p.to, len(whole), len(src), want)
		}
	}
}

func TestPassbandGain(t *testing.T) {
	for _, p := range pairs(mainRates) {
		r := mustNew(t, p.from, p.to)
		out := r.Process(nil, tone(p.from, 1000, 10000, p.from/5))
		fit, _ := residualRMS(out[len(out)/4:], p.to, 1000)
		if gain := 20 * math.Log10(fit/(10000/math.Sqrt2)); math.Abs(gain) > 0.05 {
			t.Errorf("%d -> %d: 1 kHz gain %.3f dB, want 0 +- 0.05", p.from, p.to, gain)
		}
	}
}

func TestResetAndFlush(t *testing.T) {
	r := mustNew(t, 16000, 48000)
	src := tone(16000, 440, 8000, 320)
	first := r.Process(nil, src)
	r.Reset()
	if again := r.Process(nil, src); !slices.Equal(first, again) {
		t.Fatal("output after Reset differs from a new resampler's")
	}
	tail := r.Flush(nil)
	if len(tail) == 0 || rms(tail) == 0 {
		t.Fatal("Flush returned no delayed signal")
	}
	if again := r.Process(nil, src); !slices.Equal(first, again) {
		t.Fatal("Flush did not reset the resampler")
	}
}

func TestSameRate(t *testing.T) {
	r := mustNew(t, 16000, 16000)
	src := []int16{1, 2, 3}
	if got := r.Process([]int16{9}, src); !slices.Equal(got, []int16{9, 1, 2, 3}) {
		t.Fatalf("same-rate Process = %v", got)
	}
	if r.Delay() != 0 || len(r.Flush(nil)) != 0 {
		t.Fatal("same-rate resampler has delay")
	}
	r.Reset()
}

func TestUnsupportedRates(t *testing.T) {
	for _, p := range []pair{{44000, 16000}, {16000, 0}, {-8000, 8000}, {7999, 7999}} {
		if _, err := New(p.from, p.to); !errors.Is(err, ErrUnsupportedRate) {
			t.Errorf("New(%d, %d) error = %v, want ErrUnsupportedRate", p.from, p.to, err)
		}
	}
}

func TestClip(t *testing.T) {
	r := mustNew(t, 8000, 48000)
	// A full-scale square wave overshoots (Gibbs); the output must saturate,
	// not wrap around.
	src := make([]int16, 800)
	for i := range src {
		src[i] = math.MaxInt16
		if i/20%2 == 1 {
			src[i] = math.MinInt16
		}
	}
	out := r.Process(nil, src)
	for i := 1; i < len(out); i++ {
		if d := int(out[i]) - int(out[i-1]); d > 30000 || d < -30000 {
			t.Fatalf("jump of %d at sample %d: the output wrapped around", d, i)
		}
	}
	if !slices.Contains(out, math.MaxInt16) || !slices.Contains(out, math.MinInt16) {
		t.Fatal("overshoot did not saturate")
	}
}

func TestProcessDoesNotAllocate(t *testing.T) {
	r := mustNew(t, 48000, 16000)
	src := tone(48000, 440, 8000, 960)
	dst := r.Process(nil, src)
	if n := testing.AllocsPerRun(50, func() { dst = r.Process(dst[:0], src) }); n != 0 {
		t.Fatalf("Process allocates %.0f times per call", n)
	}
	c := NewConverter(pcm.Mono16k)
	fr := pcm.Frame{Samples: pcm.ToStereo(nil, src), Format: pcm.Format{Rate: 48000, Channels: 2}}
	out, err := c.Convert(nil, fr)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(50, func() { out, _ = c.Convert(out[:0], fr) }); n != 0 {
		t.Fatalf("Convert allocates %.0f times per call", n)
	}
}

func TestFilterTablesShared(t *testing.T) {
	a, b := mustNew(t, 24000, 16000), mustNew(t, 24000, 16000)
	if a.f != b.f {
		t.Fatal("resamplers of the same pair do not share their filter")
	}
	if want := "resample(24000Hz -> 16000Hz)"; a.String() != want {
		t.Fatalf("String = %q, want %q", a.String(), want)
	}
}

func TestDelayBound(t *testing.T) {
	for _, p := range pairs(Rates) {
		// The filter's length follows the lower rate's transition band.
		bound := 3 * time.Millisecond
		if min(p.from, p.to) == 4000 {
			bound = 5500 * time.Microsecond
		}
		if d := mustNew(t, p.from, p.to).Delay(); d > bound || d <= 0 {
			t.Errorf("%d -> %d: delay %v, want (0, %v]", p.from, p.to, d, bound)
		}
	}
}

func BenchmarkResample(b *testing.B) {
	for _, p := range []pair{{48000, 16000}, {16000, 48000}, {24000, 16000}, {16000, 8000}, {8000, 16000}, {22050, 16000}} {
		b.Run(fmt.Sprintf("%d-%d", p.from, p.to), func(b *testing.B) {
			r := mustNew(b, p.from, p.to)
			src := tone(p.from, 440, 8000, p.from/50) // 20 ms
			dst := r.Process(nil, src)
			b.ReportAllocs()
			for b.Loop() {
				dst = r.Process(dst[:0], src)
			}
		})
	}
}
