package offline_test

import (
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
)

// preemptions counts preemptive replies by outcome; the rest of the
// agent.Recorder is ignored.
type preemptions struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *preemptions) Preemption(outcome string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int{}
	}
	p.n[outcome]++
}

func (p *preemptions) count(outcome string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[outcome]
}

func (*preemptions) Turn(agent.TurnMetrics)                   {}
func (*preemptions) Interruption(string, *agent.Interruption) {}
func (*preemptions) ToolCall(string, error)                   {}
func (*preemptions) Handoff()                                 {}
func (*preemptions) ProviderError(string)                     {}

// TestOfflinePreemptiveReply: with the real engines, the reply is prepared
// on the recogniser's words while its final search runs, and nothing of it
// plays before the turn ends.
func TestOfflinePreemptiveReply(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end, real time")
	}
	rec := &preemptions{}
	var mu sync.Mutex
	var finalAt time.Time
	c := startCall(t, newEngines(t), agent.WithMetrics(rec), agent.WithEventHandler(func(ev agent.Event) {
		if ev.Type == agent.EventUserFinal {
			mu.Lock()
			finalAt = time.Now()
			mu.Unlock()
		}
	}))
	c.say("shipping_awb.wav")
	_, i := c.wait(0, "user_final", is(agent.EventUserFinal))
	c.wait(i, "agent_done", is(agent.EventAgentDone))
	c.hangup()
	started, used, wasted := rec.count(agent.PreemptStarted), rec.count(agent.PreemptUsed), rec.count(agent.PreemptWasted)
	t.Logf("preemptive replies: %d started, %d used, %d wasted", started, used, wasted)
	if started == 0 || used+wasted != started {
		t.Errorf("preemptive replies: %d started, %d used, %d wasted", started, used, wasted)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, f := range c.tr.Frames() {
		if f.Audible && f.At.Before(finalAt) {
			t.Fatalf("audio sent at %v, before the turn ended at %v", f.At, finalAt)
		}
	}
}
