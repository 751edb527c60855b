package resample_test

import (
	"fmt"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
)

func ExampleResampler() {
	r, err := resample.New(48000, 16000)
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := make([]int16, 960) // 20 ms at 48 kHz
	var out []int16
	for range 3 {
		out = r.Process(out[:0], frame) // reuses out's storage
		fmt.Println(len(out))
	}
	fmt.Println(r)
	// Output:
	// 320
	// 320
	// 320
	// resample(48000Hz -> 16000Hz)
}

func ExampleConverter() {
	c := resample.NewConverter(pcm.Mono16k)
	stereo := pcm.Frame{Samples: make([]int16, 2*480), Format: pcm.Format{Rate: 24000, Channels: 2}}
	out, err := c.Convert(nil, stereo)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out), c)

	_, err = c.Convert(nil, pcm.Frame{Samples: make([]int16, 441), Format: pcm.Format{Rate: 44000, Channels: 1}})
	fmt.Println(err)
	// Output:
	// 320 convert(24000Hz/2ch -> 16000Hz/1ch)
	// resample: unsupported rate: 44000 Hz (supported: [4000 8000 11025 12000 16000 22050 24000 32000 44100 48000])
}
