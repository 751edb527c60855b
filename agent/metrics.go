package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics is a Prometheus collector shared by sessions: per-stage turn
// latencies, interruption timings and counts of turns, interruptions,
// resumed false interruptions, tool calls, handoffs and provider errors.
// Register it once (prometheus.MustRegister(m)) and pass it to every
// session with WithMetrics.
type Metrics struct {
	stage         *prometheus.HistogramVec
	bargeIn       *prometheus.HistogramVec
	turns         prometheus.Counter
	interruptions *prometheus.CounterVec
	tools         *prometheus.CounterVec
	handoffs      prometheus.Counter
	errors        *prometheus.CounterVec
}

// NewMetrics returns an unregistered collector.
func NewMetrics() *Metrics {
	latency := []float64{.01, .025, .05, .1, .15, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10}
	return &Metrics{
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
		turns: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hark", Name: "user_turns_total", Help: "User turns committed.",
		}),
		interruptions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "interruptions_total",
			Help: "Barge-ins by outcome: cancelled (the reply stopped) or resumed (a false interruption).",
		}, []string{"outcome"}),
		tools: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "tool_calls_total", Help: "Tool calls by tool and outcome (ok, error).",
		}, []string{"tool", "outcome"}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "hark", Name: "handoffs_total", Help: "Calls handed to a human.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hark", Name: "provider_errors_total", Help: "Provider failures by stage.",
		}, []string{"stage"}),
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.stage, m.bargeIn, m.turns, m.interruptions, m.tools, m.handoffs, m.errors}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) observeTurn(tm TurnMetrics) {
	if m == nil {
		return
	}
	m.turns.Inc()
	for _, st := range []struct {
		name string
		d    time.Duration
	}{
		{"stt_final", tm.STTFinal}, {"llm_first_token", tm.LLMFirstToken},
		{"tts_first_audio", tm.TTSFirstAudio}, {"first_audio_sent", tm.FirstAudioSent},
	} {
		if st.d > 0 {
			m.stage.WithLabelValues(st.name).Observe(st.d.Seconds())
		}
	}
}

func (m *Metrics) observeInterruption(in *Interruption, outcome string) {
	if m == nil {
		return
	}
	m.interruptions.WithLabelValues(outcome).Inc()
	if in != nil && outcome == "paused" {
		m.bargeIn.WithLabelValues("onset").Observe(in.OnsetToSilence.Seconds())
		m.bargeIn.WithLabelValues("confirm").Observe(in.ConfirmToSilence.Seconds())
	}
}

func (m *Metrics) observeTool(name string, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.tools.WithLabelValues(name, outcome).Inc()
}

func (m *Metrics) observeHandoff() {
	if m != nil {
		m.handoffs.Inc()
	}
}

func (m *Metrics) observeError(stage string) {
	if m != nil {
		m.errors.WithLabelValues(stage).Inc()
	}
}
