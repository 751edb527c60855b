package robustness

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

const (
	fallbackLine = "Sorry, something went wrong on my side."
	// defaultChat is openaitest's default chat reply.
	defaultChat = "Hello! How can I help you today?"
)

// TestProviderFaults injects one provider fault into a turn, through the
// OpenAI provider against its in-process fake server. The session must
// report the error, speak its fallback line (asked of the TTS and played,
// as agent_text), and answer the next turn normally.
func TestProviderFaults(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after every subtest
	speech := clip(t, "timer_awb.wav", 16000)
	// All at once: the cases wait on the network and real-time audio, not
	// the CPU, and t.Parallel would run only GOMAXPROCS of them at a time.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range []struct {
		name  string
		stage string // of the error event
		fault func(*openaitest.Server)
	}{
		{"chat first-byte timeout", "llm", func(s *openaitest.Server) {
			s.Chat(openaitest.ChatReply{Deltas: []string{"Too", " late."}, Fault: openaitest.Fault{FirstByteDelay: 5 * time.Second}})
		}},
		{"chat 5xx", "llm", func(s *openaitest.Server) {
			s.Chat(openaitest.ChatReply{Fault: openaitest.Fault{Status: http.StatusServiceUnavailable}})
		}},
		{"chat stream drop", "llm", func(s *openaitest.Server) {
			r := openaitest.Text("Your timer is set for five minutes and it will ring at noon.")
			r.Drop, r.DropAfter = true, 3
			s.Chat(r)
		}},
		{"chat error event", "llm", func(s *openaitest.Server) {
			r := openaitest.Text("Your timer is set for five minutes and it will ring at noon.")
			r.Drop, r.DropAfter, r.ErrorEvent, r.Message = true, 2, true, "the model is overloaded"
			s.Chat(r)
		}},
		{"chat stall mid-stream", "llm", func(s *openaitest.Server) {
			r := openaitest.Text("Your timer is set for five minutes.")
			r.ChunkDelay = 5 * time.Second
			s.Chat(r)
		}},
		{"chat drop mid tool call", "llm", func(s *openaitest.Server) {
			s.Chat(openaitest.ChatReply{
				ToolCalls:    []openaitest.ToolCall{{Name: "check_timer", Arguments: `{"minutes": 5, "label": "tea"}`}},
				FragmentSize: 4,
				Fault:        openaitest.Fault{Drop: true, DropAfter: 3},
			})
		}},
		{"speech 5xx", "tts", func(s *openaitest.Server) {
			s.Speech(openaitest.SpeechReply{Fault: openaitest.Fault{Status: http.StatusInternalServerError}})
		}},
		{"speech first-byte timeout", "tts", func(s *openaitest.Server) {
			s.Speech(openaitest.SpeechReply{Fault: openaitest.Fault{FirstByteDelay: 5 * time.Second}})
		}},
		{"speech stream drop", "tts", func(s *openaitest.Server) {
			s.Speech(openaitest.SpeechReply{Fault: openaitest.Fault{Drop: true, DropAfter: 5}})
		}},
		{"transcription 5xx", "stt", func(s *openaitest.Server) {
			s.Transcription(openaitest.TranscriptionReply{Fault: openaitest.Fault{Status: http.StatusBadGateway}})
		}},
	} {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				srv := openaitest.NewServer()
				hc := &http.Client{Transport: &http.Transport{}}
				t.Cleanup(func() {
					srv.Close()
					hc.CloseIdleConnections()
				})
				tc.fault(srv)
				// Timeouts well under the faults' 5 s delays, and well over
				// what a healthy request takes on a loaded machine (the
				// transcription of the turn before the fault shares them).
				client, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithAPIKey("test"), openai.WithHTTPClient(hc),
					openai.WithFirstByteTimeout(2500*time.Millisecond), openai.WithIdleTimeout(2500*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
				s, err := agent.New(tr,
					agent.WithSTT(client), agent.WithLLM(client), agent.WithTTS(client),
					agent.WithVAD(energyVAD),
					agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
					agent.WithLanguage("en"),
					agent.WithFallbackText(fallbackLine),
					agent.WithProviderTimeout(5*time.Second),
				)
				if err != nil {
					t.Fatal(err)
				}
				ran := runSession(t, s)

				// The faulty turn: an error from the stage, then the fallback.
				tr.Play(speech)
				ev, i, err := tr.WaitEvent(waitCtx(t, 10*time.Second), 0, isType(agent.EventError))
				if err != nil {
					t.Fatalf("no error event: %v; events %s", err, summary(tr.Events()))
				}
				if !strings.Contains(ev.Text, tc.stage) {
					t.Errorf("error event %q, want stage %q", ev.Text, tc.stage)
				}
				ev, i, err = tr.WaitEvent(waitCtx(t, 10*time.Second), i, func(ev agent.Event) bool {
					return ev.Type == agent.EventAgentText && ev.Text == fallbackLine
				})
				if err != nil {
					t.Fatalf("fallback not spoken: %v; events %s", err, summary(tr.Events()))
				}
				if _, i, err = tr.WaitEvent(waitCtx(t, 10*time.Second), i, isType(agent.EventAgentDone)); err != nil {
					t.Fatalf("fallback reply not finished: %v; events %s", err, summary(tr.Events()))
				}
				asked := false
				for _, r := range srv.Requests() {
					if r.Speech != nil && r.Speech.Input == fallbackLine {
						asked = true
					}
				}
				if !asked {
					t.Error("the TTS was never asked for the fallback line")
				}

				// The history keeps what was said: the reply ends in the
				// fallback line, not in text the user never heard.
				if last := lastAssistant(s.History()); !strings.HasSuffix(last, fallbackLine) {
					t.Errorf("history keeps the failed reply as %q, want it to end with the fallback line", last)
				}

				// Recovery: the next turn is answered normally.
				from := len(tr.Events())
				tr.Play(speech)
				ev, _, err = tr.WaitEvent(waitCtx(t, 10*time.Second), from, isType(agent.EventAgentDone))
				if err != nil {
					t.Fatalf("next turn not answered: %v; events %s", err, summary(tr.Events()[from:]))
				}
				if ev.Text != defaultChat {
					t.Errorf("next reply %q, want %q", ev.Text, defaultChat)
				}
				for _, ev := range tr.Events()[from:] {
					if ev.Type == agent.EventError {
						t.Errorf("error on the next turn: %s", ev.Text)
					}
				}
				tr.Hangup()
				if err := waitRun(ran, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// runSession runs s in the background; the channel yields Run's result.
// The cleanup cancels it and waits, so no test leaves it behind.
func runSession(t *testing.T, s *agent.Session) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ran <- s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ran
}

// waitRun waits for Run's result: nil is expected.
func waitRun(ran <-chan error, d time.Duration) error {
	select {
	case err := <-ran:
		return err
	case <-time.After(d):
		return errors.New("Run did not return")
	}
}

// waitCtx returns a context cancelled after d or at the test's end.
func waitCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// lastAssistant returns the content of the last assistant message.
func lastAssistant(hist []pipeline.Message) string {
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Role == pipeline.RoleAssistant {
			return hist[i].Content
		}
	}
	return ""
}
