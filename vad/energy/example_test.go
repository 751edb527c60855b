package energy_test

import (
	"fmt"
	"math"

	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/energy"
)

// Detect a burst of sound in silence with the energy model.
func Example() {
	m, err := energy.New(16000)
	if err != nil {
		panic(err)
	}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		panic(err)
	}
	stream := make([]int16, 3*16000) // 3 s: silence, 1 s of a 200 Hz tone, silence
	for i := 16000; i < 32000; i++ {
		stream[i] = int16(8000 * math.Sin(2*math.Pi*200*float64(i)/16000))
	}
	events, err := d.Write(stream)
	if err != nil {
		panic(err)
	}
	for _, ev := range events {
		fmt.Printf("%v: speech %d..%d, confirmed at sample %d\n", ev.Type, ev.Start, ev.End, ev.At)
	}
	// Output:
	// speech-start: speech 16000..0, confirmed at sample 17280
	// speech-end: speech 16000..32000, confirmed at sample 36800
}
