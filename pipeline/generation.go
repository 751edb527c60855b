package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// Generations numbers the turns of one conversation. Every audio and text
// item of a reply carries the generation that made it; when the user
// interrupts, the generation moves on and every stage drops items of older
// generations with one atomic load. Generations is safe for concurrent use;
// its zero value is ready, with generation 0 current and no turn running.
type Generations struct {
	cur    atomic.Uint64
	mu     sync.Mutex
	cancel context.CancelCauseFunc
}

// Current returns the current generation.
func (g *Generations) Current() uint64 { return g.cur.Load() }

// Stale reports whether gen is older than the current generation.
func (g *Generations) Stale(gen uint64) bool { return gen != g.cur.Load() }

// Start begins a new turn: it moves to the next generation, cancels the
// previous turn's context with ErrInterrupted, and returns the new turn's
// context (a child of parent) with its generation. The turn's context is
// cancelled by the next Start, by Interrupt, or by End.
func (g *Generations) Start(parent context.Context) (context.Context, uint64) {
	ctx, cancel := context.WithCancelCause(parent)
	g.mu.Lock()
	prev := g.cancel
	g.cancel = cancel
	gen := g.cur.Add(1)
	g.mu.Unlock()
	if prev != nil {
		prev(ErrInterrupted)
	}
	return ctx, gen
}

// Interrupt moves to the next generation and cancels the current turn's
// context with cause (ErrInterrupted when cause is nil). It returns the new,
// idle generation.
func (g *Generations) Interrupt(cause error) uint64 {
	if cause == nil {
		cause = ErrInterrupted
	}
	g.mu.Lock()
	prev := g.cancel
	g.cancel = nil
	gen := g.cur.Add(1)
	g.mu.Unlock()
	if prev != nil {
		prev(cause)
	}
	return gen
}

// End releases the context of turn gen once it has finished normally. It
// does nothing when gen is no longer current.
func (g *Generations) End(gen uint64) {
	g.mu.Lock()
	var c context.CancelCauseFunc
	if g.cur.Load() == gen {
		c = g.cancel
		g.cancel = nil
	}
	g.mu.Unlock()
	if c != nil {
		c(context.Canceled)
	}
}
