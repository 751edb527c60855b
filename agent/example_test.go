package agent_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
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

// recording is a custom Transport: the user's side is a recording, read as
// fast as the session takes it (input needs no pacing: the session keeps
// time by the samples it reads), then silence until the answer is done,
// then io.EOF; the agent's side is counted. WriteAudio gets 20 ms frames in
// OutputFormat, paced by the session in real time, so a network transport
// would just send each one on. As an EventSink it sees the session's
// events.
type recording struct {
	mic      []int16 // 16 kHz mono
	answered chan struct{}

	mu   sync.Mutex
	sent time.Duration // agent audio received
}

func (r *recording) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	if n := min(len(r.mic), 320); n > 0 { // any length will do; 20 ms here
		fr := pcm.Frame{Samples: r.mic[:n], Format: pcm.Mono16k}
		r.mic = r.mic[n:]
		return fr, nil
	}
	select {
	case <-ctx.Done():
		return pcm.Frame{}, ctx.Err()
	case <-r.answered:
		return pcm.Frame{}, io.EOF // the client leaves
	case <-time.After(20 * time.Millisecond):
		return pcm.Frame{Samples: make([]int16, 320), Format: pcm.Mono16k}, nil
	}
}

func (r *recording) WriteAudio(_ context.Context, fr pcm.Frame) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent += fr.Format.Duration(len(fr.Samples))
	return nil
}

func (r *recording) OutputFormat() pcm.Format { return pcm.Mono16k }

// Flush has nothing to drop: WriteAudio buffers nothing.
func (r *recording) Flush(context.Context) error { return nil }

// SendEvent implements agent.EventSink.
func (r *recording) SendEvent(ev agent.Event) error {
	select {
	case <-r.answered:
	default:
		if ev.Type == agent.EventAgentDone {
			close(r.answered) // the session calls SendEvent from one goroutine
		}
	}
	return nil
}

// A custom Transport that plays a recorded question and leaves once it has
// the answer.
func ExampleTransport() {
	tr := &recording{mic: agenttest.Speech(time.Second, 16000, 1), answered: make(chan struct{})}
	s, err := agent.New(tr,
		agent.WithSTT(agenttest.NewSTT("what are your opening hours")),
		agent.WithLLM(agenttest.NewLLM(agenttest.Text("We open at nine."))),
		agent.WithTTS(&agenttest.TTS{PerChar: 5 * time.Millisecond}),
		agent.WithVAD(agenttest.NewLevelModel()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fmt.Println("run:", s.Run(ctx))
	for _, m := range s.History() {
		fmt.Printf("%s: %s\n", m.Role, m.Content)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fmt.Println("agent audio:", tr.sent >= 80*time.Millisecond)
	// Output:
	// run: <nil>
	// user: what are your opening hours
	// assistant: We open at nine.
	// agent audio: true
}

// orderQuery is what the model passes to the order_status tool.
type orderQuery struct {
	Order string `json:"order" description:"the order number, like A-42"`
}

// A tool made from a Go function: the model sees a JSON schema generated
// from its argument type, and the function gets the arguments decoded.
// The model here is an in-process OpenAI-compatible server that first calls
// the tool, then answers with its result.
func ExampleNewTool() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(
		openaitest.ChatReply{ToolCalls: []openaitest.ToolCall{{ID: "call_1", Name: "order_status", Arguments: `{"order":"A-42"}`}}},
		openaitest.Text("Order A-42 shipped on Monday."),
	)
	llm, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer llm.CloseIdleConnections()

	status, err := agent.NewTool("order_status", "Look up where an order is.",
		func(_ context.Context, q orderQuery) (string, error) {
			return q.Order + " shipped on Monday", nil
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("schema: %s\n", status.Parameters)

	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	s, err := agent.New(tr,
		agent.WithSTT(agenttest.NewSTT()),
		agent.WithLLM(llm),
		agent.WithTTS(&agenttest.TTS{PerChar: time.Millisecond}),
		agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithTools(status),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	s.SendText("Where is my order A-42?")
	if _, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone }); err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range s.History() {
		for _, c := range m.ToolCalls {
			fmt.Printf("%s calls %s(%s)\n", m.Role, c.Name, c.Arguments)
		}
		if m.Content != "" {
			fmt.Printf("%s: %s\n", m.Role, m.Content)
		}
	}
	tr.Hangup()
	fmt.Println("run:", <-done)
	// Output:
	// schema: {"type":"object","properties":{"order":{"type":"string","description":"the order number, like A-42"}},"required":["order"],"additionalProperties":false}
	// user: Where is my order A-42?
	// assistant calls order_status({"order":"A-42"})
	// tool: A-42 shipped on Monday
	// assistant: Order A-42 shipped on Monday.
	// run: <nil>
}
