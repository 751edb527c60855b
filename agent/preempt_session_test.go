package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// orderLLM is a scripted model that notes, for each call, how many
// session events came before it: a preemptive reply's call comes before
// the turn's user_final.
type orderLLM struct {
	pipeline.LLM
	tr *agenttest.Transport

	mu    sync.Mutex
	calls []int
}

func (m *orderLLM) Stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	m.mu.Lock()
	m.calls = append(m.calls, len(m.tr.Events()))
	m.mu.Unlock()
	return m.LLM.Stream(ctx, req)
}

func (m *orderLLM) called() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// preemptRig is a session whose turns end 600 ms after the speech, so the
// reply can be prepared while the end is awaited.
type preemptRig struct {
	*rig
	llm *orderLLM
	rec *recorder
	// userFinal is when each user_final event came (fake time).
	mu        sync.Mutex
	userFinal []time.Time
}

func newPreemptRig(t *testing.T, stt *agenttest.STT, llm *agenttest.LLM, opts ...agent.Option) *preemptRig {
	t.Helper()
	p := &preemptRig{rec: &recorder{}}
	r := &rig{t: t, tr: agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k), stt: stt, llm: llm, tts: &agenttest.TTS{}, done: make(chan error, 1)}
	p.rig, p.llm = r, &orderLLM{LLM: llm, tr: r.tr}
	all := append([]agent.Option{
		agent.WithSTT(stt), agent.WithLLM(p.llm), agent.WithTTS(r.tts), agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithEndOfTurn(600 * time.Millisecond), agent.WithMetrics(p.rec),
		agent.WithEventHandler(func(ev agent.Event) {
			if ev.Type == agent.EventUserFinal {
				p.mu.Lock()
				p.userFinal = append(p.userFinal, time.Now())
				p.mu.Unlock()
			}
		}),
	}, opts...)
	s, err := agent.New(r.tr, all...)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	return p
}

// checkSilentBefore fails if any audible frame was sent before the last
// user_final.
func (p *preemptRig) checkSilentBefore() {
	p.t.Helper()
	p.mu.Lock()
	last := p.userFinal[len(p.userFinal)-1]
	p.mu.Unlock()
	for _, f := range p.tr.Frames() {
		if f.Audible && f.At.Before(last) {
			p.t.Fatalf("audio sent at %v, before the turn ended at %v", f.At, last)
		}
	}
}

func historyJSON(t *testing.T, h []pipeline.Message) string {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oneTurn runs one user turn to the end of its reply and returns its
// metrics and the index of its user_final event.
func oneTurn(t *testing.T, preemptive bool) (agent.TurnMetrics, *preemptRig) {
	var tm agent.TurnMetrics
	var p *preemptRig
	synctest.Test(t, func(t *testing.T) {
		llm := agenttest.NewLLM(agenttest.Text("It shipped yesterday."))
		llm.FirstDelay = 300 * time.Millisecond
		p = newPreemptRig(t, agenttest.NewSTT("Where is my order?"), llm, agent.WithPreemptiveReply(preemptive))
		p.start(t.Context())
		p.speak(time.Second)
		_, final := p.wait(0, is(agent.EventUserFinal))
		ev, _ := p.wait(final, is(agent.EventAgentDone))
		if ev.Text != "It shipped yesterday." {
			t.Errorf("agent_done %q", ev.Text)
		}
		ev, _ = p.wait(final, is(agent.EventMetrics))
		tm = *ev.Metrics
		calls := p.llm.called()
		if len(calls) != 1 {
			t.Fatalf("LLM called %d times, want once", len(calls))
		}
		if before := calls[0] <= final; before != preemptive {
			t.Errorf("LLM called after %d events, user_final is event %d: preemptive %v", calls[0], final, preemptive)
		}
		p.checkSilentBefore()
		want := `[{"role":"user","content":"Where is my order?"},{"role":"assistant","content":"It shipped yesterday."}]`
		if got := historyJSON(t, p.s.History()); got != want {
			t.Errorf("history %s, want %s", got, want)
		}
		p.stop()
	})
	return tm, p
}

func TestPreemptiveReplyUsed(t *testing.T) {
	var pre, late agent.TurnMetrics
	var rec, off *recorder
	t.Run("preemptive", func(t *testing.T) {
		tm, p := oneTurn(t, true)
		pre, rec = tm, p.rec
	})
	t.Run("off", func(t *testing.T) {
		tm, p := oneTurn(t, false)
		late, off = tm, p.rec
	})
	if started, used, wasted := rec.preempted(); started != 1 || used != 1 || wasted != 0 {
		t.Errorf("preemptive: started %d, used %d, wasted %d; want 1, 1, 0", started, used, wasted)
	}
	if started, used, wasted := off.preempted(); started+used+wasted != 0 {
		t.Errorf("turned off: started %d, used %d, wasted %d", started, used, wasted)
	}
	// Fake time: the same conversation, the LLM's wait overlapping the end
	// of the turn.
	if pre.FirstAudioSent <= 0 || pre.FirstAudioSent >= late.FirstAudioSent {
		t.Errorf("first audio sent %v with a preemptive reply, %v without", pre.FirstAudioSent, late.FirstAudioSent)
	}
}

func TestPreemptiveReplyUserGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stt := agenttest.NewSTT("where is my order", "where is my order number five")
		llm := agenttest.NewLLM(agenttest.Text("Dropped reply."), agenttest.Text("Order five shipped."))
		llm.FirstDelay = 50 * time.Millisecond
		p := newPreemptRig(t, stt, llm)
		p.start(t.Context())
		// Speech, 400 ms of silence (the VAD ends the speech, the reply is
		// prepared), then more speech.
		p.tr.Play(agenttest.Speech(time.Second, 16000, 1))
		p.tr.Play(agenttest.Silence(400*time.Millisecond, 16000))
		p.speak(time.Second)
		ev, final := p.wait(0, is(agent.EventUserFinal))
		if ev.Text != "where is my order number five" {
			t.Errorf("user_final %q", ev.Text)
		}
		ev, _ = p.wait(final, is(agent.EventAgentDone))
		if ev.Text != "Order five shipped." {
			t.Errorf("agent_done %q", ev.Text)
		}
		p.checkSilentBefore()
		for _, ev := range p.tr.Events() {
			if strings.Contains(ev.Text, "Dropped") {
				t.Errorf("event %+v of the dropped reply", ev)
			}
		}
		want := `[{"role":"user","content":"where is my order number five"},{"role":"assistant","content":"Order five shipped."}]`
		if got := historyJSON(t, p.s.History()); got != want {
			t.Errorf("history %s, want %s", got, want)
		}
		if n := len(p.llm.called()); n != 2 {
			t.Errorf("LLM called %d times, want 2 (the dropped reply, the answer)", n)
		}
		if started, used, wasted := p.rec.preempted(); started != 2 || used != 1 || wasted != 1 {
			t.Errorf("started %d, used %d, wasted %d; want 2, 1, 1", started, used, wasted)
		}
		p.stop()
	})
}

// TestPreemptiveReplyWordsDiffer: the reply prepared on the partial words
// is dropped when the final words differ, and the answer is to the final
// words.
func TestPreemptiveReplyWordsDiffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		rec := &recorder{}
		script := agenttest.NewLLM(agenttest.Text("Wrong answer."), agenttest.Text("Right answer."))
		llm := &orderLLM{LLM: script, tr: tr}
		sst := &changingSTT{partial: "where is my older", final: "where is my order"}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(llm), agent.WithTTS(&agenttest.TTS{}),
			agent.WithVAD(agenttest.NewLevelModel()), agent.WithMetrics(rec))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		tr.Play(agenttest.Speech(time.Second, 16000, 1))
		ev, final, err := tr.WaitEvent(t.Context(), 0, is(agent.EventUserFinal))
		if err != nil || ev.Text != "where is my order" {
			t.Fatalf("user_final %q, %v", ev.Text, err)
		}
		ev, _, err = tr.WaitEvent(t.Context(), final, is(agent.EventAgentDone))
		if err != nil || ev.Text != "Right answer." {
			t.Errorf("agent_done %q, %v", ev.Text, err)
		}
		reqs := script.Requests()
		if len(reqs) != 2 || last(reqs[0]).Content != "where is my older" || last(reqs[1]).Content != "where is my order" {
			t.Errorf("LLM requests %+v", reqs)
		}
		if calls := llm.called(); len(calls) != 2 || calls[0] > final {
			t.Errorf("LLM calls after events %v, user_final %d", calls, final)
		}
		want := `[{"role":"user","content":"where is my order"},{"role":"assistant","content":"Right answer."}]`
		if got := historyJSON(t, s.History()); got != want {
			t.Errorf("history %s, want %s", got, want)
		}
		if started, used, wasted := rec.preempted(); started != 1 || used != 0 || wasted != 1 {
			t.Errorf("started %d, used %d, wasted %d; want 1, 0, 1", started, used, wasted)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestPreemptiveReplyOnCommittedWords: a committed stream's words are
// answered once they are the words of all the speech. When its transcript
// streams in word by word (as the Realtime API sends it), no reply is
// prepared on its first words, only on all of them. When it gives whole
// words at once and its final words much later (as PocketSphinx's final
// search does), the reply is prepared on the whole words while the final
// ones are awaited. Either way that one reply answers.
func TestPreemptiveReplyOnCommittedWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		sst  *commitSTT
		eot  time.Duration
	}{
		{"word by word", &commitSTT{every: 40 * time.Millisecond}, 600 * time.Millisecond},
		{"whole, then final", &commitSTT{draft: 900 * time.Millisecond}, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
				rec := &recorder{}
				llm := agenttest.NewLLM(agenttest.Text("It shipped yesterday."), agenttest.Text("Another answer."))
				tc.sst.texts = []string{"where is my order"}
				s, err := agent.New(tr, agent.WithStreamingSTT(tc.sst), agent.WithLLM(llm), agent.WithTTS(&agenttest.TTS{}),
					agent.WithVAD(agenttest.NewLevelModel()), agent.WithEndOfTurn(tc.eot), agent.WithMetrics(rec))
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- s.Run(t.Context()) }()
				tr.Play(agenttest.Speech(time.Second, 16000, 1))
				ev, final, err := tr.WaitEvent(t.Context(), 0, is(agent.EventUserFinal))
				if err != nil || ev.Text != "where is my order" {
					t.Fatalf("user_final %q, %v", ev.Text, err)
				}
				if ev, _, err = tr.WaitEvent(t.Context(), final, is(agent.EventAgentDone)); err != nil || ev.Text != "It shipped yesterday." {
					t.Errorf("agent_done %q, %v", ev.Text, err)
				}
				var asked []string
				for _, r := range llm.Requests() {
					asked = append(asked, last(r).Content)
				}
				if len(asked) != 1 || asked[0] != "where is my order" {
					t.Errorf("LLM asked about %q, want once about all the words", asked)
				}
				if started, used, wasted := rec.preempted(); started != 1 || used != 1 || wasted != 0 {
					t.Errorf("started %d, used %d, wasted %d; want 1, 1, 0", started, used, wasted)
				}
				tr.Hangup()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func last(r pipeline.Request) pipeline.Message { return r.Messages[len(r.Messages)-1] }

// changingSTT streams partial words that the final result corrects; its
// final result takes 300 ms.
type changingSTT struct{ partial, final string }

type changingStream struct {
	s *changingSTT
	n int
}

func (f *changingSTT) StartStream(context.Context, pcm.Format, string) (pipeline.STTStream, error) {
	return &changingStream{s: f}, nil
}

func (st *changingStream) Write(samples []int16) error { st.n += len(samples); return nil }

func (st *changingStream) Partial() pipeline.Transcript {
	if st.n < 8000 {
		return pipeline.Transcript{}
	}
	return pipeline.Transcript{Text: st.s.partial}
}

func (st *changingStream) Close() (pipeline.Transcript, error) {
	time.Sleep(300 * time.Millisecond)
	return pipeline.Transcript{Text: st.s.final, Final: true}, nil
}

// TestPreemptiveReplyBargeIn: a reply that was prepared preemptively is
// interrupted like any other: cancelled, its history cut to what was heard.
func TestPreemptiveReplyBargeIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stt := agenttest.NewSTT("tell me about shipping", "no stop that please")
		p := newPreemptRig(t, stt, agenttest.NewLLM(agenttest.Text(longReply)))
		p.start(t.Context())
		p.speak(time.Second)
		_, i := p.wait(0, is(agent.EventAgentText))
		time.Sleep(time.Second)
		p.speak(time.Second)
		p.wait(i, cancelled)
		_, j := p.wait(i, is(agent.EventUserFinal))
		p.wait(j, is(agent.EventAgentDone))
		h := p.s.History()
		checkHistory(t, h)
		if len(h) < 3 || h[1].Role != pipeline.RoleAssistant || !h[1].Interrupted || h[1].Content == "" || len(h[1].Content) >= len(longReply) {
			t.Errorf("history %+v, want the first reply cut where it was heard", h)
		}
		if started, used, _ := p.rec.preempted(); started < 1 || used < 1 {
			t.Errorf("started %d, used %d: the first reply was not preemptive", started, used)
		}
		p.stop()
	})
}

// TestPreemptiveReplyTools: a preemptive reply stops at its tool call
// until the turn ends with its words; dropped, the tool never runs.
func TestPreemptiveReplyTools(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var ran []string
		tool := agent.Tool{Tool: pipeline.Tool{Name: "cancel_order", Description: "Cancels an order."},
			Func: func(_ context.Context, args json.RawMessage) (string, error) {
				mu.Lock()
				defer mu.Unlock()
				ran = append(ran, string(args))
				return "cancelled", nil
			}}
		stt := agenttest.NewSTT("cancel order one", "cancel order one two")
		llm := agenttest.NewLLM(
			[]pipeline.Delta{{Text: "One moment."}, agenttest.Call("a", "cancel_order", `{"order":1}`)},
			[]pipeline.Delta{{Text: "One moment."}, agenttest.Call("b", "cancel_order", `{"order":12}`)},
			agenttest.Text("Order twelve is cancelled."))
		p := newPreemptRig(t, stt, llm, agent.WithTools(tool))
		p.start(t.Context())
		p.tr.Play(agenttest.Speech(time.Second, 16000, 1))
		p.tr.Play(agenttest.Silence(500*time.Millisecond, 16000))
		p.speak(time.Second)
		_, final := p.wait(0, is(agent.EventUserFinal))
		ev, _ := p.wait(final, is(agent.EventAgentDone))
		if ev.Text != "One moment. Order twelve is cancelled." {
			t.Errorf("agent_done %q", ev.Text)
		}
		mu.Lock()
		if len(ran) != 1 || ran[0] != `{"order":12}` {
			t.Errorf("tool ran with %q, want once with order 12", ran)
		}
		mu.Unlock()
		p.checkSilentBefore()
		checkHistory(t, p.s.History())
		if started, used, wasted := p.rec.preempted(); started != 2 || used != 1 || wasted != 1 {
			t.Errorf("started %d, used %d, wasted %d; want 2, 1, 1", started, used, wasted)
		}
		p.stop()
	})
}

// TestPreemptiveReplyOpenAI: with the OpenAI provider against its test
// server, in real time, the reply is asked for before the turn ends and
// plays only after it.
func TestPreemptiveReplyOpenAI(t *testing.T) {
	api := openaitest.NewServer()
	defer api.Close()
	api.SetDefaultTranscription(openaitest.TranscriptionReply{Text: "What are your opening hours?", Language: "english"})
	api.SetDefaultChat(openaitest.Text("We open at nine."))
	cl, err := openai.New(openai.WithBaseURL(api.URL), openai.WithAPIKey("test"))
	if err != nil {
		t.Fatal(err)
	}
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	llm := &orderLLM{LLM: cl, tr: tr}
	rec := &recorder{}
	var mu sync.Mutex
	var finalAt time.Time
	s, err := agent.New(tr, agent.WithSTT(cl), agent.WithLLM(llm), agent.WithTTS(cl), agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithEndOfTurn(600*time.Millisecond), agent.WithMetrics(rec),
		agent.WithEventHandler(func(ev agent.Event) {
			if ev.Type == agent.EventUserFinal {
				mu.Lock()
				finalAt = time.Now()
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	tr.Play(agenttest.Speech(time.Second, 16000, 3))
	ev, final, err := tr.WaitEvent(ctx, 0, is(agent.EventUserFinal))
	if err != nil || ev.Text != "What are your opening hours?" {
		t.Fatalf("user_final %q, %v", ev.Text, err)
	}
	if ev, _, err = tr.WaitEvent(ctx, final, is(agent.EventAgentDone)); err != nil || ev.Text != "We open at nine." {
		t.Fatalf("agent_done %q, %v", ev.Text, err)
	}
	if calls := llm.called(); len(calls) != 1 || calls[0] > final {
		t.Errorf("LLM calls after events %v; user_final is event %d", calls, final)
	}
	if started, used, wasted := rec.preempted(); started != 1 || used != 1 || wasted != 0 {
		t.Errorf("started %d, used %d, wasted %d; want 1, 1, 0", started, used, wasted)
	}
	mu.Lock()
	for _, f := range tr.Frames() {
		if f.Audible && f.At.Before(finalAt) {
			t.Errorf("audio sent at %v, before the turn ended at %v", f.At, finalAt)
			break
		}
	}
	mu.Unlock()
	tr.Hangup()
	if err := <-done; err != nil && !errors.Is(err, agenttest.ErrClosed) {
		t.Fatal(err)
	}
}
