package twilio

import (
	"context"
	"iter"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

const firstSentence = "Thanks for calling."

// toneTTS speaks a 440 Hz tone for 40 ms per character: loud, or quiet for
// text starting with "Okay", so the test can tell two replies apart.
func toneTTS() pipeline.TTS {
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		amp := loudAmp
		if strings.HasPrefix(req.Text, "Okay") {
			amp = quietAmp
		}
		return func(yield func(pcm.Frame, error) bool) {
			n := len([]rune(req.Text)) * 2 // 20 ms frames
			for i := range n {
				if ctx.Err() != nil {
					yield(pcm.Frame{}, ctx.Err())
					return
				}
				fr := pcm.Frame{Format: pcm.Mono16k, Samples: make([]int16, 320)}
				for j := range fr.Samples {
					fr.Samples[j] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(i*320+j)/16000))
				}
				if !yield(fr, nil) {
					return
				}
			}
		}
	})
}

// TestTwilioSession runs a real agent.Session behind the stream handler: the
// caller asks, hears the first sentence (its mark echoed), talks over the
// second; the test checks the clear, the order of audio around it, and that
// the history keeps what the caller heard.
func TestTwilioSession(t *testing.T) {
	sessions := make(chan *agent.Session, 1)
	events := make(chan agent.Event, 256)
	h, err := NewHandler(func(r *http.Request, c *Conn) (Session, error) {
		s, err := agent.New(c,
			agent.WithPreset(agent.PresetPhone),
			agent.WithSTT(agenttest.NewSTT("where is my order", "wait what does that mean")),
			agent.WithLLM(agenttest.NewLLM(
				agenttest.Text(firstSentence+" Your order one two three four shipped yesterday and should arrive on Friday, so keep an eye on the porch."),
				agenttest.Text("Okay, let me explain that."))),
			agent.WithTTS(toneTTS()),
			agent.WithVAD(agenttest.NewLevelModel()),
			agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
			agent.WithInterruptionPolicy(agent.InterruptionPolicy{Mode: agent.CancelImmediately}),
			agent.WithEventHandler(func(ev agent.Event) {
				select {
				case events <- ev:
				default:
				}
			}),
		)
		if err == nil {
			sessions <- s
		}
		return s, err
	}, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c.start(nil)
	s := <-sessions

	c.startMic()
	c.Say(speech8k(t, "order_slt.wav"))

	// Hear the reply; echo marks at once until the first one, then barge in.
	var echoed int
	for echoed == 0 {
		m := c.Next()
		if m.Event == EventMark {
			c.send(Message{Event: EventMark, StreamSid: "MZ0001", Mark: m.Mark})
			echoed++
		}
	}
	c.Say(speech8k(t, "wait_rms.wav"))
	var held []*Mark
	cleared, quiet := false, 0
	for quiet < 10 {
		m := c.Next()
		switch m.Event {
		case EventClear:
			cleared = true
			for _, mk := range held { // Twilio echoes the marks a clear discards
				c.send(Message{Event: EventMark, StreamSid: "MZ0001", Mark: mk})
			}
		case EventMark:
			if !cleared {
				held = append(held, m.Mark)
			} else {
				c.send(Message{Event: EventMark, StreamSid: "MZ0001", Mark: m.Mark})
			}
		case EventMedia:
			lvl := level(t, m)
			if cleared && lvl > -12 {
				t.Fatalf("old reply audio (%.1f dBFS) after clear", lvl)
			}
			if lvl < -20 && lvl > -60 {
				if !cleared {
					t.Fatalf("new reply audio (%.1f dBFS) before clear", lvl)
				}
				quiet++
			}
		}
	}
	c.send(Message{Event: EventStop, Stop: &Stop{CallSid: "CA0001"}})
	c.Closed()

	var first *pipeline.Message
	for _, m := range s.History() {
		if m.Role == pipeline.RoleAssistant {
			first = &m
			break
		}
	}
	if first == nil {
		t.Fatalf("no assistant message in %+v", s.History())
	}
	if !first.Interrupted || !strings.HasPrefix(first.Content, firstSentence) || strings.Contains(first.Content, "porch") {
		t.Fatalf("first reply in history: %+v; want interrupted, starting with %q", *first, firstSentence)
	}
	var interruption *agent.Interruption
	for len(events) > 0 {
		if ev := <-events; ev.Type == agent.EventInterruption && ev.Interruption.Cancelled {
			interruption = ev.Interruption
		}
	}
	if interruption == nil || interruption.Heard != first.Content {
		t.Fatalf("interruption %+v, history %q", interruption, first.Content)
	}
	t.Logf("heard %q; %d marks discarded by the clear; onset to silence %v", first.Content, len(held), interruption.OnsetToSilence)
}
