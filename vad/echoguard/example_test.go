package echoguard_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad/echoguard"
)

// The agent plays a sound; the microphone hears it back 80 ms later at a
// third of the level, then hears something else.
func Example() {
	g, err := echoguard.New()
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := func(n int, amp float64) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(amp * rng.NormFloat64())
		}
		return s
	}
	played := noise(16000, 3000)            // 1 s at 16 kHz
	echo := make([]int16, 1280, 16000)      // 80 ms of silence, then
	for _, v := range played[:16000-1280] { // the echo
		echo = append(echo, v/3)
	}
	other := noise(16000, 1000) // a second of something unrelated

	// score feeds eight windows (256 ms) of mic and returns the highest
	// score of the last four: each window is analysed with the one before.
	score := func(mic []int16) (top float32) {
		for i := range 8 {
			s := g.Score(pcm.ToFloat32(nil, mic[i*512:(i+1)*512]), 16000)
			if i >= 4 {
				top = max(top, s)
			}
		}
		return top
	}
	// In a live session the playout passes each 20 ms frame as it sends it.
	for i := 0; i < len(played); i += 320 {
		g.Reference(pcm.Frame{Samples: played[i : i+320], Format: pcm.Mono16k})
	}
	fmt.Printf("echo looks like echo: %v\n", score(echo) > 0.5)
	fmt.Printf("other sound looks like echo: %v\n", score(other) > 0.5)
	// Output:
	// echo looks like echo: true
	// other sound looks like echo: false
}
