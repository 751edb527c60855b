package livekit

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/livekit/livekittest"
)

// TestLiveKitConversation: a worker registers with a real livekit-server; a
// caller made with LiveKit's Go SDK joins a room whose token dispatches the
// agent, asks a question in flite speech, hears the reply through the SFU,
// and says "stop" over it. The agent's audio stops; the interruption, the
// transcripts and the agent state arrive as LiveKit clients expect them;
// the call ends when the caller leaves, and the worker drains.
func TestLiveKitConversation(t *testing.T) {
	needServer(t)
	srv := startServer(t, 7880)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	w, err := NewWorker(srv.URL, livekittest.APIKey, livekittest.APISecret, scriptedSessions(newVAD(t)),
		WithAgentName(agentName), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-w.Ready():
	case err := <-ran:
		t.Fatalf("worker did not register: %v", err)
	}

	tok, err := livekittest.Token("call-1", "caller", agentName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := livekittest.Join(ctx, srv.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			c.Close()
		}
	}()
	if err := c.Wait(ctx, 20*time.Second, func() bool { return slices.Contains(c.States(), "listening") }); err != nil {
		t.Fatalf("agent never listening: %v (states %v)", err, c.States())
	}

	c.Say(speech(t, "order_slt.wav", 300*time.Millisecond))
	final, err := c.WaitEvent(ctx, 20*time.Second, 0, func(ev transport.Event) bool { return ev.Type == transport.EventUserFinal })
	if err != nil {
		t.Fatalf("no user_final: %v", err)
	}
	if final.Text != question {
		t.Fatalf("user_final %q", final.Text)
	}
	if _, err := c.WaitEvent(ctx, 10*time.Second, 0, func(ev transport.Event) bool { return ev.Type == transport.EventAgentText }); err != nil {
		t.Fatalf("no agent_text: %v", err)
	}
	// Hear a second of the reply, then talk over it.
	if err := c.Wait(ctx, 15*time.Second, func() bool {
		n := 0
		for _, h := range c.Heard() {
			if h.Loud() {
				n++
			}
		}
		return n >= 50
	}); err != nil {
		t.Fatalf("reply not heard: %v", err)
	}
	stop := speech(t, "stop_slt.wav", 0)
	n := len(c.Events())
	saidAt := c.Say(stop)
	paused, err := c.WaitEvent(ctx, 10*time.Second, n, func(ev transport.Event) bool {
		return ev.Type == transport.EventInterruption && ev.Interruption != nil
	})
	if err != nil {
		t.Fatalf("no interruption: %v", err)
	}
	cancelled, err := c.WaitEvent(ctx, 10*time.Second, n, func(ev transport.Event) bool {
		return ev.Type == transport.EventInterruption && ev.Interruption != nil && ev.Interruption.Cancelled
	})
	if err != nil {
		t.Fatalf("reply not cancelled: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // late audio would arrive by now

	var lastLoud time.Time
	for _, h := range c.Heard() {
		if h.Loud() {
			lastLoud = h.At
		}
	}
	if late := lastLoud.Sub(paused.At); late > 250*time.Millisecond {
		t.Errorf("agent audio still arrived %v after the interruption event", late)
	}
	speechAt := saidAt.Add(onset(stop))
	t.Logf("through the SFU: onset->silence %v (last loud agent frame after the onset of \"stop\"); session reports onset->silence %v, confirm->silence %v",
		lastLoud.Sub(speechAt).Round(time.Millisecond), paused.Interruption.OnsetToSilence, paused.Interruption.ConfirmToSilence)

	heard := cancelled.Interruption.Heard
	if heard == "" || len(heard) >= len(reply) || !wordPrefix(reply, heard) {
		t.Errorf("heard %q is not a strict prefix of the reply", heard)
	}

	// LiveKit's conventions: transcripts of both sides, the final agent
	// text being what was heard, and the agent's states.
	if err := c.Wait(ctx, 5*time.Second, func() bool {
		var user, agent bool
		for _, tr := range c.Transcripts() {
			user = user || tr.Final && tr.Text == question && strings.HasPrefix(tr.Segment, "user-")
			agent = agent || tr.Final && tr.Text == heard && strings.HasPrefix(tr.Segment, "agent-")
		}
		return user && agent
	}); err != nil {
		t.Errorf("transcripts %+v: want the final question and the heard reply", c.Transcripts())
	}
	for _, tr := range c.Transcripts() {
		if tr.Track == "" {
			t.Errorf("transcript %+v names no track", tr)
		}
	}
	for _, s := range []string{"initializing", "listening", "thinking", "speaking"} {
		if !slices.Contains(c.States(), s) {
			t.Errorf("agent states %v lack %q", c.States(), s)
		}
	}

	// The caller leaves: the job ends and the worker has no call.
	c.Close()
	closed = true
	deadline := time.Now().Add(15 * time.Second)
	for w.Jobs() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := w.Jobs(); n != 0 {
		t.Errorf("worker still runs %d jobs after the caller left", n)
	}
}

// wordPrefix reports whether the words of prefix begin text (punctuation and
// case aside; the last word may be cut).
func wordPrefix(text, prefix string) bool {
	norm := func(s string) []string {
		return strings.Fields(strings.Map(func(r rune) rune {
			if strings.ContainsRune(".,?!", r) {
				return -1
			}
			return r
		}, strings.ToLower(s)))
	}
	tw, pw := norm(text), norm(prefix)
	if len(pw) == 0 || len(pw) > len(tw) {
		return false
	}
	for i, w := range pw {
		if w != tw[i] && !(i == len(pw)-1 && strings.HasPrefix(tw[i], w)) {
			return false
		}
	}
	return true
}
