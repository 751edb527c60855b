package offline_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

// orderReply is what the dialogue engine says about demo order 1234.
const orderReply = "Your order 1 2 3 4, the running shoes, shipped on Tuesday with UPS and should arrive on Friday."

// call is one offline session on an in-memory transport, in real time.
type call struct {
	t    *testing.T
	tr   *agenttest.Transport
	s    *agent.Session
	done chan error
	ctx  context.Context
}

func startCall(t *testing.T, eng *offline.Engines, opts ...agent.Option) *call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := &call{t: t, tr: agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k), done: make(chan error, 1), ctx: ctx}
	opts = append(append(eng.SessionOptions(), agent.WithSystemPrompt("You are the support line of an online shoe shop.")), opts...)
	s, err := agent.New(c.tr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c.s = s
	go func() { c.done <- s.Run(ctx) }()
	return c
}

// say plays a speech clip into the microphone after a short silence.
func (c *call) say(clip string) {
	c.t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + clip)
	if err != nil {
		c.t.Fatal(err)
	}
	if fr.Format != pcm.Mono16k {
		c.t.Fatalf("%s: %s", clip, fr.Format)
	}
	c.tr.Play(append(make([]int16, 16000*3/10), fr.Samples...))
}

func (c *call) wait(from int, what string, match func(agent.Event) bool) (agent.Event, int) {
	c.t.Helper()
	ev, i, err := c.tr.WaitEvent(c.ctx, from, match)
	if err != nil {
		c.t.Fatalf("no %s event: %v\nevents: %+v", what, err, c.tr.Events())
	}
	return ev, i
}

func (c *call) hangup() {
	c.t.Helper()
	c.tr.Hangup()
	if err := <-c.done; err != nil {
		c.t.Fatalf("Run: %v", err)
	}
}

func is(t agent.EventType) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Type == t }
}

func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// engines are the offline engines shared by the tests (loading the
// recogniser takes a second); TestMain closes them.
var (
	engines     *offline.Engines
	enginesOnce sync.Once
	enginesErr  error
)

func newEngines(t *testing.T) *offline.Engines {
	t.Helper()
	enginesOnce.Do(func() { engines, enginesErr = offline.New() })
	if enginesErr != nil {
		t.Fatal(enginesErr)
	}
	return engines
}

// TestOfflineTurn runs a whole turn with real engines: flite speech in,
// pocketsphinx, the dialogue engine, the lookup_order tool, flite speech
// out.
func TestOfflineTurn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, real time")
	}
	c := startCall(t, newEngines(t))
	c.say("order_slt.wav")

	ev, i := c.wait(0, "user_final", is(agent.EventUserFinal))
	if ev.Text != "where is my order one two three four" {
		t.Errorf("heard %q", ev.Text)
	}
	ev, i = c.wait(i, "tool_call", is(agent.EventToolCall))
	if ev.Tool.Name != "lookup_order" || ev.Tool.Arguments != `{"order_id":"1234"}` || !strings.Contains(ev.Tool.Result, `"status":"shipped"`) {
		t.Errorf("tool call %+v", ev.Tool)
	}
	ev, _ = c.wait(i, "agent_done", is(agent.EventAgentDone))
	if words(ev.Text) != orderReply {
		t.Errorf("reply %q, want %q", ev.Text, orderReply)
	}
	for _, ev := range c.tr.Events() {
		switch ev.Type {
		case agent.EventUserPartial:
			t.Logf("partial: %q", ev.Text)
		case agent.EventMetrics:
			t.Logf("from end of speech: STT final %v, dialogue %v, TTS first audio %v, first audio sent %v",
				ev.Metrics.STTFinal, ev.Metrics.LLMFirstToken, ev.Metrics.TTSFirstAudio, ev.Metrics.FirstAudioSent)
		}
	}
	var audible time.Duration
	for _, o := range c.tr.Frames() {
		if o.Audible {
			audible += o.Frame.Duration()
		}
	}
	// Flite takes about five seconds to say the reply.
	if audible < 4*time.Second || audible > 9*time.Second {
		t.Errorf("%v of audible reply", audible)
	}
	c.hangup()

	h := c.s.History()
	last := h[len(h)-1]
	if last.Role != pipeline.RoleAssistant || words(last.Content) != orderReply || last.Interrupted {
		t.Errorf("history ends with %+v", last)
	}
}

// TestOfflineBargeIn talks over the reply: playout stops, the history keeps
// only what was heard, and the new utterance gets its own answer.
func TestOfflineBargeIn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, real time")
	}
	c := startCall(t, newEngines(t))
	c.say("order_rms.wav")

	_, i := c.wait(0, "agent_text", is(agent.EventAgentText))
	time.Sleep(1500 * time.Millisecond)
	c.say("wait_rms.wav")
	ev, i := c.wait(i, "cancelling interruption", func(ev agent.Event) bool {
		return ev.Type == agent.EventInterruption && ev.Interruption.Cancelled
	})
	heard := words(ev.Interruption.Heard)
	t.Logf("heard before the barge-in: %q (onset to silence %v)", heard, ev.Interruption.OnsetToSilence)
	if heard == "" || heard == orderReply || !strings.HasPrefix(orderReply, strings.TrimSuffix(heard, "...")) && !strings.HasPrefix(orderReply, heard) {
		t.Errorf("heard %q: want a proper prefix of %q", heard, orderReply)
	}
	ev, i = c.wait(i, "user_final", is(agent.EventUserFinal))
	if ev.Text != "wait what does that mean" {
		t.Errorf("second utterance heard as %q", ev.Text)
	}
	// "What does that mean?" asks the dialogue engine to repeat itself: it
	// says the whole reply again, not just the part heard.
	ev, _ = c.wait(i, "agent_done", is(agent.EventAgentDone))
	if words(ev.Text) != orderReply {
		t.Errorf("answer to the barge-in: %q, want %q", ev.Text, orderReply)
	}
	c.hangup()

	var cut *pipeline.Message
	for _, m := range c.s.History() {
		if m.Role == pipeline.RoleAssistant && m.Interrupted {
			cut = &m
		}
	}
	if cut == nil {
		t.Fatalf("no interrupted assistant message in %+v", c.s.History())
	}
	if words(cut.Content) == orderReply {
		t.Errorf("interrupted message keeps the whole reply")
	}
}

// TestOfflineStop says "stop" over the reply: the reply is cancelled and
// "stop" is not answered.
func TestOfflineStop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, real time")
	}
	c := startCall(t, newEngines(t))
	c.say("order_slt.wav")
	_, i := c.wait(0, "agent_text", is(agent.EventAgentText))
	time.Sleep(time.Second)
	c.say("stop_slt.wav")
	ev, i := c.wait(i, "user_final", is(agent.EventUserFinal))
	if ev.Text != "stop" {
		t.Errorf("heard %q, want \"stop\"", ev.Text)
	}
	c.hangup()
	cancelled := false
	for _, ev := range c.tr.Events()[:i] {
		cancelled = cancelled || ev.Type == agent.EventInterruption && ev.Interruption.Cancelled
	}
	if !cancelled {
		t.Error("the reply was not cancelled")
	}
	h := c.s.History()
	if n := len(h); n < 2 || h[n-1].Role != pipeline.RoleUser || h[n-1].Content != "stop" || !h[n-2].Interrupted {
		t.Errorf("history ends with %+v; want the cut reply, then the user's \"stop\"", h[max(0, n-2):])
	}
}
