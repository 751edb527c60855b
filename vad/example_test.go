package vad_test

import (
	"fmt"
	"log"

	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// Find the utterance in a recording with Silero, feeding 20 ms frames as a
// live stream would.
func Example() {
	weights, err := silero.Load() // once per process; shared by all streams
	if err != nil {
		log.Fatal(err) // names `make deps` when the model file is missing
	}
	model, err := weights.NewModel(16000)
	if err != nil {
		log.Fatal(err)
	}
	det, err := vad.NewDetector(model, vad.DefaultParams())
	if err != nil {
		log.Fatal(err)
	}
	rec, err := wav.ReadFile("../testdata/speech/order_slt.wav")
	if err != nil {
		log.Fatal(err)
	}
	// One second of silence after the speech lets the end be confirmed.
	stream := append(rec.Samples, make([]int16, 16000)...)
	for i := 0; i+320 <= len(stream); i += 320 {
		events, err := det.Write(stream[i : i+320])
		if err != nil {
			log.Fatal(err)
		}
		for _, ev := range events {
			switch ev.Type {
			case vad.SpeechStart:
				fmt.Printf("speech from %.2f s, confirmed at %.2f s, %.2f s of audio for STT\n",
					float64(ev.Start)/16000, float64(ev.At)/16000, float64(len(ev.Audio))/16000)
			case vad.SpeechEnd:
				fmt.Printf("speech until %.2f s, confirmed at %.2f s\n", float64(ev.End)/16000, float64(ev.At)/16000)
			}
		}
	}
	// Output:
	// speech from 0.22 s, confirmed at 0.29 s, 0.29 s of audio for STT
	// speech until 2.40 s, confirmed at 2.72 s
}
