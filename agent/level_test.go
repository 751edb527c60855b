package agent

import (
	"math"
	"testing"
)

// tone returns n samples of a square wave at level dBFS (RMS).
func tone(n int, level float64) []int16 {
	a := int16(32768 * math.Pow(10, level/20))
	out := make([]int16, n)
	for i := range out {
		out[i] = a
		if i%2 == 1 {
			out[i] = -a
		}
	}
	return out
}

func TestFrameLevel(t *testing.T) {
	for _, tc := range []struct {
		samples []int16
		want    float64
	}{
		{nil, silentLevel},
		{make([]int16, 320), silentLevel},
		{tone(320, -20), -20},
		{tone(320, -46), -46},
	} {
		if got := frameLevel(tc.samples); math.Abs(got-tc.want) > 0.1 {
			t.Errorf("frameLevel(%d samples) = %.2f, want %.2f", len(tc.samples), got, tc.want)
		}
	}
}

// The gate judges speech against the prior until it has heard enough of
// the user, then against their level; one loud frame (a knock) does not
// make faint speech loud.
func TestLevelGate(t *testing.T) {
	repeat := func(level float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = level
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		learn  [][]float64
		echo   float64 // the echo's ceiling (0: none)
		onset  []float64
		loud   bool
		frames []float64 // after the onset
		later  bool      // loud as of the last frame
	}{
		{name: "prior: a television 22 dB down is faint", onset: repeat(-40, 4)},
		{name: "prior: the user's voice is loud", onset: repeat(-20, 4), loud: true},
		{name: "prior: one loud frame is a knock", onset: []float64{-40, -15, -40, -41}},
		{name: "prior: a soft start grows loud", onset: []float64{-45, -38}, frames: []float64{-30, -24, -22}, later: true},
		{name: "prior: a knock inside faint speech", onset: repeat(-40, 4), frames: []float64{-40, -12, -40}},
		{name: "too little of the user's speech keeps the prior", learn: [][]float64{repeat(-45, minLevelFrames-1)}, onset: repeat(-45, 4)},
		{name: "a quiet user is learned", learn: [][]float64{repeat(-42, 40)}, onset: repeat(-45, 4), loud: true},
		{name: "a quiet user's television is fainter still", learn: [][]float64{repeat(-34, 40)}, onset: repeat(-56, 4)},
		{name: "a loud user's soft words stay loud", learn: [][]float64{repeat(-12, 40)}, onset: repeat(-24, 3), loud: true},
		{name: "the 80th percentile: pauses between words do not lower it", learn: [][]float64{append(repeat(-60, 20), repeat(-15, 30)...)}, onset: repeat(-35, 4)},
		{name: "echo: the agent's echo under its ceiling is faint", echo: -20, onset: repeat(-24, 4)},
		{name: "echo: the user above the echo's ceiling is loud", echo: -20, onset: repeat(-15, 4), loud: true},
		{name: "echo: speech that rises above the echo's ceiling", echo: -20, onset: repeat(-24, 3), frames: []float64{-16, -15}, later: true},
		{name: "echo: a ceiling below the user's threshold changes nothing", echo: -60, onset: repeat(-30, 4), loud: true},
		{name: "recent turns replace old ones", learn: [][]float64{repeat(-15, levelFrames), repeat(-40, levelFrames)}, onset: repeat(-50, 4), loud: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newLevelGate()
			if tc.echo != 0 {
				g.echo = tc.echo
			}
			for _, l := range tc.learn {
				g.learn(l)
			}
			if got := g.start(tc.onset); got != tc.loud {
				t.Fatalf("onset loud %v, want %v (user level %.1f dBFS)", got, tc.loud, g.level())
			}
			var got bool
			for _, l := range tc.frames {
				got = g.frame(l)
			}
			if got != tc.later {
				t.Fatalf("loud %v after the frames, want %v", got, tc.later)
			}
		})
	}
}

func TestVoiceLevel(t *testing.T) {
	for _, tc := range []struct {
		name   string
		onset  []float64
		frames []float64
		want   []bool
	}{
		{"the voice ends: silent at once", []float64{-30, -18}, []float64{-20, -40, -58, -70}, []bool{false, false, true, true}},
		{"a louder word later raises the bar", []float64{-30}, []float64{-10, -40, -46}, []bool{false, false, true}},
		{"a pause between words is not silence", []float64{-16}, []float64{-43, -47, -16}, []bool{false, false, false}},
		{"noise close under the speech never falls far enough", []float64{-25}, []float64{-40, -45, -50}, []bool{false, false, false}},
		{"no onset: judged from the first frame on", nil, []float64{-20, -60}, []bool{false, true}},
		{"digital silence in a silent speech is no fall", []float64{silentLevel}, []float64{silentLevel}, []bool{false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v voiceLevel
			v.start(tc.onset)
			for i, lv := range tc.frames {
				if got := v.fell(lv); got != tc.want[i] {
					t.Errorf("frame %d (%v dB): fell = %v, want %v", i, lv, got, tc.want[i])
				}
			}
		})
	}
}
