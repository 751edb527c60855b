package rtserver

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/pipeline"
)

// noOutput is the tool result given to the model for a call the client
// has not answered.
const noOutput = "no output: the client did not return a result for this call"

// build returns the LLM request for the response r in place of the
// session's req: the instructions, the conversation's items, the reply's
// own tool rounds so far (what follows the last user message in req), and
// the session's tools with the client's.
func (m *machine) build(req pipeline.Request, r *response) pipeline.Request {
	var tail []pipeline.Message
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == pipeline.RoleUser {
			tail = req.Messages[i+1:]
			break
		}
	}
	instructions := *m.sess.Instructions
	if r.params.Instructions != "" {
		instructions = r.params.Instructions
	}
	var msgs []pipeline.Message
	switch {
	case instructions != "":
		msgs = append(msgs, pipeline.Message{Role: pipeline.RoleSystem, Content: instructions})
	case len(req.Messages) > 0 && req.Messages[0].Role == pipeline.RoleSystem:
		msgs = append(msgs, req.Messages[0]) // the session's own prompt
	}
	msgs = append(msgs, m.history(r.outputs)...)
	msgs = append(msgs, tail...)
	r.inChars = 0
	for _, msg := range msgs {
		r.inChars += len(msg.Content)
	}
	out := pipeline.Request{Messages: msgs, Tools: slices.Clone(req.Tools), Language: req.Language}
	for _, t := range m.clientTools() {
		if !slices.ContainsFunc(out.Tools, func(s pipeline.Tool) bool { return s.Name == t.Name }) {
			out.Tools = append(out.Tools, pipeline.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
		}
	}
	return out
}

// history returns the conversation as LLM messages, leaving out skip (the
// response being made). Function calls join the assistant message before
// them, and every call is followed by its output (or noOutput), as chat
// models require.
func (m *machine) history(skip []*item) []pipeline.Message {
	outputs := map[string]string{}
	for _, it := range m.items {
		if it.Type == realtimeapi.ItemFunctionCallOutput {
			outputs[it.CallID] = it.Output
		}
	}
	var out []pipeline.Message
	for _, it := range m.items {
		if slices.Contains(skip, it) {
			continue
		}
		switch it.Type {
		case realtimeapi.ItemMessage:
			text := it.text()
			switch {
			case it.Role == "user" && (text != "" || len(it.images) > 0):
				out = append(out, pipeline.Message{Role: pipeline.RoleUser, Content: text, Images: it.images})
			case it.Role == "assistant" && text != "":
				out = append(out, pipeline.Message{Role: pipeline.RoleAssistant, Content: text, Interrupted: it.interrupted})
			case it.Role == "system" && text != "":
				out = append(out, pipeline.Message{Role: pipeline.RoleSystem, Content: text})
			}
		case realtimeapi.ItemFunctionCall:
			call := pipeline.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}
			if n := len(out); n > 0 && out[n-1].Role == pipeline.RoleAssistant {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, call)
			} else {
				out = append(out, pipeline.Message{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{call}})
			}
		}
	}
	// Each call's output right after the message that made it.
	var paired []pipeline.Message
	for _, msg := range out {
		paired = append(paired, msg)
		for _, c := range msg.ToolCalls {
			result, ok := outputs[c.ID]
			if !ok {
				result = noOutput
			}
			paired = append(paired, pipeline.Message{Role: pipeline.RoleTool, ToolCallID: c.ID, Content: result})
		}
	}
	return paired
}

// dataURLImage decodes an input_image's data URL
// ("data:image/png;base64,...").
func dataURLImage(u string) (pipeline.Image, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return pipeline.Image{}, errors.New("image_url must be a data URL (data:image/...;base64,...)")
	}
	meta, data, ok := strings.Cut(rest, ",")
	mime, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 || !strings.HasPrefix(mime, "image/") {
		return pipeline.Image{}, errors.New("image_url must be a base64 data URL of an image")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return pipeline.Image{}, errors.New("image_url: the data is not base64")
	}
	return pipeline.Image{Data: b, MIMEType: mime}, nil
}
