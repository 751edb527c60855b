package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/harkvoice/hark/pipeline"
)

// Escalation is the policy that watches the caller's frustration and hands
// the call to a person (WithEscalation). Zero fields take the defaults.
//
// After every user turn the session scores the caller's frustration from
// 0 to 1 (EventFrustration; the user message in the history keeps it as
// Frustration): from the voice — pitch, level and speaking rate against the
// caller's own calm turns, the first two turns setting the baseline — and
// from the words: per-language cues ("ridiculous", "ya te dije", "烦死了"),
// the same request said again, and a person asked for ("agent", "human",
// "operator", "人工"). The model adds its own judgement through the
// built-in tool report_frustration, offered to it while the policy is on.
//
// From Elevated on, the reply adapts: the model is told the caller's state
// and asked for a short, apologetic answer, and the TTS speaks at
// SlowSpeed (pipeline.SpeechRequest.Speed; engines that cannot change speed
// ignore it). When the score stays at High or above for HighTurns turns in
// a row, the model is asked to offer a person; a yes to that offer, or a
// person asked for explicitly at any time, hands the call over at once:
// the model tells the caller that Announce, in their language, and the
// session emits EventHandoff with the reason and a summary of the
// conversation (written by the model, or made from the history when the
// model fails), as a tool returning Handoff does.
type Escalation struct {
	// Elevated is the score from which replies adapt (default 0.35).
	Elevated float64
	// High is the score that counts towards offering a person (default
	// 0.6).
	High float64
	// HighTurns is how many turns in a row at High or above bring the
	// offer (default 2).
	HighTurns int
	// SlowSpeed is the speaking rate of adapted replies, 0.5 to 1 (default
	// 0.9; 1 keeps the normal rate).
	SlowSpeed float64
	// Announce is what the caller is told when handed over (default "a
	// person will take over the call"); the demo, without a person on the
	// line, says "a person will call you back shortly".
	Announce string
}

// Escalation defaults.
const (
	DefaultEscalationElevated  = 0.35
	DefaultEscalationHigh      = 0.6
	DefaultEscalationHighTurns = 2
	DefaultEscalationSlowSpeed = 0.9
	DefaultEscalationAnnounce  = "a person will take over the call"
)

// WithEscalation turns on the escalation policy (off by default, in every
// preset: it changes what the model is told and offers it a tool).
func WithEscalation(e Escalation) Option {
	return func(c *config) error {
		switch {
		case e.Elevated < 0 || e.Elevated > 1, e.High < 0 || e.High > 1:
			return fmt.Errorf("%w: escalation thresholds %v, %v not in [0, 1]", ErrOption, e.Elevated, e.High)
		case e.HighTurns < 0:
			return fmt.Errorf("%w: escalation high turns %d", ErrOption, e.HighTurns)
		case e.SlowSpeed != 0 && (e.SlowSpeed < 0.5 || e.SlowSpeed > 1):
			return fmt.Errorf("%w: escalation slow speed %v not in [0.5, 1]", ErrOption, e.SlowSpeed)
		}
		if e.Elevated == 0 {
			e.Elevated = DefaultEscalationElevated
		}
		if e.High == 0 {
			e.High = DefaultEscalationHigh
		}
		if e.HighTurns == 0 {
			e.HighTurns = DefaultEscalationHighTurns
		}
		if e.SlowSpeed == 0 {
			e.SlowSpeed = DefaultEscalationSlowSpeed
		}
		if e.Announce == "" {
			e.Announce = DefaultEscalationAnnounce
		}
		if e.Elevated > e.High {
			return fmt.Errorf("%w: escalation elevated %v above high %v", ErrOption, e.Elevated, e.High)
		}
		c.escalation = &e
		return nil
	}
}

// escalationAct is what the policy does with a turn.
type escalationAct int

const (
	escNone    escalationAct = iota // answer as usual
	escAdapt                        // a short, apologetic, slower reply
	escOffer                        // adapt, and offer a person
	escHandoff                      // hand the call over now
)

// escalationStep is the policy's decision on one user turn.
type escalationStep struct {
	score  Frustration
	act    escalationAct
	reason string // of a hand-off
}

// escalator is the escalation policy: a plain type fed the user's turns
// and the model's reports in order, with no goroutines or clock.
type escalator struct {
	cfg     Escalation
	sc      scorer
	last    float64 // the last turn's score, raised by the model's reports
	highRun int     // turns in a row at High or above
	offered int     // turns since a person was offered (0: no offer pending)
	hold    int     // turns before a declined offer may be made again
	done    bool    // the call was handed over
}

func newEscalator(cfg Escalation) *escalator {
	return &escalator{cfg: cfg, sc: scorer{elevated: cfg.Elevated}}
}

// level names the band of a score.
func (e *escalator) level(score float64) string {
	switch {
	case score >= e.cfg.High:
		return LevelHigh
	case score >= e.cfg.Elevated:
		return LevelElevated
	}
	return LevelCalm
}

// turn scores one user turn (v is nil for a typed turn) and decides.
func (e *escalator) turn(text, lang string, v *voiceTurn) escalationStep {
	s := e.sc.score(text, lang, v)
	s.Level = e.level(s.Score)
	e.last = s.Score
	step := escalationStep{score: s.Frustration}
	if e.done {
		return step
	}
	if s.Score >= e.cfg.High {
		e.highRun++
	} else {
		e.highRun = 0
	}
	consent, decline := answers(text, lang)
	switch {
	case s.person:
		step.act, step.reason = escHandoff, "the caller asked for a person"
	case e.offered > 0 && consent:
		step.act, step.reason = escHandoff, fmt.Sprintf("the caller accepted a person after %d frustrated turns", e.highRun+e.offered)
	case e.offered > 0 && decline:
		// No new offer before HighTurns more high turns, after this one.
		e.offered, e.hold, e.highRun = 0, e.cfg.HighTurns+1, 0
	case e.offered > 0:
		e.offered++
		if e.offered > 2 { // the offer went unanswered: it lapses
			e.offered = 0
		}
	}
	if step.act == escHandoff {
		e.done = true
		return step
	}
	switch {
	case e.offered == 0 && e.hold == 0 && e.highRun >= e.cfg.HighTurns:
		e.offered = 1
		step.act = escOffer
	case s.Score >= e.cfg.Elevated:
		step.act = escAdapt
	}
	if e.hold > 0 {
		e.hold--
	}
	return step
}

// report takes the model's judgement of the caller's frustration, level 0
// to 1: the last turn's score rises to it (never falls), and a report at
// High counts that turn as high.
func (e *escalator) report(level float64, reason string) Frustration {
	level = min(1, max(0, level))
	if level >= e.cfg.High && e.last < e.cfg.High {
		e.highRun++
	}
	e.last = max(e.last, level)
	return Frustration{Score: round2(e.last), Level: e.level(e.last), Cues: []string{"model"}, Reason: reason}
}

// answers reports whether text says yes or no to an offer (neither when
// it says both).
func answers(text, lang string) (consent, decline bool) {
	ew := escalationWordLists()
	y, n := ew.consent.contains(text, lang), ew.decline.contains(text, lang)
	return y && !n, n && !y
}

// note is the instruction the model gets with its request for a turn the
// policy adapts, offers or hands over on.
func (e *escalator) note(step escalationStep) string {
	f := step.score
	var b strings.Builder
	switch step.act {
	case escNone:
		return ""
	case escHandoff:
		fmt.Fprintf(&b, "The caller is being passed to a person now (%s). In one or two short sentences, apologise for the trouble and tell the caller that %s. Ask nothing else and call no tools.", step.reason, e.cfg.Announce)
		return b.String()
	}
	fmt.Fprintf(&b, "The caller sounds frustrated (frustration %.2f of 1", f.Score)
	if len(f.Cues) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(f.Cues, ", "))
	}
	b.WriteString("). Keep this reply short, one or two sentences: acknowledge the problem, apologise once, then help with what they asked.")
	if step.act == escOffer {
		b.WriteString(" Also offer to pass them to a person, and ask whether they want that.")
	}
	return b.String()
}

// reportFrustrationTool is the built-in tool through which the model
// reports its own judgement of the caller's frustration.
const reportFrustrationTool = "report_frustration"

var reportFrustrationDef = pipeline.Tool{
	Name:        reportFrustrationTool,
	Description: "Report how frustrated the caller seems to you, when it is clear from what they say (irritation, repeated complaints, sarcasm). The call is handed to a person if it stays high.",
	Parameters: json.RawMessage(`{"type":"object","properties":{` +
		`"level":{"type":"number","minimum":0,"maximum":1,"description":"0 calm, 0.5 annoyed, 1 very frustrated"},` +
		`"reason":{"type":"string","description":"what shows it, in a few words"}},` +
		`"required":["level"]}`),
}

// reportArgs are report_frustration's arguments.
type reportArgs struct {
	Level  *float64 `json:"level"`
	Reason string   `json:"reason"`
}

// parseReport reads report_frustration's arguments.
func parseReport(raw string) (reportArgs, error) {
	var a reportArgs
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, fmt.Errorf("%w: %s: %w", ErrToolArguments, raw, err)
	}
	if a.Level == nil || *a.Level < 0 || *a.Level > 1 {
		return a, fmt.Errorf("%w: %s: level must be a number from 0 to 1", ErrToolArguments, raw)
	}
	return a, nil
}

// summaryPrompt asks the model for the hand-off summary.
const summaryPrompt = "You hand a customer call over to a person. Summarise the conversation below for them in at most four short sentences: what the caller wants, what was tried or found out, what is still open, and how the caller feels. Plain text, no greeting."

// summarize asks the model for a summary of the conversation for the
// person taking over, or makes one from the history when the model fails.
func summarize(ctx context.Context, llm pipeline.LLM, msgs []pipeline.Message, reason string) string {
	transcript := transcriptOf(msgs)
	req := pipeline.Request{Messages: []pipeline.Message{
		{Role: pipeline.RoleSystem, Content: summaryPrompt},
		{Role: pipeline.RoleUser, Content: "Reason for the hand-off: " + reason + "\n\n" + transcript},
	}}
	var b strings.Builder
	for d, err := range llm.Stream(ctx, req) {
		if err != nil {
			b.Reset()
			break
		}
		b.WriteString(d.Text)
	}
	if s := strings.TrimSpace(b.String()); s != "" && ctx.Err() == nil {
		return s
	}
	return fallbackSummary(msgs, reason)
}

// transcriptOf writes the conversation as lines "Caller: ...", "Agent:
// ...", "Tool name: ...", without the system prompt.
func transcriptOf(msgs []pipeline.Message) string {
	names := map[string]string{}
	var b strings.Builder
	for _, m := range msgs {
		switch m.Role {
		case pipeline.RoleUser:
			fmt.Fprintf(&b, "Caller: %s\n", m.Content)
		case pipeline.RoleAssistant:
			for _, c := range m.ToolCalls {
				names[c.ID] = c.Name
			}
			if m.Content != "" {
				fmt.Fprintf(&b, "Agent: %s\n", m.Content)
			}
		case pipeline.RoleTool:
			fmt.Fprintf(&b, "Tool %s: %s\n", names[m.ToolCallID], m.Content)
		}
	}
	return b.String()
}

// fallbackSummary makes a summary from the history: the reason, the
// caller's last requests, the agent's last answer, and the caller's
// highest frustration.
func fallbackSummary(msgs []pipeline.Message, reason string) string {
	var said []string
	var agent string
	var peak float64
	for _, m := range msgs {
		switch {
		case m.Role == pipeline.RoleUser && m.Content != "":
			said = append(said, quote(m.Content))
			peak = max(peak, m.Frustration)
		case m.Role == pipeline.RoleAssistant && m.Content != "":
			agent = m.Content
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Handed over: %s.", reason)
	if n := len(said); n > 0 {
		fmt.Fprintf(&b, " The caller said: %s.", strings.Join(said[max(0, n-3):], "; "))
	}
	if agent != "" {
		fmt.Fprintf(&b, " The agent last said: %s.", quote(agent))
	}
	if peak > 0 {
		fmt.Fprintf(&b, " Highest frustration: %.2f of 1.", peak)
	}
	return b.String()
}

// quote puts text in quotes, cut to 160 bytes at a word.
func quote(text string) string {
	text = strings.TrimSpace(text)
	if len(text) > 160 {
		cut := strings.LastIndexByte(text[:160], ' ')
		if cut < 80 {
			cut = 160
		}
		text = strings.ToValidUTF8(text[:cut], "") + "…"
	}
	return `"` + text + `"`
}

// escalate scores a user turn for the escalation policy and reports the
// score; the zero step when the policy is off.
func (l *loop) escalate(text, lang string, v *voiceTurn) escalationStep {
	if l.esc == nil {
		return escalationStep{}
	}
	step := l.esc.turn(text, lang, v)
	f := step.score
	l.cfg.metrics.observeFrustration(f)
	l.emit(Event{Type: EventFrustration, Frustration: &f})
	l.cfg.log.Debug("frustration", "score", f.Score, "cues", f.Cues, "act", step.act)
	return step
}
