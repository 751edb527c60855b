// Package promrec records Hark sessions' measurements as Prometheus
// metrics: an agent.Recorder that is also a prometheus.Collector. Keeping it
// out of package agent means sessions do not pull the Prometheus client in
// unless a program asks for it.
//
//	rec := promrec.New()
//	prometheus.MustRegister(rec)
//	s, err := agent.New(tr, agent.WithMetrics(rec), ...)
//
// Metrics (all in the "hark" namespace):
//
//	hark_turn_stage_seconds{stage}              histogram: end of user speech to stt_final, llm_first_token, tts_first_audio, first_audio_sent
//	hark_interruption_silence_seconds{from}     histogram: onset or confirm to silence on a barge-in
//	hark_user_turns_total                       counter: replies measured
//	hark_interruptions_total{outcome}           counter: paused, cancelled, resumed
//	hark_tool_calls_total{tool,outcome}         counter: ok, error
//	hark_handoffs_total                         counter: calls handed to a human
//	hark_frustration_score                      histogram: callers' frustration per turn, 0 to 1 (agent.WithEscalation)
//	hark_provider_errors_total{stage}           counter: stt, llm, tts, transport
//	hark_preemptive_replies_total{outcome}      counter: started, used, wasted
package promrec
