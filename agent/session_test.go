package agent_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
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
