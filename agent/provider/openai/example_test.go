package openai_test

import (
	"context"
	"fmt"

	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/pipeline"
)

// A Client streams a reply from any OpenAI-compatible server; here an
// in-process fake stands in for llama-server, vLLM or OpenAI itself.
func Example() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(openaitest.ChatReply{
		Deltas:    []string{"Let me ", "look that up."},
		ToolCalls: []openaitest.ToolCall{{ID: "call_1", Name: "order_status", Arguments: `{"order":"A-42"}`}},
	})

	c, err := openai.New(openai.WithBaseURL(srv.URL), openai.WithLLMModel("qwen2.5-7b-instruct"))
	if err != nil {
		panic(err)
	}
	defer c.CloseIdleConnections()
	req := pipeline.Request{
		Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "Where is my order A-42?"}},
		Tools:    []pipeline.Tool{{Name: "order_status", Description: "Look up an order"}},
	}
	for d, err := range c.Stream(context.Background(), req) {
		switch {
		case err != nil:
			fmt.Println("error:", err)
		case d.ToolCall != nil:
			fmt.Printf("call %s(%s)\n", d.ToolCall.Name, d.ToolCall.Arguments)
		default:
			fmt.Printf("text %q\n", d.Text)
		}
	}
	// Output:
	// text "Let me "
	// text "look that up."
	// call order_status({"order":"A-42"})
}
