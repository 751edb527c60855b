package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/harkvoice/hark/pipeline"
)

func TestGenerations(t *testing.T) {
	var g pipeline.Generations
	if g.Current() != 0 {
		t.Fatal("zero value not at generation 0")
	}
	ctx1, gen1 := g.Start(context.Background())
	ctx2, gen2 := g.Start(context.Background())
	if gen1 != 1 || gen2 != 2 || !g.Stale(gen1) || g.Stale(gen2) {
		t.Fatalf("generations %d %d, current %d", gen1, gen2, g.Current())
	}
	if !errors.Is(context.Cause(ctx1), pipeline.ErrInterrupted) {
		t.Errorf("first turn cause = %v", context.Cause(ctx1))
	}
	if ctx2.Err() != nil {
		t.Error("current turn cancelled")
	}
	boom := errors.New("boom")
	if gen := g.Interrupt(boom); gen != 3 || !errors.Is(context.Cause(ctx2), boom) {
		t.Errorf("Interrupt: gen %d, cause %v", gen, context.Cause(ctx2))
	}
	ctx4, gen4 := g.Start(context.Background())
	g.End(gen4 - 1) // stale: nothing happens
	if ctx4.Err() != nil {
		t.Error("End of a stale generation cancelled the current turn")
	}
	g.End(gen4)
	if !errors.Is(context.Cause(ctx4), context.Canceled) || g.Stale(gen4) {
		t.Errorf("End: cause %v, stale %v", context.Cause(ctx4), g.Stale(gen4))
	}
}

func BenchmarkStale(b *testing.B) {
	var g pipeline.Generations
	_, gen := g.Start(context.Background())
	for b.Loop() {
		if g.Stale(gen) {
			b.Fatal("stale")
		}
	}
}
