package realtimeapi

// Server event types: what a server sends.
const (
	TypeError                              = "error"
	TypeSessionCreated                     = "session.created"
	TypeSessionUpdated                     = "session.updated"
	TypeTranscriptionSessionUpdated        = "transcription_session.updated" // beta
	TypeConversationCreated                = "conversation.created"
	TypeInputAudioBufferCommitted          = "input_audio_buffer.committed"
	TypeInputAudioBufferCleared            = "input_audio_buffer.cleared"
	TypeInputAudioBufferSpeechStarted      = "input_audio_buffer.speech_started"
	TypeInputAudioBufferSpeechStopped      = "input_audio_buffer.speech_stopped"
	TypeConversationItemAdded              = "conversation.item.added"
	TypeConversationItemDone               = "conversation.item.done"
	TypeConversationItemCreated            = "conversation.item.created"
	TypeConversationItemRetrieved          = "conversation.item.retrieved"
	TypeConversationItemTruncated          = "conversation.item.truncated"
	TypeConversationItemDeleted            = "conversation.item.deleted"
	TypeInputAudioTranscriptionDelta       = "conversation.item.input_audio_transcription.delta"
	TypeInputAudioTranscriptionCompleted   = "conversation.item.input_audio_transcription.completed"
	TypeInputAudioTranscriptionFailed      = "conversation.item.input_audio_transcription.failed"
	TypeResponseCreated                    = "response.created"
	TypeResponseDone                       = "response.done"
	TypeResponseOutputItemAdded            = "response.output_item.added"
	TypeResponseOutputItemDone             = "response.output_item.done"
	TypeResponseContentPartAdded           = "response.content_part.added"
	TypeResponseContentPartDone            = "response.content_part.done"
	TypeResponseOutputAudioDelta           = "response.output_audio.delta"
	TypeResponseOutputAudioDone            = "response.output_audio.done"
	TypeResponseOutputAudioTranscriptDelta = "response.output_audio_transcript.delta"
	TypeResponseOutputAudioTranscriptDone  = "response.output_audio_transcript.done"
	TypeResponseOutputTextDelta            = "response.output_text.delta"
	TypeResponseOutputTextDone             = "response.output_text.done"
	TypeResponseFunctionCallArgumentsDelta = "response.function_call_arguments.delta"
	TypeResponseFunctionCallArgumentsDone  = "response.function_call_arguments.done"
	TypeRateLimitsUpdated                  = "rate_limits.updated"
	TypeOutputAudioBufferStarted           = "output_audio_buffer.started"
	TypeOutputAudioBufferStopped           = "output_audio_buffer.stopped"
	TypeOutputAudioBufferCleared           = "output_audio_buffer.cleared"
)

// ErrorEvent reports a failure (error). Error.EventID names the client
// event that caused it, when one did.
type ErrorEvent struct {
	EventID string   `json:"event_id,omitempty"`
	Error   APIError `json:"error"`
}

// SessionCreated is the first event of a connection (session.created).
type SessionCreated struct {
	EventID string  `json:"event_id,omitempty"`
	Session Session `json:"session"`
}

// SessionUpdated answers session.update with the whole effective
// configuration (session.updated).
type SessionUpdated struct {
	EventID string  `json:"event_id,omitempty"`
	Session Session `json:"session"`
}

// TranscriptionSessionUpdated is the beta transcription_session.updated.
type TranscriptionSessionUpdated struct {
	EventID string  `json:"event_id,omitempty"`
	Session Session `json:"session"`
}

// ConversationCreated reports the session's conversation
// (conversation.created).
type ConversationCreated struct {
	EventID      string       `json:"event_id,omitempty"`
	Conversation Conversation `json:"conversation"`
}

// InputAudioBufferCommitted reports the input buffer made a user item
// (input_audio_buffer.committed).
type InputAudioBufferCommitted struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	ItemID         string `json:"item_id"`
}

// InputAudioBufferCleared answers input_audio_buffer.clear
// (input_audio_buffer.cleared).
type InputAudioBufferCleared struct {
	EventID string `json:"event_id,omitempty"`
}

// InputAudioBufferSpeechStarted reports speech detected by the server's
// turn detection (input_audio_buffer.speech_started).
type InputAudioBufferSpeechStarted struct {
	EventID      string `json:"event_id,omitempty"`
	AudioStartMS int    `json:"audio_start_ms"`
	ItemID       string `json:"item_id"`
}

// InputAudioBufferSpeechStopped reports the end of speech detected by the
// server's turn detection (input_audio_buffer.speech_stopped).
type InputAudioBufferSpeechStopped struct {
	EventID    string `json:"event_id,omitempty"`
	AudioEndMS int    `json:"audio_end_ms"`
	ItemID     string `json:"item_id"`
}

// ConversationItemAdded reports an item added to the conversation
// (conversation.item.added).
type ConversationItemAdded struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemDone reports an item complete (conversation.item.done).
type ConversationItemDone struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemCreated reports an item created (conversation.item.created,
// the beta name of conversation.item.added).
type ConversationItemCreated struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemRetrieved answers conversation.item.retrieve
// (conversation.item.retrieved).
type ConversationItemRetrieved struct {
	EventID string `json:"event_id,omitempty"`
	Item    Item   `json:"item"`
}

// ConversationItemTruncated answers conversation.item.truncate
// (conversation.item.truncated).
type ConversationItemTruncated struct {
	EventID      string `json:"event_id,omitempty"`
	ItemID       string `json:"item_id"`
	ContentIndex int    `json:"content_index"`
	AudioEndMS   int    `json:"audio_end_ms"`
}

// ConversationItemDeleted answers conversation.item.delete
// (conversation.item.deleted).
type ConversationItemDeleted struct {
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// InputAudioTranscriptionDelta is more of the transcript of a committed
// user item (conversation.item.input_audio_transcription.delta).
type InputAudioTranscriptionDelta struct {
	EventID      string    `json:"event_id,omitempty"`
	ItemID       string    `json:"item_id"`
	ContentIndex int       `json:"content_index"`
	Delta        string    `json:"delta"`
	LogProbs     []LogProb `json:"logprobs,omitempty"`
}

// InputAudioTranscriptionCompleted is the whole transcript of a committed
// user item (conversation.item.input_audio_transcription.completed).
type InputAudioTranscriptionCompleted struct {
	EventID      string              `json:"event_id,omitempty"`
	ItemID       string              `json:"item_id"`
	ContentIndex int                 `json:"content_index"`
	Transcript   string              `json:"transcript"`
	LogProbs     []LogProb           `json:"logprobs,omitempty"`
	Usage        *TranscriptionUsage `json:"usage,omitempty"`
}

// InputAudioTranscriptionFailed reports a transcription that failed
// (conversation.item.input_audio_transcription.failed).
type InputAudioTranscriptionFailed struct {
	EventID      string   `json:"event_id,omitempty"`
	ItemID       string   `json:"item_id"`
	ContentIndex int      `json:"content_index"`
	Error        APIError `json:"error"`
}

// ResponseCreated reports a response started (response.created).
type ResponseCreated struct {
	EventID  string   `json:"event_id,omitempty"`
	Response Response `json:"response"`
}

// ResponseDone reports a response ended, with its status and usage
// (response.done).
type ResponseDone struct {
	EventID  string   `json:"event_id,omitempty"`
	Response Response `json:"response"`
}

// ResponseOutputItemAdded reports an output item started
// (response.output_item.added).
type ResponseOutputItemAdded struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	OutputIndex int    `json:"output_index"`
	Item        Item   `json:"item"`
}

// ResponseOutputItemDone reports an output item complete
// (response.output_item.done).
type ResponseOutputItemDone struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	OutputIndex int    `json:"output_index"`
	Item        Item   `json:"item"`
}

// ResponseContentPartAdded reports a content part started
// (response.content_part.added).
type ResponseContentPartAdded struct {
	EventID      string      `json:"event_id,omitempty"`
	ResponseID   string      `json:"response_id"`
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	ContentIndex int         `json:"content_index"`
	Part         ContentPart `json:"part"`
}

// ResponseContentPartDone reports a content part complete
// (response.content_part.done).
type ResponseContentPartDone struct {
	EventID      string      `json:"event_id,omitempty"`
	ResponseID   string      `json:"response_id"`
	ItemID       string      `json:"item_id"`
	OutputIndex  int         `json:"output_index"`
	ContentIndex int         `json:"content_index"`
	Part         ContentPart `json:"part"`
}

// ResponseOutputAudioDelta is more base64 audio of a response
// (response.output_audio.delta; beta response.audio.delta).
type ResponseOutputAudioDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ResponseOutputAudioDone reports a response's audio complete
// (response.output_audio.done; beta response.audio.done).
type ResponseOutputAudioDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
}

// ResponseOutputAudioTranscriptDelta is more of the transcript of a
// response's audio (response.output_audio_transcript.delta; beta
// response.audio_transcript.delta).
type ResponseOutputAudioTranscriptDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ResponseOutputAudioTranscriptDone is the whole transcript of a response's
// audio (response.output_audio_transcript.done; beta
// response.audio_transcript.done).
type ResponseOutputAudioTranscriptDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Transcript   string `json:"transcript"`
}

// ResponseOutputTextDelta is more text of a response
// (response.output_text.delta; beta response.text.delta).
type ResponseOutputTextDelta struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

// ResponseOutputTextDone is the whole text of a response
// (response.output_text.done; beta response.text.done).
type ResponseOutputTextDone struct {
	EventID      string `json:"event_id,omitempty"`
	ResponseID   string `json:"response_id"`
	ItemID       string `json:"item_id"`
	OutputIndex  int    `json:"output_index"`
	ContentIndex int    `json:"content_index"`
	Text         string `json:"text"`
}

// ResponseFunctionCallArgumentsDelta is more of a function call's
// arguments (response.function_call_arguments.delta).
type ResponseFunctionCallArgumentsDelta struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	CallID      string `json:"call_id"`
	Delta       string `json:"delta"`
}

// ResponseFunctionCallArgumentsDone is a complete function call
// (response.function_call_arguments.done).
type ResponseFunctionCallArgumentsDone struct {
	EventID     string `json:"event_id,omitempty"`
	ResponseID  string `json:"response_id"`
	ItemID      string `json:"item_id"`
	OutputIndex int    `json:"output_index"`
	CallID      string `json:"call_id"`
	Name        string `json:"name"`
	Arguments   string `json:"arguments"`
}

// RateLimitsUpdated reports the current rate limits (rate_limits.updated).
type RateLimitsUpdated struct {
	EventID    string      `json:"event_id,omitempty"`
	RateLimits []RateLimit `json:"rate_limits"`
}

// OutputAudioBufferStarted reports output audio started playing
// (output_audio_buffer.started; WebRTC and SIP only).
type OutputAudioBufferStarted struct {
	EventID    string `json:"event_id,omitempty"`
	ResponseID string `json:"response_id"`
}

// OutputAudioBufferStopped reports output audio done playing
// (output_audio_buffer.stopped; WebRTC and SIP only).
type OutputAudioBufferStopped struct {
	EventID    string `json:"event_id,omitempty"`
	ResponseID string `json:"response_id"`
}

// OutputAudioBufferCleared reports output audio cut off
// (output_audio_buffer.cleared; WebRTC and SIP only).
type OutputAudioBufferCleared struct {
	EventID    string `json:"event_id,omitempty"`
	ResponseID string `json:"response_id"`
}

// EventType returns "error".
func (ErrorEvent) EventType() string { return TypeError }

// EventType returns "session.created".
func (SessionCreated) EventType() string { return TypeSessionCreated }

// EventType returns "session.updated".
func (SessionUpdated) EventType() string { return TypeSessionUpdated }

// EventType returns "transcription_session.updated".
func (TranscriptionSessionUpdated) EventType() string { return TypeTranscriptionSessionUpdated }

// EventType returns "conversation.created".
func (ConversationCreated) EventType() string { return TypeConversationCreated }

// EventType returns "input_audio_buffer.committed".
func (InputAudioBufferCommitted) EventType() string { return TypeInputAudioBufferCommitted }

// EventType returns "input_audio_buffer.cleared".
func (InputAudioBufferCleared) EventType() string { return TypeInputAudioBufferCleared }

// EventType returns "input_audio_buffer.speech_started".
func (InputAudioBufferSpeechStarted) EventType() string { return TypeInputAudioBufferSpeechStarted }

// EventType returns "input_audio_buffer.speech_stopped".
func (InputAudioBufferSpeechStopped) EventType() string { return TypeInputAudioBufferSpeechStopped }

// EventType returns "conversation.item.added".
func (ConversationItemAdded) EventType() string { return TypeConversationItemAdded }

// EventType returns "conversation.item.done".
func (ConversationItemDone) EventType() string { return TypeConversationItemDone }

// EventType returns "conversation.item.created".
func (ConversationItemCreated) EventType() string { return TypeConversationItemCreated }

// EventType returns "conversation.item.retrieved".
func (ConversationItemRetrieved) EventType() string { return TypeConversationItemRetrieved }

// EventType returns "conversation.item.truncated".
func (ConversationItemTruncated) EventType() string { return TypeConversationItemTruncated }

// EventType returns "conversation.item.deleted".
func (ConversationItemDeleted) EventType() string { return TypeConversationItemDeleted }

// EventType returns "conversation.item.input_audio_transcription.delta".
func (InputAudioTranscriptionDelta) EventType() string { return TypeInputAudioTranscriptionDelta }

// EventType returns "conversation.item.input_audio_transcription.completed".
func (InputAudioTranscriptionCompleted) EventType() string {
	return TypeInputAudioTranscriptionCompleted
}

// EventType returns "conversation.item.input_audio_transcription.failed".
func (InputAudioTranscriptionFailed) EventType() string { return TypeInputAudioTranscriptionFailed }

// EventType returns "response.created".
func (ResponseCreated) EventType() string { return TypeResponseCreated }

// EventType returns "response.done".
func (ResponseDone) EventType() string { return TypeResponseDone }

// EventType returns "response.output_item.added".
func (ResponseOutputItemAdded) EventType() string { return TypeResponseOutputItemAdded }

// EventType returns "response.output_item.done".
func (ResponseOutputItemDone) EventType() string { return TypeResponseOutputItemDone }

// EventType returns "response.content_part.added".
func (ResponseContentPartAdded) EventType() string { return TypeResponseContentPartAdded }

// EventType returns "response.content_part.done".
func (ResponseContentPartDone) EventType() string { return TypeResponseContentPartDone }

// EventType returns "response.output_audio.delta".
func (ResponseOutputAudioDelta) EventType() string { return TypeResponseOutputAudioDelta }

// EventType returns "response.output_audio.done".
func (ResponseOutputAudioDone) EventType() string { return TypeResponseOutputAudioDone }

// EventType returns "response.output_audio_transcript.delta".
func (ResponseOutputAudioTranscriptDelta) EventType() string {
	return TypeResponseOutputAudioTranscriptDelta
}

// EventType returns "response.output_audio_transcript.done".
func (ResponseOutputAudioTranscriptDone) EventType() string {
	return TypeResponseOutputAudioTranscriptDone
}

// EventType returns "response.output_text.delta".
func (ResponseOutputTextDelta) EventType() string { return TypeResponseOutputTextDelta }

// EventType returns "response.output_text.done".
func (ResponseOutputTextDone) EventType() string { return TypeResponseOutputTextDone }

// EventType returns "response.function_call_arguments.delta".
func (ResponseFunctionCallArgumentsDelta) EventType() string {
	return TypeResponseFunctionCallArgumentsDelta
}

// EventType returns "response.function_call_arguments.done".
func (ResponseFunctionCallArgumentsDone) EventType() string {
	return TypeResponseFunctionCallArgumentsDone
}

// EventType returns "rate_limits.updated".
func (RateLimitsUpdated) EventType() string { return TypeRateLimitsUpdated }

// EventType returns "output_audio_buffer.started".
func (OutputAudioBufferStarted) EventType() string { return TypeOutputAudioBufferStarted }

// EventType returns "output_audio_buffer.stopped".
func (OutputAudioBufferStopped) EventType() string { return TypeOutputAudioBufferStopped }

// EventType returns "output_audio_buffer.cleared".
func (OutputAudioBufferCleared) EventType() string { return TypeOutputAudioBufferCleared }

// serverEvents makes an empty event for each server event type, the beta
// names of the response events included.
var serverEvents = map[string]func() Event{
	TypeError:                              func() Event { return new(ErrorEvent) },
	TypeSessionCreated:                     func() Event { return new(SessionCreated) },
	TypeSessionUpdated:                     func() Event { return new(SessionUpdated) },
	TypeTranscriptionSessionUpdated:        func() Event { return new(TranscriptionSessionUpdated) },
	TypeConversationCreated:                func() Event { return new(ConversationCreated) },
	TypeInputAudioBufferCommitted:          func() Event { return new(InputAudioBufferCommitted) },
	TypeInputAudioBufferCleared:            func() Event { return new(InputAudioBufferCleared) },
	TypeInputAudioBufferSpeechStarted:      func() Event { return new(InputAudioBufferSpeechStarted) },
	TypeInputAudioBufferSpeechStopped:      func() Event { return new(InputAudioBufferSpeechStopped) },
	TypeConversationItemAdded:              func() Event { return new(ConversationItemAdded) },
	TypeConversationItemDone:               func() Event { return new(ConversationItemDone) },
	TypeConversationItemCreated:            func() Event { return new(ConversationItemCreated) },
	TypeConversationItemRetrieved:          func() Event { return new(ConversationItemRetrieved) },
	TypeConversationItemTruncated:          func() Event { return new(ConversationItemTruncated) },
	TypeConversationItemDeleted:            func() Event { return new(ConversationItemDeleted) },
	TypeInputAudioTranscriptionDelta:       func() Event { return new(InputAudioTranscriptionDelta) },
	TypeInputAudioTranscriptionCompleted:   func() Event { return new(InputAudioTranscriptionCompleted) },
	TypeInputAudioTranscriptionFailed:      func() Event { return new(InputAudioTranscriptionFailed) },
	TypeResponseCreated:                    func() Event { return new(ResponseCreated) },
	TypeResponseDone:                       func() Event { return new(ResponseDone) },
	TypeResponseOutputItemAdded:            func() Event { return new(ResponseOutputItemAdded) },
	TypeResponseOutputItemDone:             func() Event { return new(ResponseOutputItemDone) },
	TypeResponseContentPartAdded:           func() Event { return new(ResponseContentPartAdded) },
	TypeResponseContentPartDone:            func() Event { return new(ResponseContentPartDone) },
	TypeResponseOutputAudioDelta:           func() Event { return new(ResponseOutputAudioDelta) },
	TypeResponseOutputAudioDone:            func() Event { return new(ResponseOutputAudioDone) },
	TypeResponseOutputAudioTranscriptDelta: func() Event { return new(ResponseOutputAudioTranscriptDelta) },
	TypeResponseOutputAudioTranscriptDone:  func() Event { return new(ResponseOutputAudioTranscriptDone) },
	TypeResponseOutputTextDelta:            func() Event { return new(ResponseOutputTextDelta) },
	TypeResponseOutputTextDone:             func() Event { return new(ResponseOutputTextDone) },
	TypeResponseFunctionCallArgumentsDelta: func() Event { return new(ResponseFunctionCallArgumentsDelta) },
	TypeResponseFunctionCallArgumentsDone:  func() Event { return new(ResponseFunctionCallArgumentsDone) },
	TypeRateLimitsUpdated:                  func() Event { return new(RateLimitsUpdated) },
	TypeOutputAudioBufferStarted:           func() Event { return new(OutputAudioBufferStarted) },
	TypeOutputAudioBufferStopped:           func() Event { return new(OutputAudioBufferStopped) },
	TypeOutputAudioBufferCleared:           func() Event { return new(OutputAudioBufferCleared) },
	"response.audio.delta":                 func() Event { return new(ResponseOutputAudioDelta) },           // beta
	"response.audio.done":                  func() Event { return new(ResponseOutputAudioDone) },            // beta
	"response.audio_transcript.delta":      func() Event { return new(ResponseOutputAudioTranscriptDelta) }, // beta
	"response.audio_transcript.done":       func() Event { return new(ResponseOutputAudioTranscriptDone) },  // beta
	"response.text.delta":                  func() Event { return new(ResponseOutputTextDelta) },            // beta
	"response.text.done":                   func() Event { return new(ResponseOutputTextDone) },             // beta
}
