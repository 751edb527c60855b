package aectest

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestImpulseResponseRT60(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rts := []float64{0.2, 0.4, 0.6}
	if raceEnabled {
		rts = rts[1:2]
	}
	for _, rt := range rts {
		r := RandomRoom(rng, rt, 1.5)
		h := r.ImpulseResponse(16000)
		got := MeasuredRT60(h, 16000)
		t.Logf("RT60 %.1f: measured %.3f, room %.1fx%.1fx%.1f", rt, got, r.Size[0], r.Size[1], r.Size[2])
		if math.Abs(got-rt) > 0.1*rt {
			t.Errorf("RT60 %.1f: measured %.3f", rt, got)
		}
	}
}
