package agent

import "sync"

// inbox is the session loop's mailbox: two unbounded queues, the control
// lane (microphone audio and its VAD events) drained before the data lane
// (replies, playout progress, commands). put never blocks, so no producer
// can stall the loop or deadlock with it.
type inbox struct {
	mu     sync.Mutex
	hi, lo []any
	signal chan struct{}
}

func newInbox() *inbox { return &inbox{signal: make(chan struct{}, 1)} }

func (b *inbox) put(control bool, m any) {
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
func (b *inbox) take() (any, bool) {
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
