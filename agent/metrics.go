package agent

// Recorder receives a session's measurements as they happen, for metrics
// systems: package agent/promrec records them as Prometheus metrics. One
// Recorder may serve many sessions at once, so it must be safe for
// concurrent use; it is called on the session loop and must return quickly.
type Recorder interface {
	// Turn records one reply's stage latencies.
	Turn(TurnMetrics)
	// Interruption records a barge-in outcome: OutcomePaused (playout went
	// silent; in holds the timings), OutcomeCancelled or OutcomeResumed (in
	// is nil for both).
	Interruption(outcome string, in *Interruption)
	// ToolCall records a tool call; err is its failure, or nil.
	ToolCall(name string, err error)
	// Handoff records a tool handing the call to a human.
	Handoff()
	// Preemption records a preemptive reply (one prepared while the end
	// of the user's turn was awaited): PreemptStarted when it begins, then
	// PreemptUsed when it answered the turn or PreemptWasted when it was
	// dropped unheard.
	Preemption(outcome string)
	// ProviderError records a failure at a stage ("stt", "llm", "tts",
	// "transport"); the session goes on.
	ProviderError(stage string)
}

// Interruption outcomes passed to Recorder.Interruption.
const (
	OutcomePaused    = "paused"    // the user talked over the reply; playout went silent
	OutcomeCancelled = "cancelled" // the reply stopped for good
	OutcomeResumed   = "resumed"   // a false interruption: the paused reply played on
)

// recorder calls its Recorder when one is set.
type recorder struct{ r Recorder }

func (m recorder) observeTurn(tm TurnMetrics) {
	if m.r != nil {
		m.r.Turn(tm)
	}
}

func (m recorder) observeInterruption(in *Interruption, outcome string) {
	if m.r != nil {
		m.r.Interruption(outcome, in)
	}
}

func (m recorder) observeTool(name string, err error) {
	if m.r != nil {
		m.r.ToolCall(name, err)
	}
}

func (m recorder) observeHandoff() {
	if m.r != nil {
		m.r.Handoff()
	}
}

// FrustrationRecorder is a Recorder that also records the escalation
// policy's frustration scores (WithEscalation); sessions use it when their
// Recorder has the method.
type FrustrationRecorder interface {
	// Frustration records a user turn's score, or the model's report.
	Frustration(Frustration)
}

func (m recorder) observeFrustration(f Frustration) {
	if r, ok := m.r.(FrustrationRecorder); ok {
		r.Frustration(f)
	}
}

func (m recorder) observeError(stage string) {
	if m.r != nil {
		m.r.ProviderError(stage)
	}
}

func (m recorder) observePreemption(outcome string) {
	if m.r != nil {
		m.r.Preemption(outcome)
	}
}
