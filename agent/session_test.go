package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rig is one session on an in-memory transport, inside a synctest bubble.
type rig struct {
	t    *testing.T
	tr   *agenttest.Transport
	stt  *agenttest.STT
	llm  *agenttest.LLM
	tts  *agenttest.TTS
	s    *agent.Session
	done chan error
}

func newRig(t *testing.T, stt *agenttest.STT, llm *agenttest.LLM, opts ...agent.Option) *rig {
	t.Helper()
	r := &rig{t: t, tr: agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k), stt: stt, llm: llm, tts: &agenttest.TTS{}, done: make(chan error, 1)}
	all := append([]agent.Option{
		agent.WithSTT(stt), agent.WithLLM(llm), agent.WithTTS(r.tts), agent.WithVAD(agenttest.NewLevelModel()),
	}, opts...)
	s, err := agent.New(r.tr, all...)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	return r
}

func (r *rig) start(ctx context.Context) {
	go func() { r.done <- r.s.Run(ctx) }()
}

// speak queues d of user speech followed by silence.
func (r *rig) speak(d time.Duration) {
	r.tr.Play(agenttest.Speech(d, 16000, int64(d)))
}

// wait advances fake time until an event matching f arrives after index from.
func (r *rig) wait(from int, f func(agent.Event) bool) (agent.Event, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev, i, err := r.tr.WaitEvent(ctx, from, f)
	if err != nil {
		r.t.Fatalf("no matching event: %v; events: %+v", err, r.tr.Events())
	}
	return ev, i
}

func (r *rig) stop() {
	r.t.Helper()
	r.tr.Hangup()
	if err := <-r.done; err != nil {
		r.t.Fatalf("Run: %v", err)
	}
}

func is(t agent.EventType) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Type == t }
}

func state(st agent.State) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Type == agent.EventState && ev.State == st }
}

func TestConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("where is my order"),
			agenttest.NewLLM(agenttest.Text("Your order shipped yesterday. It should arrive on Friday.")),
			agent.WithSystemPrompt("You are a shop assistant."))
		r.start(t.Context())
		r.speak(time.Second)
		ev, i := r.wait(0, is(agent.EventUserFinal))
		if ev.Text != "where is my order" {
			t.Errorf("user_final = %q", ev.Text)
		}
		ev, _ = r.wait(i, is(agent.EventAgentDone))
		if want := "Your order shipped yesterday. It should arrive on Friday."; ev.Text != want {
			t.Errorf("agent_done = %q, want %q", ev.Text, want)
		}
		r.wait(i, state(agent.StateListening))
		h := r.s.History()
		if len(h) != 3 || h[0].Role != pipeline.RoleSystem || h[1].Content != "where is my order" || h[2].Interrupted {
			t.Fatalf("history = %+v", h)
		}
		b, err := json.Marshal(h)
		want := `[{"role":"system","content":"You are a shop assistant."},{"role":"user","content":"where is my order"},` +
			`{"role":"assistant","content":"Your order shipped yesterday. It should arrive on Friday."}]`
		if err != nil || string(b) != want {
			t.Errorf("history JSON %s, %v; want %s", b, err, want)
		}
		if _, _, err := r.tr.WaitEvent(t.Context(), 0, is(agent.EventMetrics)); err != nil {
			t.Fatal(err)
		}
		r.stop()
		if r.s.State() != agent.StateListening {
			t.Errorf("state after Run = %v", r.s.State())
		}
	})
}

func TestRunEOF(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT(), agenttest.NewLLM())
		r.start(t.Context())
		r.tr.Close()
		if err := <-r.done; err != nil {
			t.Fatalf("Run after EOF = %v, want nil", err)
		}
	})
}

// TestRunEOFFinishesTurn ends the input while the user is still speaking:
// the turn is recognised and kept in the history, unanswered, and Run
// returns.
func TestRunEOFFinishesTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("what are your opening hours"), agenttest.NewLLM(agenttest.Text("We open at nine.")))
		r.start(t.Context())
		r.tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 1))
		r.tr.Close()
		if err := <-r.done; err != nil {
			t.Fatalf("Run after EOF = %v, want nil", err)
		}
		evs := r.tr.Events()
		if count(evs, agent.EventUserFinal) != 1 || count(evs, agent.EventAgentText) != 0 {
			t.Errorf("events %+v", evs)
		}
		if h := r.s.History(); len(h) != 1 || h[0].Content != "what are your opening hours" {
			t.Errorf("history %+v", h)
		}
		if n := len(r.llm.Requests()); n != 0 {
			t.Errorf("LLM called %d times after the client left", n)
		}
	})
}

// TestRunEOFCutsReply ends the input while the agent speaks: the history
// keeps what was heard of the reply, marked interrupted.
func TestRunEOFCutsReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := midReply(t)
		r.stop()
		h := r.s.History()
		if len(h) != 2 || !h[1].Interrupted || h[1].Content == "" || !strings.HasPrefix(longReply, h[1].Content) {
			t.Errorf("history %+v", h)
		}
	})
}

func TestRunCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT(), agenttest.NewLLM())
		ctx, cancel := context.WithCancel(t.Context())
		r.start(ctx)
		time.Sleep(time.Second)
		cancel()
		if err := <-r.done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run after cancel = %v", err)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("first"), agenttest.NewLLM(agenttest.Text("One."), agenttest.Text("Two.")))
		r.start(t.Context())
		r.s.SendText("hello")
		r.wait(0, is(agent.EventAgentDone))
		r.stop()
		// The transport stays hung up: a second Run ends at once, cleanly.
		if err := r.s.Run(context.Background()); err != nil {
			t.Fatalf("second Run: %v", err)
		}
		h := r.s.History()
		if len(h) != 2 {
			t.Errorf("history %+v", h)
		}
	})
}

func TestRunCannotStart(t *testing.T) {
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	var handled []agent.Event
	broken := errors.New("no model here")
	s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(&agenttest.TTS{}),
		agent.WithVAD(func() (vad.Model, error) { return nil, broken }),
		agent.WithEventHandler(func(ev agent.Event) { handled = append(handled, ev) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context()); !errors.Is(err, broken) {
		t.Fatalf("Run = %v", err)
	}
	evs := tr.Events()
	if len(evs) != 1 || evs[0].Type != agent.EventError || !strings.Contains(evs[0].Text, "no model here") || len(handled) != 1 {
		t.Errorf("events %+v, handled %+v", evs, handled)
	}
}

func TestRunConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT(), agenttest.NewLLM())
		r.start(t.Context())
		time.Sleep(100 * time.Millisecond)
		if err := r.s.Run(t.Context()); !errors.Is(err, agent.ErrRunning) {
			t.Errorf("concurrent Run = %v, want ErrRunning", err)
		}
		r.stop()
	})
}

// failingWrites is a transport whose speaker fails.
type failingWrites struct{ *agenttest.Transport }

func (failingWrites) WriteAudio(context.Context, pcm.Frame) error { return errors.New("peer gone") }

func TestWriteErrorsDoNotEndRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := failingWrites{agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)}
		s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Hello there."))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		s.SendText("hi")
		if _, _, err := tr.WaitEvent(t.Context(), 0, is(agent.EventError)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := tr.WaitEvent(t.Context(), 0, is(agent.EventAgentDone)); err != nil {
			t.Fatal(err)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after the microphone ended", err)
		}
	})
}
