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
// can stall the loop or deadlock with it. The queues keep their storage
// (they restart at its beginning whenever they run empty), and microphone
// messages come back once handled (newMic, recycle), so a steady stream of
// frames allocates nothing.
type inbox struct {
	mu     sync.Mutex
	hi, lo queue
	signal chan struct{}
	mics   chan *micMsg // handled microphone messages, for reuse
}

// queue is a FIFO of messages over a slice whose storage is reused.
type queue struct {
	items []message
	head  int // index of the first message in items
}

func (q *queue) push(m message) { q.items = append(q.items, m) }

func (q *queue) pop() (message, bool) {
	if q.head == len(q.items) {
		return nil, false
	}
	m := q.items[q.head]
	q.items[q.head] = nil
	if q.head++; q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return m, true
}

// micPool is how many handled microphone messages the inbox keeps for
// reuse: enough for the frames in flight between ingest and the loop.
const micPool = 16

// message is what the session loop receives: one of the types below.
type message interface{ isMessage() }

// Messages of the control lane.
type (
	// micMsg is one frame of microphone audio at the VAD's rate with the
	// events it completed. It travels as a pointer, and goes back to the
	// inbox (recycle) once handled.
	micMsg struct {
		samples []int16
		events  []vad.Event
		pos     int64 // stream position after samples
		at      time.Time
		// quiet: inside confirmed speech, the VAD's latest window is
		// silent (the speech may be ending).
		quiet bool
		echo  echoStats // the echo canceller's figures, when it is on
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

func (*micMsg) isMessage()       {}
func (endMsg) isMessage()        {}
func (speakerFailed) isMessage() {}
func (sttMsg) isMessage()        {}
func (replyMsg) isMessage()      {}
func (playoutMsg) isMessage()    {}
func (textCmd) isMessage()       {}
func (imageCmd) isMessage()      {}
func (interruptCmd) isMessage()  {}
func (sayCmd) isMessage()        {}

func newInbox() *inbox {
	return &inbox{signal: make(chan struct{}, 1), mics: make(chan *micMsg, micPool)}
}

// newMic returns a microphone message to fill: a handled one when there is
// one, its sample buffer emptied.
func (b *inbox) newMic() *micMsg {
	select {
	case m := <-b.mics:
		return m
	default:
		return new(micMsg)
	}
}

// recycle takes back a microphone message the loop has handled; nothing
// may hold on to it or its samples afterwards.
func (b *inbox) recycle(m *micMsg) {
	*m = micMsg{samples: m.samples[:0]}
	select {
	case b.mics <- m:
	default:
	}
}

func (b *inbox) put(control bool, m message) {
	b.mu.Lock()
	if control {
		b.hi.push(m)
	} else {
		b.lo.push(m)
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
	if m, ok := b.hi.pop(); ok {
		return m, true
	}
	return b.lo.pop()
}

// keepCommands drops everything but client commands.
func (b *inbox) keepCommands() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hi = queue{}
	kept := b.lo.items[:0]
	for _, m := range b.lo.items[b.lo.head:] {
		switch m.(type) {
		case textCmd, imageCmd, interruptCmd, sayCmd:
			kept = append(kept, m)
		}
	}
	clear(b.lo.items[len(kept):])
	b.lo = queue{items: kept}
}
