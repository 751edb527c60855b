package aec_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/harkvoice/hark/vad/aec"
)

// A session's two sides: the playout records each frame it sends with
// Play, and the capture side cancels each microphone frame with Process.
// Here the "room" returns the agent's voice 60 ms later, 10 dB down, with
// a short reverberation.
func Example() {
	c, err := aec.New(16000)
	if err != nil {
		panic(err)
	}
	fmt.Println(c)

	rng := rand.New(rand.NewPCG(1, 2))
	const frame = 160 // 10 ms
	played := make([]float64, 0, 6*16000)
	var mic, out []int16
	var echoEnergy, outEnergy float64
	for pos := 0; pos < 6*16000; pos += frame {
		// The agent "speaks": noise bursts, 300 ms on, 200 ms off.
		ref := make([]int16, frame)
		for i := range ref {
			if (pos+i)%8000 < 4800 {
				ref[i] = int16(rng.NormFloat64() * 3000)
			}
			played = append(played, float64(ref[i]))
		}
		if err := c.Play(int64(pos), ref); err != nil {
			panic(err)
		}
		// The microphone hears it 60 ms later, through the room.
		mic = mic[:0]
		for i := range frame {
			var e float64
			for k, g := range []float64{0.3, 0.15, -0.1, 0.05} {
				if j := pos + i - 960 - 40*k; j >= 0 {
					e += g * played[j]
				}
			}
			mic = append(mic, int16(e))
		}
		if out, err = c.Process(out[:0], mic); err != nil {
			panic(err)
		}
		if pos >= 3*16000 { // after three seconds
			for i := range frame {
				echoEnergy += float64(mic[i]) * float64(mic[i])
				outEnergy += float64(out[i]) * float64(out[i])
			}
		}
	}
	st := c.Stats()
	fmt.Println("echo delay found:", st.DelayFound)
	fmt.Println("echo reduced by more than 25 dB:", 10*math.Log10(echoEnergy/outEnergy) > 25)
	// Output:
	// aec(16k, filter 256ms, delay 0s-1s, suppressor on)
	// echo delay found: true
	// echo reduced by more than 25 dB: true
}
