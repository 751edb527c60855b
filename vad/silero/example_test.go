package silero_test

import (
	"fmt"
	"log"
	"math"

	"github.com/harkvoice/hark/vad/silero"
)

// Score windows directly: a pure tone is not speech.
func ExampleModel_Probability() {
	weights, err := silero.Load()
	if err != nil {
		log.Fatal(err)
	}
	m, err := weights.NewModel(8000) // phone audio: 256-sample windows
	if err != nil {
		log.Fatal(err)
	}
	window := make([]float32, m.WindowSize())
	var highest float32
	for n := range 20 {
		for i := range window {
			t := float64(n*len(window)+i) / 8000
			window[i] = float32(0.3 * math.Sin(2*math.Pi*1000*t))
		}
		p, err := m.Probability(window)
		if err != nil {
			log.Fatal(err)
		}
		highest = max(highest, p)
	}
	fmt.Println("1 kHz tone is speech:", highest >= 0.5)
	// Output: 1 kHz tone is speech: false
}
