package agent_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// speechClip reads a 16 kHz speech clip from testdata/speech.
func speechClip(tb testing.TB, name string) []int16 {
	tb.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "testdata", "speech", name))
	if err != nil {
		tb.Fatal(err)
	}
	if fr.Format != pcm.Mono16k {
		tb.Fatalf("%s: format %v", name, fr.Format)
	}
	return fr.Samples
}

// BenchmarkBargeIn measures the interrupt path in real time: a session with
// the Silero VAD speaks a flite reply, a flite "Stop." / "Wait, ..." is
// played into its microphone, and the benchmark reports the time from the
// first frame of that speech (first 10 ms above -40 dBFS) to the end of the
// last agent frame that carried audio, and the session's own time from the
// VAD's confirmation to silence.
func BenchmarkBargeIn(b *testing.B) {
	w, err := silero.Load()
	if err != nil {
		b.Skipf("Silero model not available (run make deps): %v", err)
	}
	newVAD := func() (vad.Model, error) { return w.NewModel(16000) }
	reply := speechClip(b, "agent_reply_slt.wav")
	users := [][]int16{speechClip(b, "stop_slt.wav"), speechClip(b, "wait_rms.wav"), speechClip(b, "shipping_awb.wav")}
	var onsetSum, confirmSum time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		user := users[i%len(users)]
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM()),
			agent.WithTTS(&agenttest.TTS{Clip: reply}), agent.WithVAD(newVAD))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		s.Say("Thank you for calling.")
		if _, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentText }); err != nil {
			b.Fatal(err)
		}
		time.Sleep(600 * time.Millisecond)
		start := tr.Play(user)
		ev, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventInterruption })
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // let any frame in flight land
		on, _ := agenttest.SpeechOnset(user)
		onset, ok := tr.Delivered(start + int64(on))
		if !ok {
			b.Fatal("onset frame not delivered")
		}
		var last time.Time
		for _, o := range tr.Frames() {
			if o.Audible && o.At.After(last) {
				last = o.At
			}
		}
		onsetSum += last.Add(20 * time.Millisecond).Sub(onset)
		confirmSum += ev.Interruption.ConfirmToSilence
		cancel()
		<-done
	}
	b.ReportMetric(float64(onsetSum.Microseconds())/1000/float64(b.N), "onset-to-silence-ms")
	b.ReportMetric(float64(confirmSum.Microseconds())/1000/float64(b.N), "confirm-to-silence-ms")
}
