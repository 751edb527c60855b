package promrec_test

import (
	"fmt"
	"log"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/promrec"
)

// Register one recorder and hand it to every session with
// agent.WithMetrics (agent.New(tr, agent.WithMetrics(rec), ...)); serve the
// registry with promhttp.HandlerFor. Here the recorder is fed directly.
func Example() {
	rec := promrec.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(rec)

	rec.Turn(agent.TurnMetrics{STTFinal: 150 * time.Millisecond, FirstAudioSent: 600 * time.Millisecond})
	rec.Interruption(agent.OutcomePaused, &agent.Interruption{OnsetToSilence: 85 * time.Millisecond})

	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		fmt.Println(mf.GetName(), len(mf.GetMetric()))
	}
	// Output:
	// hark_frustration_score 1
	// hark_handoffs_total 1
	// hark_interruption_silence_seconds 2
	// hark_interruptions_total 1
	// hark_turn_stage_seconds 2
	// hark_user_turns_total 1
}
