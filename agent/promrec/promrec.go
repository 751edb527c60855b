package promrec

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/harkvoice/hark/agent"
)

// Recorder is a Prometheus collector shared by sessions. Register it once
// and pass it to every session with agent.WithMetrics.
type Recorder struct {
	stage         *prometheus.HistogramVec
	bargeIn       *prometheus.HistogramVec
	turns         prometheus.Counter
	erle          *prometheus.HistogramVec
	interruptions *prometheus.CounterVec
	tools         *prometheus.CounterVec
	handoffs      prometheus.Counter
	frustration   prometheus.Histogram
	errors        *prometheus.CounterVec
	preemptions   *prometheus.CounterVec
}

var (
	_ agent.Recorder            = (*Recorder)(nil)
	_ prometheus.Collector      = (*Recorder)(nil)
	_ agent.FrustrationRecorder = (*Recorder)(nil)
)

// New returns an unregistered recorder.
func New() *Recorder {
	latency := []float64{.01, .025, .05, .1, .15, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10}
	return &Recorder{
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hark", Name: "turn_stage_seconds",
			Help:    "Time from the end of user speech to each stage of the reply (stt_final, llm_first_token, tts_first_audio, first_audio_sent).",
			Buckets: latency,
		}, []string{"stage"}),
		bargeIn: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hark", Name: "interruption_silence_seconds",
			Help:    "Time to silence the agent after the user talked over it, from speech onset or from the VAD's confirmation.",
			Buckets: []float64{.005, .01, .02, .04, .06, .08, .1, .12, .15, .2, .3, .5},
		}, []string{"from"}),
		erle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hark", Name: "echo_erle_db",
			Help:    "The echo canceller's echo return loss enhancement per reply, after its adaptive filter and after its suppressor.",
			Buckets: []float64{3, 6, 10, 15, 20, 25, 30, 35, 40, 50},
		}, []string{"stage"}),
		turns: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hark", Name: "user_turns_total", Help: "User turns committed.",
		}),
		interruptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "interruptions_total",
			Help: "Barge-ins by outcome: paused (playout went silent), then cancelled (the reply stopped) or resumed (a false interruption).",
		}, []string{"outcome"}),
		tools: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "tool_calls_total", Help: "Tool calls by tool and outcome (ok, error).",
		}, []string{"tool", "outcome"}),
		frustration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "hark", Name: "frustration_score", Help: "Callers' frustration per user turn and model report, 0 (calm) to 1 (agent.WithEscalation).",
			Buckets: prometheus.LinearBuckets(0.1, 0.1, 10),
		}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hark", Name: "handoffs_total", Help: "Calls handed to a human.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "provider_errors_total", Help: "Provider failures by stage.",
		}, []string{"stage"}),
		preemptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "preemptive_replies_total",
			Help: "Replies prepared while the end of the user's turn was awaited, by outcome: started, then used (it answered the turn) or wasted (dropped unheard).",
		}, []string{"outcome"}),
	}
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.stage, r.bargeIn, r.erle, r.turns, r.interruptions, r.tools, r.handoffs, r.frustration, r.errors, r.preemptions}
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range r.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	for _, c := range r.collectors() {
		c.Collect(ch)
	}
}

// Turn counts a turn and observes its stages that happened, and the echo
// canceller's ERLE when it measured one (a reply the agent began on its
// own, with no user turn, reports only that).
func (r *Recorder) Turn(tm agent.TurnMetrics) {
	if tm.EchoERLE != 0 {
		r.erle.WithLabelValues("filter").Observe(tm.EchoERLE)
		r.erle.WithLabelValues("suppressor").Observe(tm.EchoERLESuppressed)
	}
	if tm.EchoERLE != 0 && tm.STTFinal == 0 && tm.LLMFirstToken == 0 && tm.TTSFirstAudio == 0 && tm.FirstAudioSent == 0 {
		return // the ERLE of a reply with no user turn
	}
	r.turns.Inc()
	for _, st := range []struct {
		name string
		d    time.Duration
	}{
		{"stt_final", tm.STTFinal}, {"llm_first_token", tm.LLMFirstToken},
		{"tts_first_audio", tm.TTSFirstAudio}, {"first_audio_sent", tm.FirstAudioSent},
	} {
		if st.d > 0 {
			r.stage.WithLabelValues(st.name).Observe(st.d.Seconds())
		}
	}
}

// Interruption counts a barge-in outcome and, when the reply paused,
// observes its times to silence.
func (r *Recorder) Interruption(outcome string, in *agent.Interruption) {
	r.interruptions.WithLabelValues(outcome).Inc()
	if in != nil && outcome == agent.OutcomePaused {
		r.bargeIn.WithLabelValues("onset").Observe(in.OnsetToSilence.Seconds())
		r.bargeIn.WithLabelValues("confirm").Observe(in.ConfirmToSilence.Seconds())
	}
}

// ToolCall counts a tool call by name and outcome.
func (r *Recorder) ToolCall(name string, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	r.tools.WithLabelValues(name, outcome).Inc()
}

// Handoff counts a hand-off to a human.
func (r *Recorder) Handoff() { r.handoffs.Inc() }

// Preemption counts a preemptive reply's outcome.
func (r *Recorder) Preemption(outcome string) { r.preemptions.WithLabelValues(outcome).Inc() }

// Frustration records a frustration score (agent.FrustrationRecorder).
func (r *Recorder) Frustration(f agent.Frustration) { r.frustration.Observe(f.Score) }

// ProviderError counts a failure at a stage.
func (r *Recorder) ProviderError(stage string) { r.errors.WithLabelValues(stage).Inc() }
