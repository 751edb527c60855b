package realtime_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/pcm"
)

const longReply = "Thank you for calling. Your order one two three four shipped yesterday and should arrive on Friday. Is there anything else I can help you with today?"

func is(typ agent.EventType) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Type == typ }
}

func cancelled(ev agent.Event) bool {
	return ev.Type == agent.EventInterruption && ev.Interruption.Cancelled
}

// session runs an agent session on the recogniser; the cleanup hangs up
// and checks that Run returned.
func session(t *testing.T, rec *realtime.Recognizer) (*agenttest.Transport, *agent.Session) {
	t.Helper()
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	s, err := agent.New(tr,
		agent.WithStreamingSTT(rec),
		agent.WithLLM(agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("Okay."))),
		agent.WithTTS(&agenttest.TTS{}),
		agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
		agent.WithLanguage("en"),
	)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()
	t.Cleanup(func() {
		tr.Hangup()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after the hangup")
		}
	})
	return tr, s
}

func wait(t *testing.T, tr *agenttest.Transport, from int, match func(agent.Event) bool) (agent.Event, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ev, i, err := tr.WaitEvent(ctx, from, match)
	if err != nil {
		var types []string
		for _, ev := range tr.Events()[from:] {
			types = append(types, string(ev.Type)+" "+ev.Text)
		}
		t.Fatalf("%v; events since %d: %q", err, from, types)
	}
	return ev, i
}

// TestSessionBargeIn talks over a reply and scripts the recognition of the
// interrupting speech at each stage: answered at once, slowly, word by
// word, cut off and resent, failed, refused. The reply is paused at once
// in every case, then cancelled by real words or resumed when the words
// are a backchannel or cannot be known; the session never hangs.
func TestSessionBargeIn(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range []struct {
		name    string
		script  func(*realtimetest.Server)
		outcome string // "cancelled" or "resumed"
		stt     bool   // an stt error event is expected
		conns   int    // connections for the interrupting speech
	}{
		{"stop at once", func(s *realtimetest.Server) { s.Transcription(realtimetest.Reply{Text: "Stop."}) }, "cancelled", false, 1},
		{"stop slowly", func(s *realtimetest.Server) {
			s.Transcription(realtimetest.Reply{Text: "Stop.", FirstDelay: time.Second})
		}, "cancelled", false, 1},
		{"words streaming", func(s *realtimetest.Server) {
			s.Transcription(realtimetest.Reply{Text: "no wait I meant the blue one please", DeltaDelay: 80 * time.Millisecond})
		}, "cancelled", false, 1},
		{"backchannel", func(s *realtimetest.Server) { s.Transcription(realtimetest.Reply{Text: "Uh-huh."}) }, "resumed", false, 1},
		{"dropped then resent", func(s *realtimetest.Server) {
			s.Transcription(realtimetest.Reply{Text: "stop right there", Drop: true, DropAfter: 1}, realtimetest.Reply{Text: "stop right there"})
		}, "cancelled", false, 2},
		{"error event", func(s *realtimetest.Server) {
			s.Transcription(realtimetest.Reply{Error: &realtimeapi.APIError{Type: realtimeapi.ErrorServer, Message: "overloaded"}})
		}, "resumed", true, 1},
		{"refused", func(s *realtimetest.Server) { s.Refuse(http.StatusUnauthorized) }, "resumed", true, 0},
	} {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				srv := realtimetest.NewServer()
				defer srv.Close()
				rec, err := realtime.New(realtime.WithBaseURL(srv.URL), realtime.WithTimeout(3*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				tr, s := session(t, rec)
				s.SendText("where is my order")
				_, i := wait(t, tr, 0, is(agent.EventAgentText))
				time.Sleep(500 * time.Millisecond)
				tc.script(srv)
				tr.Play(agenttest.Speech(700*time.Millisecond, 16000, 7))
				paused, i := wait(t, tr, i, is(agent.EventInterruption))
				if paused.Interruption.Cancelled {
					t.Fatal("the reply was cancelled before its words were known")
				}
				switch tc.outcome {
				case "cancelled":
					ev, _ := wait(t, tr, i, cancelled)
					if h := ev.Interruption.Heard; h == "" || !strings.HasPrefix(longReply, h) || h == longReply {
						t.Errorf("heard %q, want a proper prefix of the reply", h)
					}
				case "resumed":
					wait(t, tr, i, is(agent.EventResumed))
					done, _ := wait(t, tr, i, is(agent.EventAgentDone))
					if done.Text != longReply {
						t.Errorf("resumed reply ended as %q", done.Text)
					}
				}
				sawErr := false
				for _, ev := range tr.Events() {
					if ev.Type == agent.EventError {
						sawErr = true
						if !strings.Contains(ev.Text, "stt") {
							t.Errorf("error event %q", ev.Text)
						}
					}
				}
				if sawErr != tc.stt {
					t.Errorf("stt error event: %v, want %v", sawErr, tc.stt)
				}
				if n := len(srv.Connections()); n != tc.conns {
					t.Errorf("%d connections, want %d", n, tc.conns)
				}
			})
		})
	}
}

// TestSessionTurns answers spoken turns through the recogniser, and ends
// cleanly when the caller hangs up while a transcript is still on its way.
func TestSessionTurns(t *testing.T) {
	srv := realtimetest.NewServer()
	defer srv.Close()
	rec, err := realtime.New(realtime.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr, s := session(t, rec)
	srv.Transcription(realtimetest.Reply{Text: "where is my order", DeltaDelay: 20 * time.Millisecond})
	tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 3))
	final, i := wait(t, tr, 0, is(agent.EventUserFinal))
	if final.Text != "where is my order" || final.Language != "en" {
		t.Errorf("user_final %+v", final)
	}
	wait(t, tr, i, is(agent.EventAgentDone))
	if h := s.History(); len(h) != 2 || h[0].Content != "where is my order" || h[1].Content != longReply {
		t.Errorf("history %+v", h)
	}
	c := srv.Connections()[0]
	if len(c.Commits) != 1 || c.Commits[0].Duration < 700*time.Millisecond {
		t.Errorf("commits %+v", c.Commits)
	}
	// The caller goes away while the next transcript is held back: the
	// session's cleanup checks that Run returns.
	srv.Transcription(realtimetest.Reply{Text: "never", FirstDelay: time.Hour})
	tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 4))
	deadline := time.Now().Add(15 * time.Second)
	for len(srv.Commits()) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("second turn never committed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
