package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad/prosody"
)

// loop is the state of one Run, owned by the session loop goroutine.
type loop struct {
	s    *Session
	cfg  *config
	in   *inbox
	play *pipeline.Playout
	gens pipeline.Generations
	wg   sync.WaitGroup
	rate int // VAD sample rate

	// inputEnded: the transport's input has ended; Run returns once the
	// user's last turn is recognised and recorded.
	inputEnded bool
	lang       string
	images     []pipeline.Image
	micPos     int64
	echo       echoStats // the echo canceller's latest figures
	user       userTurn
	rep        *reply
	sttSeq     uint64
	// pre decides the preemptive reply, pending is the one in progress.
	pre     preemptor
	pending *pending

	// barge decides what the user's voice does to the reply; timer is the
	// microphone position at which its timer fires (0: not armed).
	barge interrupter
	timer int64
	// inSpeech: the VAD is inside confirmed speech; quiet: its voice has
	// stopped there, by the level's fall or by the VAD (vadQuiet), which
	// has not yet confirmed the end; silent for the VAD since stream
	// position quietSince, by the level since fellSince (-1: not silent).
	inSpeech, quiet, vadQuiet bool
	quietSince, fellSince     int64
	// voice follows the level of the speech the VAD is inside.
	voice voiceLevel
	// spokeUntil is the stream position where the user's last speech
	// ended (-1: none yet).
	spokeUntil int64
	// level judges the speech heard against the user's level; faint: the
	// speech the VAD is inside is far below it so far. recent is the
	// latest microphone audio (see remember).
	level  levelGate
	faint  bool
	recent []int16
	// sound judges whether the speech the VAD is inside is words or a
	// laugh, a hum, a sigh (nil when the rate does not suit it);
	// nonLexical is its verdict as last told to the interrupt machine.
	sound      *prosody.Judge
	nonLexical bool
	// confirmed is when the VAD last confirmed speech, and how long the
	// speech had been going then; silenced, the timing of the last pause.
	confirmed struct {
		at   time.Time
		lead time.Duration
	}
	silenced struct {
		gen  uint64
		info Interruption
	}
	// esc is the escalation policy; nil when off.
	esc *escalator
	// voiceConv holds the replies' converters of TTS audio (see worker).
	voiceConv sync.Pool
}

func newLoop(s *Session, rate int) *loop {
	var esc *escalator
	if s.cfg.escalation != nil {
		esc = newEscalator(*s.cfg.escalation)
	}
	sound, err := prosody.NewJudge(rate)
	if err != nil {
		sound = nil // a rate the judge cannot analyse: every sound may be words
	}
	return &loop{
		s: s, cfg: &s.cfg, in: s.in, rate: rate, lang: s.cfg.lang, quietSince: -1, fellSince: -1, spokeUntil: -1, level: newLevelGate(), sound: sound,
		barge: interrupter{policy: interruptPolicy{
			InterruptionPolicy: s.cfg.policy,
			stopWords:          s.cfg.stopWords,
			backchannels:       s.cfg.backchannels,
		}},
		esc: esc,
	}
}

// cancelled is a reply being cancelled, carried between the actions that
// cancel it, cut the history and report it.
type cancelled struct {
	rep   *reply
	recs  []pipeline.ChunkRecord
	heard string
}

// feed passes one input to the interrupt machine and carries out its
// actions, then brings the session state up to date.
func (l *loop) feed(ctx context.Context, in input) {
	acts := l.barge.step(in)
	if len(acts) == 0 {
		return
	}
	if l.cfg.log.Enabled(ctx, slog.LevelDebug) {
		l.cfg.log.Debug("turn-taking", "input", fmt.Sprintf("%T%+v", in, in), "actions", fmt.Sprint(acts))
	}
	var c cancelled
	for _, a := range acts {
		l.do(ctx, a, &c)
	}
	l.afterUser()
}

// do carries out one action of the interrupt machine.
func (l *loop) do(ctx context.Context, a action, c *cancelled) {
	switch a.kind {
	case actPause:
		l.pause()
	case actHold:
		l.play.Pause()
	case actFlush:
		l.flush(ctx)
	case actCancel:
		c.rep = l.rep
		if c.rep == nil {
			return
		}
		l.rep = nil
		// Silence first and read what was sent: once the generation moves
		// on, the playout forgets the reply.
		l.play.Pause()
		c.recs = l.play.Records(c.rep.gen)
		l.gens.Interrupt(pipeline.ErrInterrupted)
		l.play.Stop(c.rep.gen)
		l.cfg.log.Debug("reply cancelled", "reason", a.reason)
	case actCutHistory:
		if c.rep == nil {
			return
		}
		f := l.play.Format()
		var msgs []pipeline.Message
		msgs, c.heard = cutToHeard(c.rep.rec.snapshot(), c.recs, f.Rate*f.Channels)
		l.appendHistory(msgs...)
	case actResume:
		l.play.Resume()
	case actEmit:
		l.emitInterrupt(a, c)
	case actArm:
		l.timer = l.micPos + int64(a.d)*int64(l.rate)/int64(time.Second)
	case actDisarm:
		l.timer = 0
	case actDropTurn:
		l.abandonPreempt()
		l.closeStream()
		l.user.release()
		l.user = userTurn{}
	case actTurn:
		if a.answer && !a.turn.failed && a.turn.tr.Text != "" {
			// The user's own turn: their level.
			l.level.learn(a.turn.levels)
		}
		l.userTurn(ctx, a.turn, a.answer)
	case actFallback:
		if !l.inputEnded { // nobody is left to hear it
			l.startSay(ctx, l.cfg.fallback, false)
		}
	}
}

// pause silences the reply and measures how fast: from the first frame of
// the user's speech, and from the VAD's confirmation, to the end of the
// last frame that carried the reply.
func (l *loop) pause() {
	lastAudible := l.play.Pause()
	var info Interruption
	if !lastAudible.IsZero() {
		silence := lastAudible.Add(pipeline.FrameDuration)
		at := l.confirmed.at
		onset := at.Add(-l.confirmed.lead)
		info.OnsetToSilence = max(0, silence.Sub(onset))
		info.ConfirmToSilence = max(0, min(silence.Sub(at), info.OnsetToSilence))
	}
	if l.rep != nil {
		l.silenced.gen, l.silenced.info = l.rep.gen, info
	}
	l.cfg.log.Debug("barge-in: reply silenced", "onset_to_silence", info.OnsetToSilence, "confirm_to_silence", info.ConfirmToSilence)
}

// emitInterrupt reports a pause, a cancellation or a resumption.
func (l *loop) emitInterrupt(a action, c *cancelled) {
	switch {
	case a.event == EventResumed:
		if l.rep == nil {
			return
		}
		l.cfg.metrics.observeInterruption(nil, OutcomeResumed)
		l.cfg.log.Debug("false interruption: resuming the reply")
		l.emit(Event{Type: EventResumed, Turn: l.rep.gen})
	case a.cancelled:
		if c.rep == nil {
			return
		}
		if l.inputEnded {
			// The client left: the reply was cut off, not interrupted.
			l.reportMetrics(c.rep)
			return
		}
		info := Interruption{Heard: c.heard, Cancelled: true}
		if l.silenced.gen == c.rep.gen {
			info.OnsetToSilence, info.ConfirmToSilence = l.silenced.info.OnsetToSilence, l.silenced.info.ConfirmToSilence
		}
		l.cfg.metrics.observeInterruption(nil, OutcomeCancelled)
		l.emit(Event{Type: EventInterruption, Turn: c.rep.gen, Interruption: &info})
		l.reportMetrics(c.rep)
	default:
		if l.rep == nil {
			return
		}
		info := Interruption{}
		if l.silenced.gen == l.rep.gen {
			info = l.silenced.info
		}
		info.Heard = l.heardText(l.rep)
		l.cfg.metrics.observeInterruption(&info, OutcomePaused)
		l.emit(Event{Type: EventInterruption, Turn: l.rep.gen, Interruption: &info})
	}
}

// afterUser brings the session state up to date: the user speaking, the
// reply playing or being prepared, or listening.
func (l *loop) afterUser() {
	switch {
	case l.user.active && l.user.speaking, l.barge.paused():
		l.setState(StateUserSpeaking)
	case l.rep != nil && l.rep.audible:
		l.setState(StateSpeaking)
	case l.rep != nil:
		l.setState(StateThinking)
	default:
		l.setState(StateListening)
	}
}
