package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// A hand-off in the demo is followed by the spoken promise of a call back,
// once the reply announcing it has played.
func TestHandoffPromisesCallback(t *testing.T) {
	human := agent.Tool{
		Tool: pipeline.Tool{Name: "transfer_to_human"},
		Func: func(context.Context, json.RawMessage) (string, error) {
			return "", agent.Handoff("the caller asked for a person")
		},
	}
	llm := agenttest.NewLLM(
		[]pipeline.Delta{agenttest.Call("a", "transfer_to_human", `{}`)},
		agenttest.Text("Of course."),
	)
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	cb := &callback{}
	s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(llm), agent.WithTTS(&agenttest.TTS{PerChar: time.Millisecond}),
		agent.WithVAD(agenttest.NewLevelModel()), agent.WithTools(human), agent.WithEventHandler(cb.onEvent))
	if err != nil {
		t.Fatal(err)
	}
	cb.s = s
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context()) }()
	s.SendText("I want a person")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	ho, i, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventHandoff })
	if err != nil {
		t.Fatal(err)
	}
	if ho.Summary == "" {
		t.Error("the hand-off has no summary")
	}
	if _, _, err := tr.WaitEvent(ctx, i, func(ev agent.Event) bool {
		return ev.Type == agent.EventAgentDone && ev.Text == callbackLine
	}); err != nil {
		t.Fatalf("no call back promised: %v; events %+v", err, tr.Events())
	}
	tr.Hangup()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
