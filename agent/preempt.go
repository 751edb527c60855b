package agent

import (
	"context"

	"github.com/harkvoice/hark/pipeline"
)

// A preemptive reply is prepared while the end of the user's turn is
// awaited: once the user has stopped speaking and the words of all the
// speech are known, the LLM (and the TTS of the first sentences) starts on
// them, with the playout holding its audio. When the turn ends with the
// same words (normalised), that reply is the turn's answer and plays at
// once; when the user goes on, the final words differ or the turn is not
// answered, it is dropped without a sound and leaves no trace in the
// history. Tools do not run before the turn ends: a preemptive reply that
// calls one waits there (its text before the call may be synthesised and
// held) until the turn ends with its words, and is dropped otherwise.
//
// preemptor decides, as a plain value with no goroutine or clock: the loop
// tells it what it sees and carries out the action it returns.
type preemptor struct {
	running bool
	words   string // the normalised words the running reply answers
}

// preemptAct is what the loop is to do with the preemptive reply.
type preemptAct uint8

const (
	preKeep    preemptAct = iota // nothing to do
	preStart                     // start a preemptive reply on the words
	preDrop                      // drop the running one
	preRestart                   // drop the running one, start one on the new words
	preUse                       // the running one answers the turn
)

func (a preemptAct) String() string {
	return [...]string{"keep", "start", "drop", "restart", "use"}[a]
}

// heard is called while the end of the turn is awaited, with the words of
// all the user's speech so far; ready tells whether a reply may be prepared
// now (enabled, no other reply running, words worth answering).
func (p *preemptor) heard(text string, ready bool) preemptAct {
	w := normalize(text)
	switch {
	case !ready || w == "":
		return p.drop()
	case !p.running:
		p.running, p.words = true, w
		return preStart
	case w != p.words:
		p.words = w
		return preRestart
	}
	return preKeep
}

// goneOn is called when the running reply cannot be the turn's answer: the
// user speaks again, the turn is dropped or ends unanswered, or another
// reply starts.
func (p *preemptor) goneOn() preemptAct { return p.drop() }

// turnEnded is called when the turn ends with text, to be answered.
func (p *preemptor) turnEnded(text string) preemptAct {
	if !p.running {
		return preKeep
	}
	same := normalize(text) == p.words
	*p = preemptor{}
	if same {
		return preUse
	}
	return preDrop
}

func (p *preemptor) drop() preemptAct {
	if !p.running {
		return preKeep
	}
	*p = preemptor{}
	return preDrop
}

// Preemption outcomes passed to Recorder.Preemption.
const (
	PreemptStarted = "started" // a preemptive reply began
	PreemptUsed    = "used"    // it answered the turn
	PreemptWasted  = "wasted"  // it was dropped unheard
)

// pending is the preemptive reply in progress, seen from the loop.
type pending struct {
	rep *reply
	// msgs are its worker's messages, handled when it is used.
	msgs []replyMsg
	// gate is closed when it is used: its tool calls and later chunks
	// run, and what waits in pipeline.AwaitTurn goes on.
	gate   chan struct{}
	images int // the images of the request
}

// preempt carries out the preemptor's verdict on the words of the turn
// awaiting its end.
func (l *loop) preempt(ctx context.Context, text string) {
	ready := !l.cfg.noPreempt && l.rep == nil && l.barge.phase == phaseIdle && !l.inputEnded &&
		!l.cfg.stopWords.only(text, l.lang)
	switch l.pre.heard(text, ready) {
	case preStart:
		l.startPreempt(ctx, text)
	case preDrop:
		l.dropPreempt()
	case preRestart:
		l.dropPreempt()
		l.startPreempt(ctx, text)
	}
}

// abandonPreempt drops the preemptive reply, if any: it cannot answer the
// turn.
func (l *loop) abandonPreempt() {
	if l.pre.goneOn() == preDrop {
		l.dropPreempt()
	}
}

// startPreempt starts a reply to text, held in the playout, without
// touching the history or the interrupt machine.
func (l *loop) startPreempt(ctx context.Context, text string) {
	user := pipeline.Message{Role: pipeline.RoleUser, Content: text, Images: l.images}
	req := l.request(user)
	rctx, gen := l.gens.Start(ctx)
	l.play.Hold(gen)
	rep := &reply{gen: gen, lang: l.lang, rec: &replyRecord{}, base: l.user.endWall}
	p := &pending{rep: rep, gate: make(chan struct{}), images: len(l.images)}
	l.pending = p
	rctx = pipeline.WithPreemption(rctx, p.gate)
	w := l.worker(rep, false)
	l.cfg.metrics.observePreemption(PreemptStarted)
	l.cfg.log.Debug("preemptive reply started", "text", text)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		w.run(rctx, req)
	}()
}

// dropPreempt stops the preemptive reply: nothing of it was heard.
func (l *loop) dropPreempt() {
	p := l.pending
	if p == nil {
		return
	}
	l.pending = nil
	if l.gens.Current() == p.rep.gen {
		l.gens.Interrupt(pipeline.ErrInterrupted)
	}
	l.play.Stop(p.rep.gen)
	l.cfg.metrics.observePreemption(PreemptWasted)
	l.cfg.log.Debug("preemptive reply dropped")
}

// usePreempt makes the preemptive reply the answer to the turn ending with
// text, when it was prepared on the same words; it reports whether it did.
func (l *loop) usePreempt(ctx context.Context, text string, tm TurnMetrics) bool {
	act := l.pre.turnEnded(text)
	p := l.pending
	if act != preUse || p == nil || l.rep != nil || p.images != len(l.images) || l.gens.Current() != p.rep.gen {
		l.pre = preemptor{}
		l.dropPreempt()
		return false
	}
	l.pending = nil
	l.appendHistory(pipeline.Message{Role: pipeline.RoleUser, Content: text, Images: l.images})
	l.images = nil
	p.rep.metrics = tm
	l.rep = p.rep
	l.feed(ctx, replyStarted{})
	l.setState(StateThinking)
	l.cfg.metrics.observePreemption(PreemptUsed)
	close(p.gate)
	l.play.Release(p.rep.gen)
	for _, m := range p.msgs {
		l.onReply(ctx, m)
	}
	return true
}

// preemptMsg keeps a message of the preemptive reply's worker until the
// reply is used; it reports whether m was one.
func (l *loop) preemptMsg(m replyMsg) bool {
	if l.pending == nil || m.gen != l.pending.rep.gen {
		return false
	}
	l.pending.msgs = append(l.pending.msgs, m)
	return true
}
