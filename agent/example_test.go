package agent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
)

// A session on an in-memory transport, with scripted engines: a typed user
// turn, the spoken reply, and the history it leaves.
func Example() {
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono48k)
	s, err := agent.New(tr,
		agent.WithSTT(agenttest.NewSTT()),
		agent.WithLLM(agenttest.NewLLM(agenttest.Text("Hello! How can I help?"))),
		agent.WithTTS(&agenttest.TTS{PerChar: 5 * time.Millisecond}),
		agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithSystemPrompt("You are a helpful shop assistant."),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	s.SendText("Hi there")
	ev, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("agent said:", ev.Text)
	for _, m := range s.History() {
		fmt.Printf("%s: %s\n", m.Role, m.Content)
	}
	tr.Hangup()
	fmt.Println("run:", <-done)
	// Output:
	// agent said: Hello! How can I help?
	// system: You are a helpful shop assistant.
	// user: Hi there
	// assistant: Hello! How can I help?
	// run: <nil>
}
