package pipeline

import "context"

type preemptionKey struct{}

// WithPreemption marks ctx as the context of a preemptive reply: one
// prepared before the user's turn has ended, which answers the turn only
// once answers is closed. When ctx is cancelled first, the reply was dropped
// unheard.
func WithPreemption(ctx context.Context, answers <-chan struct{}) context.Context {
	return context.WithValue(ctx, preemptionKey{}, answers)
}

// AwaitTurn waits until a reply prepared in ctx answers the user's turn: at
// once for an ordinary reply, and for a preemptive one (see WithPreemption)
// until it is used. It returns ctx's cause when the reply is dropped first.
// An LLM or TTS wrapper whose effects go beyond its answer (events to a
// client, a conversation record of its own) calls it before taking them.
func AwaitTurn(ctx context.Context) error {
	answers, _ := ctx.Value(preemptionKey{}).(<-chan struct{})
	if answers == nil {
		return context.Cause(ctx)
	}
	select {
	case <-answers:
		return context.Cause(ctx)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
