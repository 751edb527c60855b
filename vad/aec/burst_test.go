package aec_test

import (
	"math"
	"testing"

	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/aec/aectest"
)

// The loudspeaker is moved 5 s into the headline scene (another room
// response from then on, the same delay): in the second that follows,
// the filter cancels little until it has learnt the new path, and the
// suppressor must not pass the echo, trusting a leakage it measured on
// the old path.
func TestPathChangeBurst(t *testing.T) {
	a := scene(t, aectest.Specs[0])
	moved := aectest.Specs[0]
	moved.Name, moved.Seed = "moved", 6
	b := scene(t, moved)
	const rate, cut = 16000, 5 * 16000
	sc := *a
	sc.Mic = append(append([]int16(nil), a.Mic[:cut]...), b.Mic[cut:]...)
	sc.Echo = append(append([]float32(nil), a.Echo[:cut]...), b.Echo[cut:]...)
	var erle [2]float64
	for i, sup := range []bool{false, true} {
		c, err := aec.New(rate, aec.WithSuppressor(sup))
		if err != nil {
			t.Fatal(err)
		}
		fl := rate / 100
		out := make([]int16, 0, len(sc.Mic))
		for j := 0; j+fl <= len(sc.Mic); j += fl {
			if err := c.Play(int64(j), sc.Far[j:j+fl]); err != nil {
				t.Fatal(err)
			}
			if out, err = c.Process(out, sc.Mic[j:j+fl]); err != nil {
				t.Fatal(err)
			}
		}
		lat := int(c.Latency().Seconds() * rate)
		var e, o float64
		for j := cut; j < cut+rate; j++ {
			e += float64(sc.Echo[j]) * float64(sc.Echo[j])
			o += float64(out[j+lat]) * float64(out[j+lat])
		}
		erle[i] = 10 * math.Log10(e/o)
	}
	t.Logf("the second after the move: ERLE %.1f dB filter, %.1f dB with the suppressor", erle[0], erle[1])
	if erle[1] < erle[0]+15 {
		t.Errorf("the suppressor adds %.1f dB to the filter's %.1f dB, want ≥ 15", erle[1]-erle[0], erle[0])
	}
}
