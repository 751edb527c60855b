package promrec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/promrec"
)

func TestRecorder(t *testing.T) {
	r := promrec.New()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(r); err != nil {
		t.Fatal(err)
	}
	r.Turn(agent.TurnMetrics{STTFinal: 120 * time.Millisecond, LLMFirstToken: 400 * time.Millisecond})
	r.Turn(agent.TurnMetrics{})
	r.Interruption(agent.OutcomePaused, &agent.Interruption{OnsetToSilence: 90 * time.Millisecond, ConfirmToSilence: 8 * time.Millisecond})
	r.Interruption(agent.OutcomeResumed, nil)
	r.Interruption(agent.OutcomeCancelled, nil)
	r.ToolCall("lookup_order", nil)
	r.ToolCall("lookup_order", errors.New("no such order"))
	r.Handoff()
	r.Frustration(agent.Frustration{Score: 0.7})
	r.ProviderError("tts")
	r.Preemption(agent.PreemptStarted)
	r.Preemption(agent.PreemptStarted)
	r.Preemption(agent.PreemptUsed)
	r.Preemption(agent.PreemptWasted)

	// The names, labels and help texts are what dashboards use: they must
	// not change.
	want := `
# HELP hark_handoffs_total Calls handed to a human.
# TYPE hark_handoffs_total counter
hark_handoffs_total 1
# HELP hark_interruptions_total Barge-ins by outcome: paused (playout went silent), then cancelled (the reply stopped) or resumed (a false interruption).
# TYPE hark_interruptions_total counter
hark_interruptions_total{outcome="cancelled"} 1
hark_interruptions_total{outcome="paused"} 1
hark_interruptions_total{outcome="resumed"} 1
# HELP hark_preemptive_replies_total Replies prepared while the end of the user's turn was awaited, by outcome: started, then used (it answered the turn) or wasted (dropped unheard).
# TYPE hark_preemptive_replies_total counter
hark_preemptive_replies_total{outcome="started"} 2
hark_preemptive_replies_total{outcome="used"} 1
hark_preemptive_replies_total{outcome="wasted"} 1
# HELP hark_provider_errors_total Provider failures by stage.
# TYPE hark_provider_errors_total counter
hark_provider_errors_total{stage="tts"} 1
# HELP hark_tool_calls_total Tool calls by tool and outcome (ok, error).
# TYPE hark_tool_calls_total counter
hark_tool_calls_total{outcome="error",tool="lookup_order"} 1
hark_tool_calls_total{outcome="ok",tool="lookup_order"} 1
# HELP hark_user_turns_total User turns committed.
# TYPE hark_user_turns_total counter
hark_user_turns_total 2
`
	names := []string{"hark_handoffs_total", "hark_interruptions_total", "hark_preemptive_replies_total", "hark_provider_errors_total", "hark_tool_calls_total", "hark_user_turns_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// Histograms: only the stages that happened, and both silence times.
	if n := testutil.CollectAndCount(r, "hark_turn_stage_seconds"); n != 2 {
		t.Errorf("hark_turn_stage_seconds has %d series, want 2 (stt_final, llm_first_token)", n)
	}
	if n := testutil.CollectAndCount(r, "hark_frustration_score"); n != 1 {
		t.Errorf("hark_frustration_score has %d series, want 1", n)
	}
	if n := testutil.CollectAndCount(r, "hark_interruption_silence_seconds"); n != 2 {
		t.Errorf("hark_interruption_silence_seconds has %d series, want 2 (onset, confirm)", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil && len(m.GetLabel()) > 0 {
				sums[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = h.GetSampleSum()
			}
		}
	}
	for key, want := range map[string]float64{
		"hark_turn_stage_seconds/stt_final":         0.12,
		"hark_turn_stage_seconds/llm_first_token":   0.4,
		"hark_interruption_silence_seconds/onset":   0.09,
		"hark_interruption_silence_seconds/confirm": 0.008,
	} {
		if got := sums[key]; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("%s sum = %v, want %v", key, got, want)
		}
	}
}
