package agent

import (
	"sync"
	"time"

	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

// inbox is the session loop's mailbox: two unbounded queues, the control
// lane (microphone audio and its VAD events) drained before the data lane
// (replies, playout progress, commands). put never blocks, so no producer
// can stall the loop or deadlock with it.
type inbox struct {
	mu     sync.Mutex
	hi, lo []message
	signal chan struct{}
}

// message is what the session loop receives: one of the types below.
type message interface{ isMessage() }

// Messages of the control lane.
type (
	// micMsg is one frame of microphone audio at the VAD's rate with the
	// events it completed.
	micMsg struct {
		samples []int16
		events  []vad.Event
		pos     int64 // stream position after samples
		at      time.Time
		// quiet: inside confirmed speech, the VAD's latest window is
		// silent (the speech may be ending).
		quiet bool
	}
	// endMsg ends the run: the transport's input ended or the playout
	// failed.
	endMsg struct{ err error }
)

// Messages of the data lane.
type (
	// speakerFailed reports a failing WriteAudio.
	speakerFailed struct{ err error }
	// sttMsg is a recogniser's answer for a user turn.
	sttMsg struct {
		seq   uint64
		n     int
		tr    pipeline.Transcript
		err   error
		final bool
		at    time.Time
	}
	// replyMsg is posted by a reply goroutine.
	replyMsg struct {
		gen   uint64
		kind  replyKind
		at    time.Time
		ev    Event
		stage string
		err   error
	}
	// playoutMsg reports the playout's progress.
	playoutMsg struct{ ev pipeline.PlayoutEvent }
)

// Client commands (data lane).
type (
	textCmd struct {
		text string
		at   time.Time
	}
	imageCmd     struct{ img pipeline.Image }
	interruptCmd struct{}
	sayCmd       struct {
		text            string
		uninterruptible bool
	}
)

func (micMsg) isMessage()        {}
func (endMsg) isMessage()        {}
func (speakerFailed) isMessage() {}
func (sttMsg) isMessage()        {}
func (replyMsg) isMessage()      {}
func (playoutMsg) isMessage()    {}
func (textCmd) isMessage()       {}
func (imageCmd) isMessage()      {}
func (interruptCmd) isMessage()  {}
func (sayCmd) isMessage()        {}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (b *inbox) put(control bool, m message) {
	b.mu.Lock()
	if control {
		b.hi = append(b.hi, m)
	} else {
		b.lo = append(b.lo, m)
	}
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// take returns the next message, control lane first.
func (b *inbox) take() (message, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.hi) > 0 {
		m := b.hi[0]
		b.hi[0] = nil
		b.hi = b.hi[1:]
		return m, true
	}
	if len(b.lo) > 0 {
		m := b.lo[0]
		b.lo[0] = nil
		b.lo = b.lo[1:]
		return m, true
	}
	return nil, false
}

// keepCommands drops everything but client commands.
func (b *inbox) keepCommands() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hi = nil
	kept := b.lo[:0]
	for _, m := range b.lo {
		switch m.(type) {
		case textCmd, imageCmd, interruptCmd, sayCmd:
			kept = append(kept, m)
		}
	}
	clear(b.lo[len(kept):])
	b.lo = kept
}
