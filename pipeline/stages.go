package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"iter"

	"github.com/harkvoice/hark/codecs/pcm"
)

// ErrInterrupted is the cancellation cause of a turn the user talked over.
var ErrInterrupted = errors.New("pipeline: interrupted by the user")

// Transcript is what a recogniser heard.
type Transcript struct {
	Text string
	// Language is the BCP-47 code the recogniser detected or used ("en",
	// "zh-CN"); empty when unknown.
	Language string
	// Final is false for partial results of a streaming recogniser.
	Final bool
	// Whole, for a partial result, says that Text is a hypothesis of all
	// the audio written so far, which a final search may still revise, and
	// not the beginning of a transcript still coming in (the Realtime API's
	// deltas). A reply may be prepared on whole words.
	Whole bool
	// Confidence in [0, 1]; 0 when the engine does not say.
	Confidence float32
}

// STT transcribes one utterance.
type STT interface {
	// Transcribe recognises audio (16 kHz mono unless the format says
	// otherwise). language is a hint and may be empty. Like io.Writer's
	// Write, it must not modify the samples, nor keep them once it returns:
	// the caller reuses their storage.
	Transcribe(ctx context.Context, audio pcm.Frame, language string) (Transcript, error)
}

// STTFunc adapts a function to STT.
type STTFunc func(ctx context.Context, audio pcm.Frame, language string) (Transcript, error)

// Transcribe calls f.
func (f STTFunc) Transcribe(ctx context.Context, audio pcm.Frame, language string) (Transcript, error) {
	return f(ctx, audio, language)
}

// StreamingSTT recognises while the user is still speaking.
type StreamingSTT interface {
	// StartStream opens a recognition stream for one utterance.
	StartStream(ctx context.Context, format pcm.Format, language string) (STTStream, error)
}

// STTStream is one utterance being recognised as it arrives.
type STTStream interface {
	// Write adds audio in the stream's format. Like io.Writer's Write, it
	// must not modify the samples, nor keep them once it returns.
	Write(samples []int16) error
	// Partial returns the best hypothesis so far (Final false).
	Partial() Transcript
	// Close ends the utterance and returns the final transcript.
	Close() (Transcript, error)
}

// StreamCommitter is an STTStream that can transcribe the audio written so
// far while the utterance may still go on. The session commits when the user
// stops speaking, so that the final words overlap the end-of-turn wait.
type StreamCommitter interface {
	STTStream
	// Commit asks for the transcript of the audio written so far. Once it
	// has come, and as long as no audio is written after it, Partial returns
	// it with Final set. Audio written later is recognised on and its words
	// joined to the committed ones; Close returns them all.
	Commit()
}

// StreamAborter is an STTStream that can be abandoned (the speech was a
// false start, or the session ends) without waiting for a transcript.
type StreamAborter interface {
	STTStream
	// Abort ends the stream at once: its audio is not transcribed and its
	// connection or decoder is released in the background. Close after
	// Abort returns ErrAborted.
	Abort()
}

// ErrAborted is returned by Close on a stream that was aborted.
var ErrAborted = errors.New("pipeline: recognition aborted")

// Role is who said a message.
type Role string

// Message roles.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Image is a picture attached to a user message. In JSON, Data is base64.
type Image struct {
	Data     []byte `json:"data"`
	MIMEType string `json:"mime_type"` // "image/png", "image/jpeg", ...
}

// ToolCall is a function call requested by the model.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // JSON object
}

// Message is one entry of a conversation history. It marshals to JSON with
// snake_case names, leaving out the fields its role does not use.
type Message struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content"`
	Images     []Image    `json:"images,omitempty"`       // user messages only
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`   // assistant messages only
	ToolCallID string     `json:"tool_call_id,omitempty"` // tool messages only: the call answered
	// Interrupted marks an assistant message the user cut off; Content then
	// holds only what the user heard.
	Interrupted bool `json:"interrupted,omitempty"`
	// Frustration is how frustrated the user sounded in a user message,
	// from 0 to 1, when the session scores it (agent.WithEscalation);
	// providers do not send it, the session tells the model in words.
	Frustration float64 `json:"frustration,omitempty"`
}

// Tool describes a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON schema of the arguments object
}

// Request is one LLM call.
type Request struct {
	Messages []Message
	Tools    []Tool
	// Language is the language the reply should be in; empty lets the model
	// choose.
	Language string
}

// Delta is one piece of a streamed LLM reply: text, or a complete tool call
// (providers assemble streamed argument fragments before emitting it).
type Delta struct {
	Text     string
	ToolCall *ToolCall
}

// LLM streams a reply.
type LLM interface {
	// Stream yields the reply's deltas. A non-nil error ends the sequence.
	// Cancelling ctx stops the stream promptly.
	Stream(ctx context.Context, req Request) iter.Seq2[Delta, error]
}

// LLMFunc adapts a function to LLM.
type LLMFunc func(ctx context.Context, req Request) iter.Seq2[Delta, error]

// Stream calls f.
func (f LLMFunc) Stream(ctx context.Context, req Request) iter.Seq2[Delta, error] { return f(ctx, req) }

// SpeechRequest is one chunk of text to speak.
type SpeechRequest struct {
	Text     string
	Language string // BCP-47; picks the voice when Voice is empty
	Voice    string // engine-specific voice name; empty for the default
	// Speed scales the engine's speaking rate (0.9 is 10 % slower); 0 or 1
	// keeps it. Engines that cannot change their rate ignore it.
	Speed float64
}

// TTS synthesises speech for a text chunk, streaming audio as it is made.
type TTS interface {
	// Synthesize yields audio frames of any length in the engine's format.
	// Cancelling ctx stops synthesis promptly.
	Synthesize(ctx context.Context, req SpeechRequest) iter.Seq2[pcm.Frame, error]
}

// TTSFunc adapts a function to TTS.
type TTSFunc func(ctx context.Context, req SpeechRequest) iter.Seq2[pcm.Frame, error]

// Synthesize calls f.
func (f TTSFunc) Synthesize(ctx context.Context, req SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return f(ctx, req)
}
