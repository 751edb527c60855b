package wav_test

import (
	"bytes"
	"fmt"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
)

func Example() {
	var buf bytes.Buffer
	in := pcm.Frame{Samples: make([]int16, 320), Format: pcm.Mono16k}
	if err := wav.Write(&buf, in); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(buf.Len(), "bytes")

	out, err := wav.Read(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.Format, out.Duration())
	// Output:
	// 684 bytes
	// 16000Hz/1ch 20ms
}
