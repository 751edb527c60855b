package vad_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

const sr = 16000 // rate of the synthesised sounds

// nonSpeechKinds are the sounds nonSpeech makes.
var nonSpeechKinds = []string{"click", "double-click", "knock", "cough", "voiced-cough", "clap", "thump", "typing", "clink", "door"}

// nonSpeech synthesises a short non-speech sound at 16 kHz, scaled in
// [-1, 1]: clicks of a pen or mouse, three knuckle knocks on a door (damped
// panel modes at 160-180 and 410-450 Hz), a double cough (noise through
// three formant-like resonators with a fast attack; the voiced one opens
// with a glottal buzz), hand claps, a thump on a desk, typing, a spoon on a
// cup and a door closing in a room.
func nonSpeech(kind string, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 77))
	noise := func(n float64) []float64 {
		x := make([]float64, int(n))
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		return x
	}
	// decay multiplies x by a linear attack of attack samples and an
	// exponential decay with time constant tau seconds.
	decay := func(x []float64, tau float64, attack int) []float64 {
		for i := range x {
			a := 1.0
			if i < attack {
				a = float64(i) / float64(attack)
			}
			x[i] *= a * math.Exp(-float64(i)/(tau*sr))
		}
		return x
	}
	tone := func(n float64, amp map[float64]float64) []float64 {
		x := make([]float64, int(n))
		for i := range x {
			t := float64(i) / sr
			for f, a := range amp {
				x[i] += a * math.Sin(2*math.Pi*f*t)
			}
		}
		return x
	}
	var x []float64
	switch kind {
	case "click":
		c := decay(noise(64), 0.0008, 0)
		x = add(c, resonate(c, 3000, 800))
	case "double-click":
		c := decay(noise(64), 0.0008, 0)
		x = place(place(nil, c, 0), c, 0.09*sr)
	case "knock":
		for k := range 3 {
			n := 0.12 * sr
			s := decay(tone(n, map[float64]float64{160 + 20*rng.Float64(): 1, 410 + 40*rng.Float64(): 0.6}), 0.018, 8)
			x = place(x, add(s, decay(noise(n), 0.003, 0)), float64(k)*0.17*sr)
		}
	case "cough", "voiced-cough":
		for k := range 2 {
			n := (0.22 + 0.08*rng.Float64()) * sr
			src := noise(n)
			if kind == "voiced-cough" {
				for i := range int(0.08 * sr) {
					t := float64(i) / sr
					src[i] += 3 * max(0, math.Sin(2*math.Pi*140*t)) * (1 - t/0.08)
				}
			}
			y := add(add(resonate(src, 600, 300), resonate(src, 1700, 500)), resonate(src, 2600, 700))
			x = place(x, decay(y, 0.07, int(0.008*sr)), float64(k)*0.35*sr)
		}
	case "clap":
		for k := range 4 {
			x = place(x, resonate(decay(noise(0.05*sr), 0.006, 2), 1200, 1500), float64(k)*0.28*sr)
		}
	case "thump":
		n := 0.3 * sr
		x = add(decay(tone(n, map[float64]float64{75: 1}), 0.06, 4), decay(resonate(noise(n), 300, 400), 0.01, 0))
	case "typing":
		at := 0.0
		for range 14 {
			c := decay(noise(0.02*sr), 0.002, 0)
			x = place(x, add(c, resonate(c, 2200+800*rng.Float64(), 600)), at)
			at += (0.08 + 0.14*rng.Float64()) * sr
		}
	case "clink":
		x = decay(tone(0.4*sr, map[float64]float64{2630: 1, 3710: 0.7, 5480: 0.4}), 0.08, 2)
	case "door":
		n := 0.7 * sr
		x = add(decay(resonate(noise(n), 120, 150), 0.12, 10), decay(noise(n), 0.004, 0))
	default:
		panic("unknown sound " + kind)
	}
	peak := map[string]float64{"typing": -14, "clink": -12, "knock": -8, "door": -4}[kind]
	if peak == 0 {
		peak = -6
	}
	return normalise(x, peak)
}

// resonate filters x through a two-pole resonator at f Hz, bandwidth bw Hz.
func resonate(x []float64, f, bw float64) []float64 {
	r := math.Exp(-math.Pi * bw / sr)
	a1, a2, g := 2*r*math.Cos(2*math.Pi*f/sr), -r*r, (1-r*r)/2
	y := make([]float64, len(x))
	var y1, y2 float64
	for i, v := range x {
		y[i] = g*v + a1*y1 + a2*y2
		y1, y2 = y[i], y1
	}
	return y
}

// add adds b into a (len(a) >= len(b)).
func add(a, b []float64) []float64 {
	for i, v := range b {
		a[i] += v
	}
	return a
}

// place adds src into dst at sample at, growing dst.
func place(dst, src []float64, at float64) []float64 {
	i := int(at)
	if n := i + len(src); n > len(dst) {
		dst = append(dst, make([]float64, n-len(dst))...)
	}
	add(dst[i:], src)
	return dst
}

// normalise scales x to a peak of peakDB dBFS.
func normalise(x []float64, peakDB float64) []float64 {
	var pk float64
	for _, v := range x {
		pk = max(pk, math.Abs(v))
	}
	g := math.Pow(10, peakDB/20) / pk
	for i := range x {
		x[i] *= g
	}
	return x
}

// background returns n samples of a noise floor: digital silence, white
// noise or pink noise at about level dBFS.
func background(rng *rand.Rand, kind string, n int, level float64) []float64 {
	x := make([]float64, n)
	sd := math.Pow(10, level/20)
	var b0, b1, b2 float64
	for i := range x {
		w := rng.NormFloat64()
		switch kind {
		case "white":
			x[i] = w * sd
		case "pink":
			b0 = 0.99765*b0 + w*0.0990460
			b1 = 0.96300*b1 + w*0.2965164
			b2 = 0.57000*b2 + w*1.0526913
			x[i] = (b0 + b1 + b2 + w*0.1848) / 3.5 * sd
		}
	}
	return x
}

// floors are the backgrounds the tests run over.
var floors = []struct {
	kind  string
	level float64
}{{"silence", 0}, {"white", -80}, {"pink", -60}}

func readSpeech(t *testing.T, names ...string) []float64 {
	t.Helper()
	var out []float64
	for _, n := range names {
		fr, err := wav.ReadFile(filepath.Join("..", "testdata", "speech", n))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range fr.Samples {
			out = append(out, float64(s)/32768)
		}
	}
	return out
}

// stream is audio under construction over a background.
type stream struct {
	rng   *rand.Rand
	floor string
	level float64
	x     []float64
}

// quiet appends d seconds of the background.
func (s *stream) quiet(d float64) {
	s.x = append(s.x, background(s.rng, s.floor, int(d*sr), s.level)...)
}

// sound appends clip over the background and returns where it starts.
func (s *stream) sound(clip []float64) int {
	at := len(s.x)
	s.quiet(float64(len(clip)) / sr)
	add(s.x[at:], clip)
	return at
}

// detect runs a detector with default parameters and a new Silero stream
// over x (16 kHz) at rate and returns its speech starts: where each start
// was confirmed, in 16 kHz samples.
func detect(t *testing.T, w *silero.Weights, rate int, x []float64) []int {
	t.Helper()
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = int16(max(-32768, min(32767, math.Round(v*32768))))
	}
	if rate != sr {
		r, err := resample.New(sr, rate)
		if err != nil {
			t.Fatal(err)
		}
		skip := int(r.Delay().Seconds() * float64(rate))
		out := r.Process(nil, append(s, make([]int16, sr/50)...))
		s = out[skip : skip+len(s)*rate/sr]
	}
	m, err := w.NewModel(rate)
	if err != nil {
		t.Fatal(err)
	}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Write(s)
	if err != nil {
		t.Fatal(err)
	}
	var at []int
	for _, ev := range evs {
		if ev.Type == vad.SpeechStart {
			at = append(at, int(ev.At)*sr/rate)
		}
	}
	return at
}

// Knocks, clicks, coughs and other non-speech sounds after seconds of
// quiet are not speech, in a new stream and in one that has heard speech
// before, over digital silence and quiet noise floors, at 16 and 8 kHz.
// (Silero scores the decaying tail of a knock as speech; the detector's
// tail rule keeps such windows from starting speech.)
func TestNoSpeechInNonSpeechSoundsAfterQuiet(t *testing.T) {
	w, err := silero.Load()
	if err != nil {
		t.Fatal(err)
	}
	history := readSpeech(t, "order_slt.wav", "shipping_awb.wav")
	rates, reps := []int{16000, 8000}, 3
	if raceEnabled {
		rates, reps = rates[:1], 1
	}
	for _, rate := range rates {
		for _, f := range floors {
			for _, heard := range []bool{false, true} {
				name := fmt.Sprintf("%d Hz, %s %v dBFS, speech before %v", rate, f.kind, f.level, heard)
				s := &stream{rng: rand.New(rand.NewPCG(uint64(rate), 3)), floor: f.kind, level: f.level}
				if heard {
					s.sound(history)
					s.quiet(20)
				} else {
					s.quiet(5)
				}
				from := len(s.x)
				type placed struct {
					kind    string
					on, end int
				}
				var sounds []placed
				for i := range reps * len(nonSpeechKinds) {
					k := nonSpeechKinds[i%len(nonSpeechKinds)]
					s.quiet(3 + s.rng.Float64()) // and a random offset in the window
					clip := nonSpeech(k, uint64(i+1))
					at := s.sound(clip)
					sounds = append(sounds, placed{k, at, at + len(clip)})
				}
				s.quiet(1)
				for _, at := range detect(t, w, rate, s.x) {
					if at < from {
						continue
					}
					what := "quiet"
					for _, p := range sounds {
						if at >= p.on && at < p.end+sr/2 {
							what = p.kind
						}
					}
					t.Errorf("%s: speech confirmed at %.2f s (%s)", name, float64(at)/sr, what)
				}
			}
		}
	}
}

// After speech and a long quiet, the next utterance is confirmed as soon as
// in a new stream (within one window), however long the quiet: Silero's
// recurrent state is cleared after each utterance.
func TestOnsetAfterLongQuietAsInNewStream(t *testing.T) {
	w, err := silero.Load()
	if err != nil {
		t.Fatal(err)
	}
	history := readSpeech(t, "order_slt.wav", "shipping_awb.wav", "stop_slt.wav")
	quiets := []float64{3, 10, 30}
	if raceEnabled {
		quiets = quiets[2:]
	}
	for _, clip := range []string{"stop_slt.wav", "okay_rms.wav", "wait_rms.wav"} {
		next := readSpeech(t, clip)
		for _, f := range floors {
			for _, q := range quiets {
				confirm := func(heard bool) float64 {
					s := &stream{rng: rand.New(rand.NewPCG(5, 5)), floor: f.kind, level: f.level}
					if heard {
						s.sound(history)
					} else {
						// The same phase against the 512-sample windows.
						s.quiet(float64(len(history)%512) / sr)
					}
					// The same background from here on in both streams.
					s.rng = rand.New(rand.NewPCG(7, 7))
					s.quiet(q)
					at := s.sound(next)
					for _, c := range detect(t, w, sr, s.x) {
						if c > at {
							return float64(c-at) / sr * 1000
						}
					}
					t.Fatalf("%s after %v s of %s: not detected", clip, q, f.kind)
					return 0
				}
				fresh, after := confirm(false), confirm(true)
				t.Logf("%-12s %-7s %4.0f dBFS, %2.0f s quiet: confirmed %3.0f ms into the clip (new stream %3.0f ms)", clip, f.kind, f.level, q, after, fresh)
				if after > fresh+32 {
					t.Errorf("%s after speech and %v s of %s: confirmed %.0f ms into the clip, a new stream %.0f ms", clip, q, f.kind, after, fresh)
				}
			}
		}
	}
}
