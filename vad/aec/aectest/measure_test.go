package aectest

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// A scene of noise "speech" is enough to check the measures.
func testScene(t *testing.T) *Scene {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	burst := func(name string, d time.Duration) Clip {
		c := Clip{Name: name, Rate: 16000, Samples: make([]float32, int(d.Seconds()*16000))}
		for i := range c.Samples {
			c.Samples[i] = float32(rng.NormFloat64() * 3000)
		}
		return c
	}
	far := []Clip{burst("a", 2*time.Second), burst("b", time.Second)}
	near := []Clip{burst("c", time.Second)}
	sc, err := Spec{Name: "t", RT60: 0.3, Delay: 50 * time.Millisecond, EchoToNear: -6, NoiseToNear: -50, Seed: 1}.Build(16000, far, near)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestMeasure(t *testing.T) {
	sc := testScene(t)
	// No cancelling at all: no ERLE, no near-end loss.
	r := Measure(sc, sc.Mic, 0)
	if math.Abs(r.ERLE) > 0.5 || math.Abs(r.NearLossSingle) > 0.1 || math.Abs(r.NearLossDouble) > 0.5 {
		t.Errorf("microphone as output: %+v", r)
	}
	if r.EchoFrames == 0 || r.SingleFrames == 0 || r.DoubleFrames == 0 {
		t.Errorf("frames counted: %+v", r)
	}
	// Perfect cancelling, 20 samples late: ERLE up to the noise, at once.
	perfect := make([]int16, len(sc.Mic)+20)
	for i := range sc.Mic {
		perfect[i+20] = clip16(sc.Near[i] + sc.Noise[i])
	}
	if lat := FindLatency(sc, perfect, 100); lat != 20 {
		t.Errorf("latency %d, want 20", lat)
	}
	r = Measure(sc, perfect, 20)
	if r.ERLE < 40 || r.Converged != 0 || r.NearLossSingle > 0.1 || r.NearLossDouble > 0.1 {
		t.Errorf("perfect output: %+v", r)
	}
	// Half the user's voice lost: 6 dB.
	half := make([]int16, len(sc.Mic))
	for i := range sc.Mic {
		half[i] = clip16(0.5*sc.Near[i] + sc.Noise[i])
	}
	r = Measure(sc, half, 0)
	if math.Abs(r.NearLossSingle-6) > 0.3 || math.Abs(r.NearLossDouble-6) > 0.3 {
		t.Errorf("half the user: loss %.2f and %.2f dB, want 6", r.NearLossSingle, r.NearLossDouble)
	}
}

func TestSplit(t *testing.T) {
	c := Clip{Name: "x", Rate: 1000, Samples: make([]float32, 2500)}
	parts := c.Split(time.Second)
	if len(parts) != 3 || len(parts[2].Samples) != 500 || parts[1].Name != "x[1]" {
		t.Errorf("split: %d parts", len(parts))
	}
}
