package pcm_test

import (
	"fmt"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

func ExampleFormat() {
	f := pcm.Format{Rate: 48000, Channels: 2}
	fmt.Println(f, f.Samples(20*time.Millisecond), f.Duration(4800))
	fmt.Println(pcm.Format{Rate: 16000, Channels: 6}.Validate())
	// Output:
	// 48000Hz/2ch 1920 50ms
	// pcm: bad format: 16000 Hz, 6 channels
}

func ExampleToMono() {
	stereo := []int16{100, 300, -50, 50}
	fmt.Println(pcm.ToMono(nil, stereo))
	// Output: [200 0]
}
