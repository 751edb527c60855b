package echoguard

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
)

// guardScores plays ref as the playout reference and mic as the
// microphone, interleaved in time as a live session does, and returns the
// guard's score per 32 ms window.
func guardScores(t *testing.T, g *Guard, ref, mic []int16, refFormat pcm.Format) []float32 {
	t.Helper()
	per := refFormat.Samples(pcm.Mono16k.Duration(320))
	var out []float32
	w := make([]float32, 0, 512)
	ri := 0
	for j := 0; j+512 <= len(mic); j += 512 {
		for ri*320 <= j+512 {
			fr := pcm.Frame{Format: refFormat}
			if (ri+1)*per <= len(ref) {
				fr.Samples = ref[ri*per : (ri+1)*per]
			}
			g.Reference(fr)
			ri++
		}
		w = pcm.ToFloat32(w[:0], mic[j:j+512])
		out = append(out, g.Score(w, 16000))
	}
	return out
}

func newGuard(t testing.TB, opts ...Option) *Guard {
	t.Helper()
	g, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func clip(t *testing.T, name string) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../testdata/scenarios/clips/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}

func TestScores(t *testing.T) {
	reply, echo, stop, noise := clip(t, "agent_reply.wav"), clip(t, "echo.wav"), clip(t, "stop.wav"), clip(t, "noise.wav")
	frac := func(scores []float32, from, to int, above float32) float64 {
		n := 0
		for _, s := range scores[from:to] {
			if s >= above {
				n++
			}
		}
		return float64(n) / float64(to-from)
	}
	t.Run("echo is recognised", func(t *testing.T) {
		s := guardScores(t, newGuard(t), reply, echo, pcm.Mono16k)
		// Windows with speech in the echo: most must be flagged.
		if f := frac(s, 20, 200, 0.5); f < 0.7 {
			t.Errorf("only %.0f%% of echo windows flagged", 100*f)
		}
	})
	t.Run("echo from a 48 kHz output", func(t *testing.T) {
		up := make([]int16, 0, 3*len(reply))
		for _, v := range reply {
			up = append(up, v, v, v)
		}
		s := guardScores(t, newGuard(t), up, echo, pcm.Mono48k)
		if f := frac(s, 20, 200, 0.5); f < 0.6 {
			t.Errorf("only %.0f%% of echo windows flagged", 100*f)
		}
	})
	t.Run("noise is not echo", func(t *testing.T) {
		s := guardScores(t, newGuard(t), reply, noise, pcm.Mono16k)
		if f := frac(s, 10, len(s), 0.35); f > 0.05 {
			t.Errorf("%.0f%% of noise windows flagged as echo", 100*f)
		}
	})
	t.Run("user over echo is not echo", func(t *testing.T) {
		mic := append([]int16(nil), echo...)
		at := 2 * 16000
		for i, v := range stop {
			mic[at+i] = int16(max(-32768, min(32767, int32(mic[at+i])+int32(v))))
		}
		s := guardScores(t, newGuard(t), reply, mic, pcm.Mono16k)
		// "Stop" (0.18-0.5 s into its clip, its /s/ 13 dB and its vowel
		// 3 dB above the echo) must show as speech in at least two windows
		// running, as the VAD needs to confirm it.
		from, to := (at+16000*18/100)/512, (at+16000*50/100)/512
		run, longest := 0, 0
		for _, v := range s[from:to] {
			if v < 0.3 {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		if longest < 2 {
			t.Errorf("user speech flagged as echo: %v", s[from:to])
		}
	})
	t.Run("silent agent", func(t *testing.T) {
		s := guardScores(t, newGuard(t), nil, echo, pcm.Mono16k)
		if f := frac(s, 0, len(s), 0.01); f > 0 {
			t.Errorf("scores without reference: %v", s)
		}
	})
}

func TestSuppress(t *testing.T) {
	g, err := New(WithThreshold(0.4))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ p, score, want float32 }{
		{0.9, 0, 0.9}, {0.9, 0.3, 0.9}, {0.9, 0.55, 0}, {0.9, 0.9, 0},
	} {
		if got := g.Suppress(tc.p, tc.score); got != tc.want {
			t.Errorf("suppress(%v, %v) = %v, want %v", tc.p, tc.score, got, tc.want)
		}
	}
	if got := g.Suppress(1, 0.425); got <= 0 || got >= 1 {
		t.Errorf("suppress in the ramp = %v", got)
	}
}

// BenchmarkScore measures one 32 ms microphone window checked against
// 600 ms of delays while the agent speaks (the guard's worst case).
func BenchmarkScore(b *testing.B) {
	fr, err := wav.ReadFile("../../testdata/scenarios/clips/agent_reply.wav")
	if err != nil {
		b.Fatal(err)
	}
	g := newGuard(b)
	for i := 0; i+320 <= 2*16000; i += 320 {
		g.Reference(pcm.Frame{Samples: fr.Samples[i : i+320], Format: pcm.Mono16k})
	}
	w := pcm.ToFloat32(nil, fr.Samples[16000:16512])
	for b.Loop() {
		g.micPos = 16000 / 4
		g.Score(w, 16000)
	}
}

// TestSilentTicks checks that ticks of silence (nil Samples, which skip the
// resampler once it has drained) score exactly as frames of zeros do.
func TestSilentTicks(t *testing.T) {
	reply, echo := clip(t, "agent_reply.wav"), clip(t, "echo.wav")
	for _, f := range []pcm.Format{pcm.Mono16k, pcm.Mono48k, {Rate: 24000, Channels: 2}} {
		per := f.Samples(20 * time.Millisecond)
		ref := make([]int16, 0, len(reply)*f.Samples(time.Second)/16000)
		for _, v := range reply {
			for range f.Samples(time.Second) / 16000 {
				ref = append(ref, v)
			}
		}
		nilTicks, zeroTicks := newGuard(t), newGuard(t)
		var a, b []float32
		w := make([]float32, 0, 512)
		ri := 0
		for j := 0; j+512 <= len(echo); j += 512 {
			for ri*320 <= j+512 {
				fr := pcm.Frame{Format: f, Samples: make([]int16, per)}
				// Speech with a gap of silence from 1 s to 1.5 s.
				if (ri+1)*per <= len(ref) && (ri < 50 || ri >= 75) {
					copy(fr.Samples, ref[ri*per:(ri+1)*per])
					nilTicks.Reference(fr)
				} else {
					nilTicks.Reference(pcm.Frame{Format: f})
				}
				zeroTicks.Reference(fr)
				ri++
			}
			w = pcm.ToFloat32(w[:0], echo[j:j+512])
			a, b = append(a, nilTicks.Score(w, 16000)), append(b, zeroTicks.Score(w, 16000))
		}
		if !slices.Equal(a, b) {
			t.Errorf("%v: scores with nil ticks differ from scores with zero frames:\n%v\n%v", f, a, b)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
		ok   bool
	}{
		{"threshold", WithThreshold(0.5), true},
		{"threshold 1", WithThreshold(1), true},
		{"threshold 0", WithThreshold(0), false},
		{"threshold above 1", WithThreshold(1.5), false},
		{"threshold NaN", WithThreshold(float32(math.NaN())), false},
		{"delay", WithMaxDelay(time.Second), true},
		{"delay 2 s", WithMaxDelay(2 * time.Second), true},
		{"delay 0", WithMaxDelay(0), false},
		{"delay too long", WithMaxDelay(3 * time.Second), false},
	} {
		_, err := New(tc.opt)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrOption)) {
			t.Errorf("%s: err = %v, want ok %v or ErrOption", tc.name, err, tc.ok)
		}
	}
}

// TestBadInput feeds formats and samples a guard should never see; it must
// neither panic nor call them echo.
func TestBadInput(t *testing.T) {
	reply := clip(t, "agent_reply.wav")
	g := newGuard(t, WithMaxDelay(2*time.Second))
	for _, fr := range []pcm.Frame{
		{}, // no format, no samples
		{Format: pcm.Format{Rate: 7000, Channels: 1}, Samples: reply[:140]}, // unsupported rate
		{Format: pcm.Format{Rate: 16000, Channels: 3}, Samples: reply[:7]},  // odd channel count
		{Format: pcm.Mono16k, Samples: []int16{}},
	} {
		g.Reference(fr)
	}
	nan := make([]float32, 512)
	for i := range nan {
		nan[i] = float32(math.NaN())
	}
	for _, tc := range []struct {
		window []float32
		rate   int
	}{{nil, 16000}, {nan, 16000}, {make([]float32, 512), 0}, {make([]float32, 100), 7000}} {
		if s := g.Score(tc.window, tc.rate); s != 0 {
			t.Errorf("Score(%d samples at %d Hz) = %v, want 0", len(tc.window), tc.rate, s)
		}
	}
}

// The searched span holds the reference at consecutive positions, whether
// it lies inside the ring or wraps around its end.
func TestSpanOf(t *testing.T) {
	g := newGuard(t)
	for i := range g.ref {
		g.ref[i], g.refPow[i] = float32(i), float32(-i)
	}
	for _, lo := range []int64{0, 100, g.ring - 3000, g.ring - 10, 3*g.ring + 5} {
		g.spanOf(lo, lo+3000)
		if len(g.span) != 3000 || len(g.spanPow) != 3000 {
			t.Fatalf("lo %d: span of %d and %d samples, want 3000", lo, len(g.span), len(g.spanPow))
		}
		for k := range g.span {
			want := float32((lo + int64(k)) & (g.ring - 1))
			if g.span[k] != want || g.spanPow[k] != -want {
				t.Fatalf("lo %d: span[%d] = %v, %v, want %v, %v", lo, k, g.span[k], g.spanPow[k], want, -want)
			}
		}
	}
}
