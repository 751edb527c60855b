package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/harkvoice/hark/pipeline"
)

// The interrupt state machine decides what the user's voice does to the
// agent's reply. It is a plain value: the session loop feeds it inputs
// (the reply starting, playing and ending, the VAD's speech start and end,
// the words recognised, a timer firing) and carries out the actions it
// returns (pause, flush, cancel, cut the history, resume, emit, arm the
// timer, start the user's turn). It has no goroutine, clock or I/O of its
// own, so every decision can be tested by feeding it inputs.
//
// Reading order, as the interrupt path runs:
//
//  1. A reply starts (replyStarted): the machine is replying. An
//     uninterruptible reply or chunk (a disclaimer) is guarded.
//  2. The VAD confirms speech while replying (speechStarted): the reply is
//     paused at once and the transport flushed, so playout is silent from
//     the next 20 ms frame; the interruption is reported. In
//     CancelImmediately mode the reply is cancelled right away. Faint
//     speech (another voice in the room, or the agent's own echo under its
//     ceiling, see levelGate) does not pause it: the reply plays on, the
//     speech's turn is dropped, and only its voice reaching the user's
//     level (voiceLoud) pauses the reply.
//     2a. A window earlier, the VAD's first window of a possible start
//     (speechPending) already holds the reply silent, unless that window
//     is faint (another voice in the room, see levelGate) or too short to
//     be a voice (a knock, a click); nothing is reported yet. The
//     confirmation takes the hold over as the pause of step 2; a false
//     start (speechDropped: a cough, the first window of an echo before
//     the echo guard catches it) lets the reply play on at once, having
//     lost one window of silence.
//  3. While paused, the words decide (wordsHeard, turnEnded): a stop word
//     or enough words cancel the reply, interim words as soon as they are
//     heard (enough of them must hold from one partial result to the next);
//     a finished utterance of backchannels or too few words resumes it
//     where it paused, and so do interim words that are only backchannels
//     once the speech has ended.
//     3b. The VAD confirms the end of speech only after its minimum silence;
//     its first silent window comes much sooner (voiceStopped). Words that
//     are only backchannels then resume the reply at once, tentatively:
//     the voice coming back (voiceReturned) for longer than backchannelTail
//     (the rest of "o-kay"), or the words growing into more than
//     backchannels pause it again, and when the VAD confirms the end,
//     the backchannel's speech is dropped once its final words are in and
//     do not interrupt (settling: a first guess in noise can be light
//     while the words are a stop, which then cancels the reply, late).
//     3b'. Speech that goes on past confirmingSpeech, its voice not
//     stopped, is no backchannel: fewer stable words cancel it then.
//     3c. The sound of the speech may settle it sooner (soundJudged): a
//     laugh, a hum or a sigh (see prosody.Judge) resumes the reply at once,
//     tentatively, and its words (a recogniser's guess at a laugh) do not
//     cancel it; once the sound turns out to carry words after all, the
//     reply pauses again and the words decide.
//     3d. A false interruption's words are not forgotten at once: a
//     person who stops mid-phrase ("front ... left", "wait ... what was
//     that") is judged on the whole phrase. Words that carry meaning but
//     were too few are carried to speech that follows within followOnGap,
//     whose words count with them.
//  4. The timer bounds the wait (timerFired): speech that lasts LongSpeech
//     cancels; speech that ended with no deciding words by Window resumes,
//     after waiting up to maxRecognitionWait more for words still being
//     recognised.
//  5. Cancelling moves to a new generation (the reply's LLM, TTS and tools
//     stop), flushes what the pause had not, and cuts the history to the
//     words the user heard. The interrupting speech becomes the next user
//     turn.
//  6. A user turn that ends while a guarded chunk plays is held and taken
//     up when the guard lifts or the reply ends.
//
// Extending it: every future signal is one more input type handled in
// step, reusing pause, resume and cancel. An echo canceller's or a level
// check's verdict on the current speech is an input that resumes from
// paused (echo) or lets the pause stand.
type interrupter struct {
	policy interruptPolicy

	phase    interruptPhase
	guarded  bool // the reply's current chunk is uninterruptible
	speaking bool // the VAD hears the user
	// quiet: inside the user's speech, the voice has stopped (the VAD has
	// not confirmed the end yet); faded: its level has fallen silent, the
	// VAD not yet.
	quiet, faded bool
	// tentative: the reply resumed on backchannel words before the VAD
	// confirmed the end of their speech.
	tentative bool
	// settling: the speech of a tentative resumption on words has ended
	// and its turn is kept until its final words: a recogniser's first
	// guess ("ah") can be light while the words are a stop, heard late in
	// noise. Real final words cancel the reply then; anything else drops
	// the turn.
	settling bool
	// early: the reply is held silent on a possible start of speech the
	// VAD has not confirmed (speechPending); always in phaseReplying.
	early bool
	// faint: the speech the VAD hears (or last heard) is far below the
	// user's level. It never cancels a reply: the reply plays on over it,
	// or, when it follows the user's speech in a pause, resumes once it
	// has ended or after faintHold.
	faint bool
	// nonLexical: the speech the VAD hears is a laugh, a hum or a sigh, not
	// words (the judge's latest verdict on it).
	nonLexical bool
	// prev is the previous partial result of the interrupting speech,
	// normalized: words that hold from one partial to the next are stable.
	prev string
	// While paused: the time since the interrupting speech began, as of
	// the last timer firing or the pause, the deadline the timer is armed
	// for, and the words heard of that speech so far.
	elapsed  time.Duration
	deadline time.Duration
	words    wordsHeard
	// held is a user turn that ended while a guarded chunk played.
	held *userWords
	// carry holds the words of the last false interruption, when they
	// carried meaning, until speech follows within followOnGap (their
	// words count together) or the chance has passed. When the words
	// together cancel the reply, carry waits for the turn's end, whose
	// words it begins.
	carry string
}

// interruptPolicy is what the machine needs of the session's
// configuration.
type interruptPolicy struct {
	InterruptionPolicy
	stopWords, backchannels phraseSet
}

// interruptPhase is where the machine is.
type interruptPhase uint8

const (
	// phaseIdle: no reply; speech is simply the user's turn.
	phaseIdle interruptPhase = iota
	// phaseReplying: a reply is thinking or speaking; confirmed speech
	// pauses it unless it is guarded.
	phaseReplying
	// phasePaused: the user talked over the reply; it is silent and the
	// words of that speech (or the timer) decide its fate.
	phasePaused
)

func (p interruptPhase) String() string {
	return [...]string{"idle", "replying", "paused"}[p]
}

// maxRecognitionWait is how much longer than the policy window a paused
// reply waits for the words of the speech that paused it.
const maxRecognitionWait = 4 * time.Second

// faintHold is how long, from its onset, faint speech keeps a reply
// paused: long enough for a soft start to reach the user's level.
const faintHold = 300 * time.Millisecond

// backchannelTail is how long the voice may come back after a tentative
// resumption on backchannels and go on without pausing the reply again:
// the second syllable of "o-kay" or "uh-huh" after its consonant's
// silence.
const backchannelTail = 300 * time.Millisecond

// partialExtraWords is how many more words than the policy minimum a
// partial transcript needs to cancel a paused reply on its own; they must
// also be stable (the same in the partial result before).
const partialExtraWords = 1

// confirmingSpeech is how long interrupting speech must have gone on, its
// voice not stopped, to confirm the words heard so far: a backchannel
// ("uh-huh", "okay") is over by then. From then on, one word fewer than the
// policy minimum (at least one) cancels, stable from one partial result to
// the next, instead of waiting for more words or for LongSpeech.
const confirmingSpeech = 700 * time.Millisecond

// followOnGap is how soon after a false interruption's speech the next
// speech must begin for their words to count together: a pause inside a
// phrase, not a new thought.
const followOnGap = time.Second

// Inputs of the interrupt machine.
type (
	// input is one of the types below.
	input interface{ isInput() }

	// replyStarted: the agent began a reply (it is always idle then:
	// the loop stops any earlier reply first).
	replyStarted struct{ uninterruptible bool }
	// chunkStarted: the playout began sending a chunk of the reply.
	chunkStarted struct{ uninterruptible bool }
	// replyFinished: the reply played to the end.
	replyFinished struct{}
	// replyStopped: the application ends the reply (the client's stop
	// button, a typed message or Say taking its place).
	replyStopped struct{ reason string }
	// speechStarted: the VAD confirmed speech that began lead ago; faint:
	// its level so far is far below the user's own (see levelGate): another
	// voice in the room, a television; follows: it began within
	// followOnGap of the end of the speech before.
	speechStarted struct {
		lead           time.Duration
		faint, follows bool
	}
	// speechPending: the VAD's first window of a possible start of speech
	// (vad.Params.Tentative); faint: that window is not the user's voice
	// by its level (far below the user's, or too short: see levelGate).
	speechPending struct{ faint bool }
	// speechDropped: the possible start ended before the VAD confirmed it.
	speechDropped struct{}
	// voiceLoud: speech that started faint has reached the user's level
	// (the user talks over the television).
	voiceLoud struct{}
	// speechEnded: the VAD heard the speech end.
	speechEnded struct{}
	// voiceStopped: inside speech, the VAD's latest window is silent; the
	// speech may have ended (the VAD confirms it after its minimum
	// silence); faded: only the level says so yet (see voiceFallDB), the
	// VAD still hears a voice. voiceReturned: voice again before that.
	voiceStopped  struct{ faded bool }
	voiceReturned struct{}
	// timerFired: the time the machine asked for has passed.
	timerFired struct{}
	// soundJudged: the judge's verdict on the speech the VAD hears changed:
	// it is a non-lexical sound (laughter, humming, a sigh), or may be
	// words after all.
	soundJudged struct{ nonLexical bool }
)

// wordsHeard is a transcript of the user's speech so far: a partial result
// while the user speaks, or the recogniser's answer once speech ended.
type wordsHeard struct {
	text, lang string // lang: the transcript's language, or the session's
	// final: not a partial result; complete: it covers all of the speech
	// so far; failed: recognition failed (text is empty).
	final, complete, failed bool
	// stable is, for a partial result, the words it begins with that the
	// one before began with too (set by the machine).
	stable string
}

// turnEnded: the user's turn is over (end of turn detected, final words
// known).
type turnEnded struct{ turn userWords }

// userWords is a finished user turn.
type userWords struct {
	tr     pipeline.Transcript
	lang   string // tr.Language, or the session's when unknown
	failed bool   // recognition failed
	// When the user stopped speaking and when the final words came, for
	// the turn's metrics.
	endWall, sttFinal time.Time
	// levels are the frame levels of the turn's speech (see levelGate).
	levels []float64
	// voice is how the turn was spoken, when the escalation policy
	// measured it.
	voice *voiceTurn
}

func (replyStarted) isInput()  {}
func (chunkStarted) isInput()  {}
func (replyFinished) isInput() {}
func (replyStopped) isInput()  {}
func (speechStarted) isInput() {}
func (speechEnded) isInput()   {}
func (speechPending) isInput() {}
func (speechDropped) isInput() {}
func (voiceStopped) isInput()  {}
func (voiceReturned) isInput() {}
func (voiceLoud) isInput()     {}
func (timerFired) isInput()    {}
func (soundJudged) isInput()   {}
func (wordsHeard) isInput()    {}
func (turnEnded) isInput()     {}

// actionKind names what the loop is to do.
type actionKind uint8

// Actions, carried out in the order returned.
const (
	// actPause silences the reply from the next frame, keeping its place.
	actPause actionKind = iota + 1
	// actHold silences the reply like actPause, on a possible start of
	// speech: nothing is measured or reported until the VAD confirms it.
	actHold
	// actFlush drops the audio buffered in the transport.
	actFlush
	// actCancel ends the reply: new generation, its LLM, TTS and tools
	// cancelled, its audio dropped from the playout.
	actCancel
	// actCutHistory records the cancelled reply as far as it was heard,
	// marked interrupted.
	actCutHistory
	// actResume plays the paused reply on from where it stopped.
	actResume
	// actEmit reports event (an interruption, cancelled or not; resumed).
	actEmit
	// actArm asks for timerFired after d (replacing any armed timer);
	// actDisarm cancels it.
	actArm
	actDisarm
	// actDropTurn forgets the user turn in progress (a false
	// interruption's speech).
	actDropTurn
	// actTurn takes up a finished user turn: into the history and, when
	// answer is set, answered with a reply. It is always the last action.
	actTurn
	// actFallback speaks the fallback line (the user's words were lost).
	// It is always the last action.
	actFallback
)

// action is one thing for the loop to do.
type action struct {
	kind      actionKind
	reason    string        // actCancel: why, for the log
	event     EventType     // actEmit
	cancelled bool          // actEmit of EventInterruption
	d         time.Duration // actArm
	turn      userWords     // actTurn
	answer    bool          // actTurn
}

// String describes the action, for tests and logs.
func (a action) String() string {
	switch a.kind {
	case actPause:
		return "pause"
	case actHold:
		return "hold"
	case actFlush:
		return "flush"
	case actCancel:
		return "cancel " + a.reason
	case actCutHistory:
		return "cut history"
	case actResume:
		return "resume"
	case actEmit:
		if a.event == EventInterruption && a.cancelled {
			return "emit interruption cancelled"
		}
		return "emit " + string(a.event)
	case actArm:
		return "arm " + a.d.String()
	case actDisarm:
		return "disarm"
	case actDropTurn:
		return "drop turn"
	case actTurn:
		if !a.answer {
			return fmt.Sprintf("turn %q unanswered", a.turn.tr.Text)
		}
		return fmt.Sprintf("turn %q", a.turn.tr.Text)
	case actFallback:
		return "fallback"
	}
	return fmt.Sprintf("action(%d)", a.kind)
}

// paused reports whether the user is talking over a paused reply: the
// speech being captured is an interruption, settled as soon as it ends.
func (m *interrupter) paused() bool { return m.phase == phasePaused }

// step feeds one input to the machine and returns what to do. The slice is
// new on every call, so the loop may feed more inputs while carrying it
// out.
func (m *interrupter) step(in input) []action {
	var out []action
	switch in := in.(type) {
	case replyStarted:
		m.carry = ""
		out = m.unhold(out)
		out = m.leavePause(out)
		m.phase, m.guarded = phaseReplying, in.uninterruptible
	case chunkStarted:
		if m.phase == phaseIdle {
			break
		}
		if in.uninterruptible {
			out = m.unhold(out) // the chunk plays whatever the user does
		}
		lifted := m.guarded && !in.uninterruptible
		m.guarded = in.uninterruptible
		if lifted {
			out = m.release(out)
		}
	case replyFinished:
		// A reply paused after its last audio has nothing left to resume
		// or cancel: the speech that paused it is a turn of its own.
		m.carry = ""
		out = m.unhold(out)
		out = m.leavePause(out)
		m.phase, m.guarded = phaseIdle, false
		out = m.release(out)
	case replyStopped:
		m.carry = ""
		out = m.cancel(out, in.reason)
		if m.held != nil {
			// The user's words stay in the history; the application's
			// reason for stopping the reply wins over answering them.
			out = append(out, action{kind: actTurn, turn: *m.held})
			m.held = nil
		}
	case speechPending:
		if m.phase == phaseReplying && !m.guarded && !m.speaking && !m.tentative && !m.early && !in.faint {
			m.early = true
			out = append(out, action{kind: actHold}, action{kind: actFlush})
		}
	case speechDropped:
		out = m.unhold(out)
	case speechStarted:
		if (!in.follows || in.faint) && m.phase != phaseIdle {
			m.carry = ""
		}
		m.speaking, m.quiet, m.faded, m.nonLexical = true, false, false, false
		m.settling = false // the user goes on: the words decide afresh
		// A pause is faint while all of its speech is.
		m.faint = in.faint && (m.faint || m.phase != phasePaused)
		switch {
		case m.phase == phaseReplying && !m.guarded && m.faint && !m.tentative && !m.settling:
			// Another voice in the room, or the agent's own echo under
			// its ceiling: the reply plays on over it (a pause would only
			// stutter, as faint words never cancel) and its turn is
			// dropped; the voice reaching the user's level pauses it
			// (voiceLoud).
			out = append(m.unhold(out), action{kind: actDropTurn})
		case m.phase == phaseReplying && !m.guarded:
			out = m.pause(out, in.lead) // takes over a hold
		case m.phase == phasePaused:
			// More speech: the words known so far do not cover it.
			m.words.complete = false
			out = m.check(out)
		}
		out = m.unhold(out)
	case speechEnded:
		laugh := m.nonLexical
		m.speaking, m.quiet, m.faded, m.nonLexical = false, false, false, false
		switch {
		case m.tentative && (laugh || m.known()):
			// The laugh or the backchannel is over: forget its speech.
			m.tentative = false
			if laugh {
				m.carry = "" // no words
			} else {
				m.falseInterruption(m.words)
			}
			out = append(out, action{kind: actDropTurn})
		case m.tentative:
			// Its final words are still to come: they settle it.
			m.tentative, m.settling = false, true
		}
		out = m.check(out)
	case voiceStopped:
		if !m.speaking {
			break
		}
		if in.faded {
			m.faded = true
		} else {
			m.quiet = true
		}
		if m.phase == phasePaused {
			out = m.decide(out)
		}
	case voiceLoud:
		if !m.speaking || !m.faint {
			break
		}
		m.faint = false
		switch {
		case m.tentative:
			out = m.untentative(out)
		case m.phase == phaseReplying && !m.guarded:
			// The reply played on over the faint speech (its turn was
			// dropped): the user's voice now interrupts it.
			out = m.pause(out, 0)
		case m.phase == phasePaused && m.policy.Mode == CancelImmediately:
			out = m.cancel(out, "speech")
		case m.phase == phasePaused:
			if out = m.check(out); m.phase == phasePaused {
				out = m.schedule(out)
			}
		}
	case voiceReturned:
		if !m.speaking {
			break
		}
		m.quiet, m.faded = false, false
		switch {
		case m.tentative && !m.nonLexical && m.onlyBackchannels():
			// The rest of a backchannel ("o-kay", "uh-huh"): the reply
			// plays on over it, unless the voice goes on.
			out = append(out, action{kind: actArm, d: backchannelTail})
		case m.tentative && !m.nonLexical:
			out = m.untentative(out)
		}
	case soundJudged:
		if !m.speaking || m.nonLexical == in.nonLexical {
			break
		}
		m.nonLexical = in.nonLexical
		switch {
		case in.nonLexical && m.phase == phasePaused:
			out = m.resumeAs(out, true)
		case !in.nonLexical && m.tentative:
			// Words after all: those heard so far decide.
			if out = m.untentative(out); m.phase == phasePaused {
				out = m.decide(out)
			}
		}
	case wordsHeard:
		switch {
		case m.nonLexical:
			// A recogniser's guess at a laugh is not the user's words;
			// they decide only if the sound turns out to be words.
			m.hear(in)
		case m.phase == phasePaused:
			m.hear(in)
			out = m.decide(out)
		case m.tentative && !in.failed:
			// The resumption holds while the words would still resume.
			m.hear(in)
			switch cancel, resume := m.verdict(); {
			case cancel:
				m.tentative = false
				out = m.cancel(out, "speech")
			case !resume && !m.onlyBackchannels():
				out = m.untentative(out)
			}
		case m.settling && !in.failed:
			// The speech is over: only its words can still interrupt,
			// late.
			m.hear(in)
			switch cancel, _ := m.verdict(); {
			case cancel:
				m.settling = false
				out = m.cancel(out, "speech")
			case m.known():
				m.settling = false
				m.falseInterruption(in)
				out = append(out, action{kind: actDropTurn})
			}
		}
	case timerFired:
		if m.tentative && m.speaking && !m.quiet && !m.nonLexical {
			// The voice came back and went on: no backchannel.
			out = m.untentative(out)
			break
		}
		if m.phase != phasePaused {
			break
		}
		m.elapsed = m.deadline
		out = m.check(out)
		if m.phase == phasePaused {
			out = m.schedule(out)
		}
	case turnEnded:
		m.tentative = false
		if m.settling {
			m.settling = false
			out = m.settle(out, in.turn)
			break
		}
		out = m.endTurn(out, in.turn)
	}
	return out
}

// onlyBackchannels reports whether the words heard so far are nothing but
// backchannels ("uh huh", "okay").
func (m *interrupter) onlyBackchannels() bool {
	text := strings.TrimSpace(m.words.text)
	return text != "" && m.policy.backchannels.only(text, m.words.lang)
}

// hear records the words heard of the interrupting speech so far.
func (m *interrupter) hear(w wordsHeard) {
	if !w.final {
		w.stable = stablePrefix(m.prev, w.text)
		m.prev = normalize(w.text)
	}
	m.words = w
}

// stablePrefix returns the words two partial results begin with alike.
func stablePrefix(prev, text string) string {
	a, b := strings.Fields(prev), strings.Fields(normalize(text))
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return strings.Join(b[:n], " ")
}

// decide applies the verdict on the words so far to a paused reply.
func (m *interrupter) decide(out []action) []action {
	switch cancel, resume := m.verdict(); {
	case cancel:
		return m.cancel(out, "speech")
	case resume:
		return m.resume(out)
	}
	return out
}

// untentative ends a tentative resumption: the user goes on, so the reply
// pauses again (or is cancelled, when the words now interrupt).
func (m *interrupter) untentative(out []action) []action {
	m.tentative = false
	if m.phase != phaseReplying || m.guarded {
		return out
	}
	words, prev := m.words, m.prev
	out = m.pause(out, 0)
	if m.phase == phasePaused {
		m.words, m.prev = words, prev
		m.words.complete = m.words.complete && m.quiet
	}
	return out
}

// unhold ends a hold on a possible start of speech that was not taken
// over by a pause or a cancellation: the reply plays on.
func (m *interrupter) unhold(out []action) []action {
	if !m.early {
		return out
	}
	m.early = false
	return append(out, action{kind: actResume})
}

// pause silences the reply the user talks over and waits for the words.
func (m *interrupter) pause(out []action, lead time.Duration) []action {
	m.phase, m.tentative, m.early = phasePaused, false, false
	m.elapsed, m.words, m.prev = lead, wordsHeard{}, ""
	out = append(out, action{kind: actPause}, action{kind: actFlush}, action{kind: actEmit, event: EventInterruption})
	if m.policy.Mode == CancelImmediately && !m.faint {
		return m.cancel(out, "speech")
	}
	if out = m.check(out); m.phase == phasePaused {
		out = m.schedule(out)
	}
	return out
}

// schedule arms the timer for the next time limit of the pause.
func (m *interrupter) schedule(out []action) []action {
	p := m.policy
	next := time.Duration(-1)
	hold := time.Duration(-1)
	confirm := time.Duration(-1)
	if m.faint && m.speaking {
		hold = faintHold
	}
	if m.speaking && !m.faint {
		confirm = confirmingSpeech
	}
	for _, d := range [...]time.Duration{p.LongSpeech, p.Window, p.Window + maxRecognitionWait, hold, confirm} {
		if d > m.elapsed && (next < 0 || d < next) {
			next = d
		}
	}
	if next < 0 {
		m.deadline = 0
		return append(out, action{kind: actDisarm})
	}
	m.deadline = next
	return append(out, action{kind: actArm, d: next - m.elapsed})
}

// check applies the time limits of a pause: speech that goes on for
// LongSpeech is a real interruption; speech that ended and brought no
// deciding words within Window resumes the reply, once the words still
// being recognised have come (or taken too long).
func (m *interrupter) check(out []action) []action {
	if m.phase != phasePaused {
		return out
	}
	p := m.policy
	if m.faint {
		// Not the user's voice: the reply plays on once it has ended or
		// stayed faint for faintHold; its words never cancel.
		if !m.speaking || m.elapsed >= faintHold {
			return m.resumeAs(out, false)
		}
		return out
	}
	if m.speaking {
		if m.elapsed >= p.LongSpeech {
			return m.cancel(out, "long speech")
		}
		if cancel, _ := m.verdict(); cancel {
			// The speech went on past confirmingSpeech on its words.
			return m.cancel(out, "speech")
		}
		return out
	}
	if m.elapsed < p.Window {
		return out
	}
	cancel, _ := m.verdict()
	switch {
	case cancel:
		return m.cancel(out, "speech")
	case !m.known() && m.elapsed < p.Window+maxRecognitionWait:
		return out // wait for the words
	}
	return m.resume(out)
}

// known reports whether the final words of all the speech so far are in.
func (m *interrupter) known() bool { return m.words.final && m.words.complete }

// verdict applies the false-interruption policy to the words heard so far:
// cancel when they interrupt; resume when the speech is over, or its voice
// has stopped, and its words are all known and do not interrupt, or are
// light so far (backchannels, or no word that carries meaning). Partial
// words are unsteady: without a stop word, only those that held since the
// partial result before count, and more of them than the minimum are
// needed, unless the speech has gone on past confirmingSpeech (see
// confirmed).
func (m *interrupter) verdict() (cancel, resume bool) {
	w := m.words
	if w.failed {
		return false, false // the turn's end reports the failure and resumes
	}
	text := strings.TrimSpace(w.text)
	switch {
	case m.faint:
	case w.final || m.policy.stopWords.contains(text, w.lang):
		cancel = m.policy.real(m.withCarry(text), w.lang)
	default:
		need := m.policy.MinWords + partialExtraWords
		if m.confirmed() {
			need = max(1, m.policy.MinWords-1)
		}
		cancel = text != "" && !m.policy.backchannels.only(text, w.lang) && contentWords(m.withCarry(w.stable), w.lang) >= need
	}
	if cancel {
		return true, false
	}
	// Light words: backchannels, or nothing that carries meaning (what a
	// recogniser makes of "uh-huh" or a cough: "but", "the").
	// The level's fall ends a backchannel sooner than the VAD can (its
	// last window still hears the voice), when it is a word ("okay",
	// "yeah"); lighter words wait for the VAD: a stop consonant's closure
	// ("sto-p") is as silent, and "ah" or "uh" is what a recogniser makes
	// of a word's first sound.
	bc := text != "" && m.policy.backchannels.only(text, w.lang)
	sounds := text != "" && contentWords(text, w.lang) == 0
	light := bc || sounds
	return false, (!m.speaking || m.quiet) && (m.known() || light) || m.speaking && m.faded && bc && !sounds
}

// confirmed reports whether the interrupting speech has gone on, its voice
// not stopped, for confirmingSpeech: no backchannel lasts that long.
func (m *interrupter) confirmed() bool {
	return m.phase == phasePaused && m.speaking && !m.quiet && m.elapsed >= confirmingSpeech
}

// real reports whether finished words interrupt: a stop word does; nothing,
// backchannels only, or fewer than MinWords words that carry meaning do
// not.
func (p *interruptPolicy) real(text, lang string) bool {
	switch {
	case text == "":
		return false
	case p.stopWords.contains(text, lang):
		return true
	case p.backchannels.only(text, lang):
		return false
	}
	return contentWords(text, lang) >= p.MinWords
}

// withCarry prefixes the words carried from a false interruption to the
// words of the speech that follows it (when it has words of its own).
func (m *interrupter) withCarry(text string) string {
	if m.carry == "" || text == "" {
		return text
	}
	return m.carry + " " + text
}

// falseInterruption records the words of speech that did not interrupt:
// words that carry meaning (not backchannels, not the far voice of the
// room) are carried to speech that follows (see followOnGap), together
// with any carried before them.
func (m *interrupter) falseInterruption(w wordsHeard) {
	text, lang := strings.TrimSpace(w.text), w.lang
	if w.failed || m.faint || text == "" || m.policy.backchannels.only(text, lang) || contentWords(text, lang) == 0 {
		m.carry = ""
		return
	}
	m.carry = m.withCarry(text)
}

// interrupting returns the turn that cancels the reply with the words
// carried before it, which are part of what the user said, and forgets
// them. After a cancellation they wait for the turn's final words.
func (m *interrupter) interrupting(t userWords) userWords {
	t.tr.Text = m.withCarry(strings.TrimSpace(t.tr.Text))
	m.carry = ""
	return t
}

// endTurn takes up a finished user turn.
func (m *interrupter) endTurn(out []action, t userWords) []action {
	text := strings.TrimSpace(t.tr.Text)
	switch {
	case m.phase == phasePaused:
		if t.failed || m.faint || !m.policy.real(m.withCarry(text), t.lang) {
			m.words = wordsHeard{text: text, lang: t.lang, final: true, complete: true, failed: t.failed}
			return m.resumeAs(out, false)
		}
		t = m.interrupting(t)
		out = m.cancel(out, "speech")
		return append(out, action{kind: actTurn, turn: t, answer: true})
	case m.guarded && (t.failed || text != ""):
		if m.held == nil {
			m.held = &t
		} else {
			m.held.tr.Text = strings.TrimSpace(m.held.tr.Text + " " + t.tr.Text)
			m.held.failed = m.held.failed && t.failed
		}
		return out
	case t.failed:
		m.carry = ""
		out = m.cancel(out, "turn")
		return append(out, action{kind: actFallback})
	case text == "":
		m.carry = ""
		return out
	}
	t = m.interrupting(t)
	out = m.cancel(out, "turn")
	return append(out, action{kind: actTurn, turn: t, answer: true})
}

// settle takes up the finished turn of a tentative resumption whose speech
// ended (see settling): real words cancel the reply, late, and are
// answered; anything else is forgotten and the reply plays on.
func (m *interrupter) settle(out []action, t userWords) []action {
	text := strings.TrimSpace(t.tr.Text)
	if t.failed || m.faint || !m.policy.real(m.withCarry(text), t.lang) {
		m.falseInterruption(wordsHeard{text: text, lang: t.lang, failed: t.failed})
		return append(out, action{kind: actDropTurn})
	}
	t = m.interrupting(t)
	out = m.cancel(out, "speech")
	return append(out, action{kind: actTurn, turn: t, answer: true})
}

// release takes up a held turn once nothing guards the reply.
func (m *interrupter) release(out []action) []action {
	t := m.held
	if t == nil {
		return out
	}
	m.held = nil
	return m.endTurn(out, *t)
}

// resume plays the paused reply on: the interruption was false, and the
// speech is forgotten; while the VAD still hears it (its voice stopped on
// backchannels), tentatively: it is forgotten when the VAD confirms its
// end.
func (m *interrupter) resume(out []action) []action {
	return m.resumeAs(out, m.speaking)
}

// resumeAs resumes the reply, tentatively or not.
func (m *interrupter) resumeAs(out []action, tentative bool) []action {
	words, prev := m.words, m.prev
	out = m.leavePause(out)
	m.phase = phaseReplying
	if tentative {
		m.tentative = true
		m.words, m.prev = words, prev
		return append(out, action{kind: actResume}, action{kind: actEmit, event: EventResumed})
	}
	m.falseInterruption(words)
	return append(out, action{kind: actDropTurn}, action{kind: actResume}, action{kind: actEmit, event: EventResumed})
}

// cancel ends the reply for good, if there is one: a paused reply was
// flushed when it paused; any other is flushed now.
func (m *interrupter) cancel(out []action, reason string) []action {
	switch m.phase {
	case phaseIdle:
		return out
	case phasePaused:
		out = m.leavePause(out)
		out = append(out, action{kind: actCancel, reason: reason})
	default:
		out = append(out, action{kind: actCancel, reason: reason}, action{kind: actFlush})
	}
	m.phase, m.guarded, m.early = phaseIdle, false, false
	return append(out, action{kind: actCutHistory}, action{kind: actEmit, event: EventInterruption, cancelled: true})
}

// leavePause forgets the pause's timer and words.
func (m *interrupter) leavePause(out []action) []action {
	if m.phase != phasePaused {
		return out
	}
	armed := m.deadline > 0
	m.phase = phaseReplying
	m.elapsed, m.deadline, m.words = 0, 0, wordsHeard{}
	if armed {
		out = append(out, action{kind: actDisarm})
	}
	return out
}
