package energy_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/energy"
)

// tone returns n samples of a 300 Hz tone at level dBFS (RMS), plus white
// noise at noise dBFS (RMS) when noise > -100.
func tone(rng *rand.Rand, n int, level, noise float64) []float32 {
	a := math.Pow(10, level/20) * math.Sqrt2
	sd := math.Pow(10, noise/20)
	out := make([]float32, n)
	for i := range out {
		v := 0.0
		if level > -100 {
			v = a * math.Sin(2*math.Pi*300*float64(i)/16000)
		}
		if noise > -100 {
			v += rng.NormFloat64() * sd
		}
		out[i] = float32(v)
	}
	return out
}

// run scores x window by window and returns the probabilities.
func run(t *testing.T, m *energy.Model, x []float32) []float32 {
	t.Helper()
	w := m.WindowSize()
	var probs []float32
	for i := 0; i+w <= len(x); i += w {
		p, err := m.Probability(x[i : i+w])
		if err != nil {
			t.Fatal(err)
		}
		probs = append(probs, p)
	}
	return probs
}

func TestDecisions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name       string
		background float64 // noise dBFS before and under the tone
		level      float64 // tone dBFS
		speech     bool
	}{
		{"loud tone over silence", -100, -20, true},
		{"quiet tone over silence", -100, -45, true},
		{"tone below the minimum level", -100, -60, false},
		{"tone 20 dB over noise", -40, -20, true},
		{"tone 3 dB over noise", -30, -27, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := energy.New(16000)
			if err != nil {
				t.Fatal(err)
			}
			run(t, m, tone(rng, 16000, -200, tt.background)) // learn the floor
			probs := run(t, m, tone(rng, 8000, tt.level, tt.background))
			var mean float32
			for _, p := range probs {
				mean += p / float32(len(probs))
			}
			if got := mean > 0.5; got != tt.speech {
				t.Errorf("mean probability %.2f (floor %.1f dBFS), want speech=%v", mean, m.NoiseFloor(), tt.speech)
			}
		})
	}
}

// A jump in background noise reads as speech at first, then the floor
// rises and the noise becomes silence again.
func TestFloorAdapts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := energy.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	run(t, m, tone(rng, 16000, -200, -60))
	probs := run(t, m, tone(rng, 16000*10, -200, -40))
	if probs[0] < 0.9 {
		t.Errorf("first window after a 20 dB noise step: %.2f, want speech", probs[0])
	}
	if last := probs[len(probs)-1]; last > 0.1 {
		t.Errorf("after 10 s of steady noise: %.2f (floor %.1f), want silence", last, m.NoiseFloor())
	}
	// A 2 s utterance does not move the floor.
	before := m.NoiseFloor()
	run(t, m, tone(rng, 32000, -20, -40))
	if rise := m.NoiseFloor() - before; rise > 1 {
		t.Errorf("floor rose %.1f dB during 2 s of speech", rise)
	}
	m.Reset()
	if m.NoiseFloor() != 0 {
		t.Error("Reset kept the floor")
	}
}

func TestWithDetector(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, err := energy.New(16000, energy.WithWindow(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		t.Fatal(err)
	}
	var x []int16
	for _, seg := range [][2]float64{{-100, 1}, {-25, 1}, {-100, 1}} {
		for _, v := range tone(rng, int(16000*seg[1]), seg[0], -70) {
			x = append(x, int16(v*32767))
		}
	}
	ev, err := d.Write(x)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].Type != vad.SpeechStart || ev[1].Type != vad.SpeechEnd {
		t.Fatalf("events %+v", ev)
	}
	if ev[0].Start != 16000 || ev[1].End != 32000 {
		t.Errorf("speech from %d to %d, want 16000 to 32000", ev[0].Start, ev[1].End)
	}
}

func TestBadInput(t *testing.T) {
	for _, rate := range []int{0, 7999, 96000} {
		if _, err := energy.New(rate); !errors.Is(err, vad.ErrRate) {
			t.Errorf("New(%d): err = %v, want ErrRate", rate, err)
		}
	}
	opts := map[string]energy.Option{
		"window":     energy.WithWindow(time.Second),
		"margin":     energy.WithMargin(-1),
		"margin NaN": energy.WithMargin(math.NaN()),
		"min level":  energy.WithMinLevel(3),
		"memory":     energy.WithMemory(time.Millisecond),
	}
	for name, o := range opts {
		if _, err := energy.New(16000, o); !errors.Is(err, vad.ErrParams) {
			t.Errorf("%s: err = %v, want ErrParams", name, err)
		}
	}
	m, err := energy.New(8000, energy.WithMargin(6), energy.WithMinLevel(-60), energy.WithMemory(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if m.Rate() != 8000 || m.WindowSize() != 160 || m.String() != "energy(8000Hz)" {
		t.Fatalf("rate %d window %d", m.Rate(), m.WindowSize())
	}
	if _, err := m.Probability(make([]float32, 100)); !errors.Is(err, vad.ErrWindowSize) {
		t.Errorf("short window: err = %v", err)
	}
	w := make([]float32, 160)
	w[3] = float32(math.NaN())
	if _, err := m.Probability(w); !errors.Is(err, energy.ErrSample) {
		t.Errorf("NaN: err = %v", err)
	}
}

func BenchmarkEnergy(b *testing.B) {
	m, err := energy.New(16000)
	if err != nil {
		b.Fatal(err)
	}
	w := tone(rand.New(rand.NewPCG(1, 1)), m.WindowSize(), -30, -50)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Probability(w); err != nil {
			b.Fatal(err)
		}
	}
}
