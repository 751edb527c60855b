package offline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// TestSpokenIntents speaks requests with three flite voices, recognises them
// with the biased recogniser and checks the intent the dialogue engine finds:
// the accuracy of the whole offline front end.
func TestSpokenIntents(t *testing.T) {
	if testing.Short() {
		t.Skip("recognises 12 utterances")
	}
	eng := newEngines(t)
	cases := []struct {
		text, intent, slot, value string
	}{
		{"Where is my order one two three four?", "order_status", "order_id", "1234"},
		{"Can you track order five six seven eight?", "order_status", "order_id", "5678"},
		{"How long does shipping take?", "shipping_times", "", ""},
		{"I would like to return these shoes.", "returns", "", ""},
		{"Can I get a refund?", "returns", "", ""},
		{"I want to speak to a person.", "human", "", ""},
		{"What time is it?", "get_time", "", ""},
		{"Set a timer for ten minutes.", "set_timer", "duration", "600"},
		{"How much time is left on my timer?", "timer_left", "", ""},
		{"Turn on the kitchen lights.", "lights", "state", "on"},
		{"Turn off the lights in the bedroom.", "lights", "room", "bedroom"},
		{"Thanks, goodbye.", "goodbye", "", ""},
	}
	voices := []string{"slt", "rms", "awb"}
	var (
		mu    sync.Mutex
		right int
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 2) // the recogniser's two decoders
	for i, c := range cases {
		voice := voices[i%len(voices)]
		var audio pcm.Frame
		for fr, err := range eng.TTS.Synthesize(context.Background(), pipeline.SpeechRequest{Text: c.text, Voice: voice}) {
			if err != nil {
				t.Fatal(err)
			}
			audio.Format = fr.Format
			audio.Samples = append(audio.Samples, fr.Samples...)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tr, err := eng.STT.Transcribe(context.Background(), audio, "en")
			if err != nil {
				t.Error(err)
				return
			}
			m := eng.LLM.Match(tr.Text)
			if m.Intent == c.intent && (c.slot == "" || m.Slots[c.slot] == c.value) {
				mu.Lock()
				right++
				mu.Unlock()
			} else {
				t.Logf("%s %q heard %q: %s %v", voice, c.text, tr.Text, m.Intent, m.Slots)
			}
		})
	}
	wg.Wait()
	acc := float64(right) / float64(len(cases))
	fmt.Printf("offline: %d of %d spoken requests understood (%.0f %%)\n", right, len(cases), 100*acc)
	if acc < 0.85 {
		t.Errorf("intent accuracy %.0f %%, want >= 85 %%", 100*acc)
	}
}
