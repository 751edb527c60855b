package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/harkvoice/hark/pipeline"
)

// doneGrace is how long a stream may take to send [DONE] after the finish
// reason before it is closed.
const doneGrace = 250 * time.Millisecond

// emptySchema is the parameter schema of a tool that takes no arguments.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// Stream sends req to /chat/completions and yields the reply as it streams:
// text deltas at once, each tool call once its arguments are complete. A
// leading <think>...</think> block, which reasoning models served by
// llama.cpp or Ollama put in the text, is dropped. The
// sequence ends with an error when the request fails, the server stalls or
// the stream breaks; cancelling ctx stops it and yields the context's cause.
func (c *Client) Stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	return func(yield func(pipeline.Delta, error) bool) {
		creq, err := c.chatRequest(req)
		if err != nil {
			yield(pipeline.Delta{}, err)
			return
		}
		wctx, wd := c.watch(ctx)
		defer wd.stop()
		stream, err := c.api.CreateChatCompletionStream(wctx, creq)
		if err != nil {
			yield(pipeline.Delta{}, fail("chat", ctx, wctx, err, false))
			return
		}
		defer stream.Close()

		var (
			calls    toolCalls
			think    thinkFilter
			finished bool
		)
		for {
			resp, err := stream.Recv()
			if err != nil {
				if finished {
					return // the reply is complete; only the [DONE] was lost
				}
				if errors.Is(err, io.EOF) && ctx.Err() == nil && context.Cause(wctx) == nil {
					err = errors.New("stream ended without a finish reason")
				}
				yield(pipeline.Delta{}, fail("chat", ctx, wctx, err, true))
				return
			}
			if finished {
				continue // usage chunks after the finish
			}
			wd.progress()
			for _, ch := range resp.Choices {
				if ch.Index != 0 {
					continue
				}
				text := think.push(ch.Delta.Content + ch.Delta.Refusal)
				if text != "" && !yield(pipeline.Delta{Text: text}, nil) {
					return
				}
				calls.add(ch.Delta.ToolCalls)
				if ch.FinishReason == "" {
					continue
				}
				finished = true
				// Wait only briefly for the [DONE] that lets the connection
				// be reused: the caller waits for the sequence to end.
				wd.expire(doneGrace)
				if text := think.flush(); text != "" && !yield(pipeline.Delta{Text: text}, nil) {
					return
				}
				for _, tc := range calls.complete() {
					if !yield(pipeline.Delta{ToolCall: &tc}, nil) {
						return
					}
				}
			}
		}
	}
}

// thinkFilter drops a <think>...</think> block at the start of a reply.
type thinkFilter struct {
	state int // 0: deciding, 1: inside the block, 2: passing text through, 3: trimming after the block
	buf   string
}

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// push takes a text delta and returns the text to speak.
func (f *thinkFilter) push(s string) string {
	switch f.state {
	case 0:
		f.buf += s
		t := strings.TrimLeft(f.buf, " \t\r\n")
		switch {
		case strings.HasPrefix(t, thinkOpen):
			f.state, f.buf = 1, ""
			return f.push(t[len(thinkOpen):])
		case strings.HasPrefix(thinkOpen, t):
			return "" // may still become "<think>"
		}
		f.state = 2
		out := f.buf
		f.buf = ""
		return out
	case 1:
		f.buf += s
		if i := strings.Index(f.buf, thinkClose); i >= 0 {
			rest := f.buf[i+len(thinkClose):]
			f.state, f.buf = 3, ""
			return f.push(rest)
		}
		if n := len(f.buf) - len(thinkClose); n > 0 {
			f.buf = f.buf[n:] // keep only what may start the closing tag
		}
		return ""
	case 3:
		s = strings.TrimLeft(s, " \t\r\n")
		if s != "" {
			f.state = 2
		}
	}
	return s
}

// flush returns text held back at the end of the reply.
func (f *thinkFilter) flush() string {
	out := ""
	if f.state == 0 {
		out = f.buf
	}
	f.buf = ""
	return out
}

// toolCalls assembles streamed tool-call fragments by index.
type toolCalls struct {
	calls []*pipeline.ToolCall
	args  []strings.Builder
}

func (t *toolCalls) add(frags []goopenai.ToolCall) {
	for _, f := range frags {
		i := len(t.calls) - 1
		switch {
		case f.Index != nil:
			i = *f.Index
		case f.ID != "" && (i < 0 || t.calls[i].ID != f.ID):
			i = len(t.calls) // a new call from a server that sends no index
		}
		if i < 0 || i > 1024 {
			continue
		}
		for len(t.calls) <= i {
			t.calls = append(t.calls, &pipeline.ToolCall{})
			t.args = append(t.args, strings.Builder{})
		}
		if f.ID != "" {
			t.calls[i].ID = f.ID
		}
		if f.Function.Name != "" {
			t.calls[i].Name = f.Function.Name
		}
		t.args[i].WriteString(f.Function.Arguments)
	}
}

// complete returns the assembled calls in index order.
func (t *toolCalls) complete() []pipeline.ToolCall {
	var out []pipeline.ToolCall
	for i, tc := range t.calls {
		if tc.Name == "" {
			continue
		}
		call := *tc
		call.Arguments = strings.TrimSpace(t.args[i].String())
		if call.Arguments == "" {
			call.Arguments = "{}"
		}
		if call.ID == "" {
			call.ID = fmt.Sprintf("call_%d", i)
		}
		out = append(out, call)
	}
	return out
}

// chatRequest converts a pipeline request to the wire form.
func (c *Client) chatRequest(req pipeline.Request) (goopenai.ChatCompletionRequest, error) {
	out := goopenai.ChatCompletionRequest{Model: c.llmModel, Stream: true, Temperature: c.temperature}
	if reasoningModel(c.llmModel) {
		out.MaxCompletionTokens = c.maxTokens // these models refuse max_tokens
	} else {
		out.MaxTokens = c.maxTokens // what compatible servers understand
	}
	for i, m := range req.Messages {
		msg, err := c.message(m)
		if err != nil {
			return out, fmt.Errorf("%w: message %d: %w", ErrInvalidRequest, i, err)
		}
		out.Messages = append(out.Messages, msg)
	}
	if req.Language != "" {
		out.Messages = withLanguage(out.Messages, req.Language)
	}
	for _, t := range req.Tools {
		if t.Name == "" {
			return out, fmt.Errorf("%w: tool without a name", ErrInvalidRequest)
		}
		params := t.Parameters
		if len(params) == 0 {
			params = emptySchema
		} else if !json.Valid(params) {
			return out, fmt.Errorf("%w: tool %q: parameters are not valid JSON", ErrInvalidRequest, t.Name)
		}
		out.Tools = append(out.Tools, goopenai.Tool{
			Type:     goopenai.ToolTypeFunction,
			Function: &goopenai.FunctionDefinition{Name: t.Name, Description: t.Description, Parameters: params},
		})
	}
	return out, nil
}

// reasoningModel reports OpenAI models that take max_completion_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

func (c *Client) message(m pipeline.Message) (goopenai.ChatCompletionMessage, error) {
	msg := goopenai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content}
	switch m.Role {
	case pipeline.RoleSystem:
	case pipeline.RoleUser:
		if len(m.Images) == 0 {
			break
		}
		msg.Content = ""
		if m.Content != "" {
			msg.MultiContent = append(msg.MultiContent, goopenai.ChatMessagePart{Type: goopenai.ChatMessagePartTypeText, Text: m.Content})
		}
		for j, img := range m.Images {
			if len(img.Data) == 0 {
				return msg, fmt.Errorf("image %d is empty", j)
			}
			mime := img.MIMEType
			if mime == "" {
				mime = http.DetectContentType(img.Data)
			}
			msg.MultiContent = append(msg.MultiContent, goopenai.ChatMessagePart{
				Type:     goopenai.ChatMessagePartTypeImageURL,
				ImageURL: &goopenai.ChatMessageImageURL{URL: "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(img.Data)},
			})
		}
	case pipeline.RoleAssistant:
		if m.Interrupted && c.interruptedNote != "" {
			msg.Content = strings.TrimSpace(m.Content + " " + c.interruptedNote)
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{
				ID: tc.ID, Type: goopenai.ToolTypeFunction,
				Function: goopenai.FunctionCall{Name: tc.Name, Arguments: args},
			})
		}
	case pipeline.RoleTool:
		if m.ToolCallID == "" {
			return msg, errors.New("tool message without a tool call id")
		}
		msg.ToolCallID = m.ToolCallID
		if msg.Content == "" {
			msg.Content = "(no output)" // servers reject a tool message without content
		}
	default:
		return msg, fmt.Errorf("unknown role %q", m.Role)
	}
	return msg, nil
}

// withLanguage asks the model to reply in lang, in the first system message
// (some chat templates accept a system message only at the start).
func withLanguage(msgs []goopenai.ChatCompletionMessage, lang string) []goopenai.ChatCompletionMessage {
	note := "Reply in " + languageName(lang) + "."
	if len(msgs) > 0 && msgs[0].Role == goopenai.ChatMessageRoleSystem && msgs[0].MultiContent == nil {
		out := append([]goopenai.ChatCompletionMessage(nil), msgs...)
		out[0].Content = strings.TrimSpace(out[0].Content + "\n\n" + note)
		return out
	}
	return append([]goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleSystem, Content: note}}, msgs...)
}
