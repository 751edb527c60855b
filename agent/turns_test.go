package agent_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/pipeline"
)

// TestEndOfTurnByEnding ends turns by how their words end: at the VAD's
// end of speech after complete words or a complete code, 1.5 s later after
// an unfinished phrase or a code that can grow.
func TestEndOfTurnByEnding(t *testing.T) {
	lookup := agent.Tool{
		Tool: pipeline.Tool{Name: "lookup_order", Parameters: json.RawMessage(
			`{"type":"object","properties":{"order_id":{"type":"string","pattern":"^[0-9]{4}$"}},"required":["order_id"]}`)},
		Func: func(context.Context, json.RawMessage) (string, error) { return "shipped", nil },
	}
	for _, tc := range []struct {
		text     string
		opts     []agent.Option
		min, max time.Duration // from the end of speech to user_final
	}{
		{"what are your shipping times", nil, 200 * time.Millisecond, 300 * time.Millisecond},
		{"where is my order one two three four", []agent.Option{agent.WithTools(lookup)}, 200 * time.Millisecond, 300 * time.Millisecond},
		{"where is my order one two three", []agent.Option{agent.WithTools(lookup)}, 1700 * time.Millisecond, 1800 * time.Millisecond},
		{"where is my order one two three four", nil, 1700 * time.Millisecond, 1800 * time.Millisecond},
		{"my booking is a b one two three", []agent.Option{agent.WithCodeFormats(agent.CodeFormat{Pattern: "[A-Z]{2}[0-9]{3}"})}, 200 * time.Millisecond, 300 * time.Millisecond},
		{"I'd like to order a", nil, 1700 * time.Millisecond, 1800 * time.Millisecond},
		{"my email is john at example dot com", nil, 200 * time.Millisecond, 300 * time.Millisecond},
		{"my email is john at example", nil, 1700 * time.Millisecond, 1800 * time.Millisecond},
		{"what are your shipping times", []agent.Option{agent.WithPreset(agent.PresetLanguagePractice)}, 1200 * time.Millisecond, 1300 * time.Millisecond},
	} {
		t.Run(tc.text, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, agenttest.NewSTT(tc.text), agenttest.NewLLM(agenttest.Text("Okay.")), tc.opts...)
				r.start(t.Context())
				r.speak(time.Second)
				end := time.Now().Add(time.Second)
				r.wait(0, is(agent.EventUserFinal))
				if d := time.Since(end); d < tc.min || d > tc.max {
					t.Errorf("turn ended %v after the speech, want [%v, %v]", d, tc.min, tc.max)
				}
				r.stop()
			})
		})
	}
}
