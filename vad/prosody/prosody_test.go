package prosody

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// voice makes d of a vowel-like sound at rate: a fundamental f0 with
// falling harmonics, peak amplitude amp (full scale 1).
func voice(f0, amp float64, d time.Duration, rate int) []int16 {
	n := int(d.Seconds() * float64(rate))
	out := make([]int16, n)
	for i := range out {
		t := float64(i) / float64(rate)
		var v float64
		for h := 1; h <= 6 && float64(h)*f0 < float64(rate)/2; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*t) / float64(h)
		}
		out[i] = int16(amp * v / 1.8 * 32767)
	}
	return out
}

func TestAnalyzePitch(t *testing.T) {
	for _, tc := range []struct {
		f0   float64
		rate int
	}{
		{90, 16000}, {120, 16000}, {180, 16000}, {250, 16000}, {350, 16000},
		{110, 8000}, {220, 8000}, {150, 48000}, {300, 24000},
	} {
		t.Run(fmt.Sprintf("%.0fHz@%d", tc.f0, tc.rate), func(t *testing.T) {
			f, err := Analyze(voice(tc.f0, 0.3, time.Second, tc.rate), tc.rate)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(f.Pitch-tc.f0) > tc.f0*0.03 {
				t.Errorf("pitch %.1f Hz, want %.0f", f.Pitch, tc.f0)
			}
			if f.Voiced < 900*time.Millisecond || f.Active < f.Voiced {
				t.Errorf("voiced %v, active %v: want most of 1 s", f.Voiced, f.Active)
			}
		})
	}
}

func TestAnalyzeLevel(t *testing.T) {
	quiet, _ := Analyze(voice(150, 0.05, time.Second, 16000), 16000)
	loud, _ := Analyze(voice(150, 0.5, time.Second, 16000), 16000)
	if d := loud.Level - quiet.Level; math.Abs(d-20) > 0.5 {
		t.Errorf("ten times the amplitude is %.2f dB louder, want 20", d)
	}
	if loud.Level > 0 || loud.Level < -20 {
		t.Errorf("level %.1f dBFS out of range", loud.Level)
	}
}

func TestAnalyzeActive(t *testing.T) {
	// Half a second of speech between silences: only it is active.
	var s []int16
	s = append(s, make([]int16, 8000)...)
	s = append(s, voice(200, 0.3, 500*time.Millisecond, 16000)...)
	s = append(s, make([]int16, 16000)...)
	f, err := Analyze(s, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if f.Active < 450*time.Millisecond || f.Active > 550*time.Millisecond {
		t.Errorf("active %v, want about 500ms", f.Active)
	}
}

func TestAnalyzeNoise(t *testing.T) {
	// White noise has energy but no pitch.
	s := make([]int16, 16000)
	x := uint32(1)
	for i := range s {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		s[i] = int16(x >> 20)
	}
	f, err := Analyze(s, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if f.Active == 0 || f.Voiced > f.Active/5 {
		t.Errorf("noise: active %v, voiced %v; want active, mostly unvoiced", f.Active, f.Voiced)
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	for _, s := range [][]int16{nil, make([]int16, 100), make([]int16, 16000)} {
		f, err := Analyze(s, 16000)
		if err != nil {
			t.Fatal(err)
		}
		if f != (Features{Level: silenceDB}) {
			t.Errorf("%d samples of silence: %+v", len(s), f)
		}
	}
}

func TestAnalyzeRate(t *testing.T) {
	for _, r := range []int{0, -8000, 11025, 44100} {
		if _, err := Analyze(make([]int16, 1000), r); !errors.Is(err, ErrRate) {
			t.Errorf("rate %d: err %v, want ErrRate", r, err)
		}
	}
}

func ExampleAnalyze() {
	calm, _ := Analyze(voice(120, 0.1, time.Second, 16000), 16000)
	raised, _ := Analyze(voice(180, 0.4, time.Second, 16000), 16000)
	fmt.Printf("pitch %.0f -> %.0f Hz, %.0f dB louder\n", calm.Pitch, raised.Pitch, raised.Level-calm.Level)
	// Output: pitch 120 -> 180 Hz, 12 dB louder
}

func BenchmarkAnalyze(b *testing.B) {
	s := voice(150, 0.3, 5*time.Second, 16000)
	b.SetBytes(int64(len(s) * 2))
	for b.Loop() {
		if _, err := Analyze(s, 16000); err != nil {
			b.Fatal(err)
		}
	}
}
