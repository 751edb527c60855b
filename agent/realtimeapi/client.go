package realtimeapi

// Client event types: what a client sends.
const (
	TypeSessionUpdate              = "session.update"
	TypeTranscriptionSessionUpdate = "transcription_session.update" // beta
	TypeInputAudioBufferAppend     = "input_audio_buffer.append"
	TypeInputAudioBufferCommit     = "input_audio_buffer.commit"
	TypeInputAudioBufferClear      = "input_audio_buffer.clear"
	TypeOutputAudioBufferClear     = "output_audio_buffer.clear"
	TypeConversationItemCreate     = "conversation.item.create"
	TypeConversationItemRetrieve   = "conversation.item.retrieve"
	TypeConversationItemTruncate   = "conversation.item.truncate"
	TypeConversationItemDelete     = "conversation.item.delete"
	TypeResponseCreate             = "response.create"
	TypeResponseCancel             = "response.cancel"
)

// SessionUpdate changes the session's configuration (session.update).
type SessionUpdate struct {
	EventID string  `json:"event_id,omitempty"`
	Session Session `json:"session"`
}

// TranscriptionSessionUpdate is the beta transcription_session.update.
type TranscriptionSessionUpdate struct {
	EventID string  `json:"event_id,omitempty"`
	Session Session `json:"session"`
}

// InputAudioBufferAppend adds base64 audio to the input buffer
// (input_audio_buffer.append). EncodePCM16 makes Audio from samples.
type InputAudioBufferAppend struct {
	EventID string `json:"event_id,omitempty"`
	Audio   string `json:"audio"`
}

// InputAudioBufferCommit makes the input buffer a user item
// (input_audio_buffer.commit).
type InputAudioBufferCommit struct {
	EventID string `json:"event_id,omitempty"`
}

// InputAudioBufferClear empties the input buffer (input_audio_buffer.clear).
type InputAudioBufferClear struct {
	EventID string `json:"event_id,omitempty"`
}

// OutputAudioBufferClear cuts off the audio being played
// (output_audio_buffer.clear; WebRTC and SIP only).
type OutputAudioBufferClear struct {
	EventID string `json:"event_id,omitempty"`
}

// ConversationItemCreate adds an item (conversation.item.create).
type ConversationItemCreate struct {
	EventID        string `json:"event_id,omitempty"`
	PreviousItemID string `json:"previous_item_id,omitempty"`
	Item           Item   `json:"item"`
}

// ConversationItemRetrieve asks for an item (conversation.item.retrieve).
type ConversationItemRetrieve struct {
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// ConversationItemTruncate cuts an assistant item's audio to what was
// played (conversation.item.truncate).
type ConversationItemTruncate struct {
	EventID      string `json:"event_id,omitempty"`
	ItemID       string `json:"item_id"`
	ContentIndex int    `json:"content_index"`
	AudioEndMS   int    `json:"audio_end_ms"`
}

// ConversationItemDelete removes an item (conversation.item.delete).
type ConversationItemDelete struct {
	EventID string `json:"event_id,omitempty"`
	ItemID  string `json:"item_id"`
}

// ResponseCreate asks for a response (response.create).
type ResponseCreate struct {
	EventID  string          `json:"event_id,omitempty"`
	Response *ResponseParams `json:"response,omitempty"`
}

// ResponseCancel cancels the response in progress (response.cancel).
type ResponseCancel struct {
	EventID    string `json:"event_id,omitempty"`
	ResponseID string `json:"response_id,omitempty"`
}

// EventType returns "session.update".
func (SessionUpdate) EventType() string { return TypeSessionUpdate }

// EventType returns "transcription_session.update".
func (TranscriptionSessionUpdate) EventType() string { return TypeTranscriptionSessionUpdate }

// EventType returns "input_audio_buffer.append".
func (InputAudioBufferAppend) EventType() string { return TypeInputAudioBufferAppend }

// EventType returns "input_audio_buffer.commit".
func (InputAudioBufferCommit) EventType() string { return TypeInputAudioBufferCommit }

// EventType returns "input_audio_buffer.clear".
func (InputAudioBufferClear) EventType() string { return TypeInputAudioBufferClear }

// EventType returns "output_audio_buffer.clear".
func (OutputAudioBufferClear) EventType() string { return TypeOutputAudioBufferClear }

// EventType returns "conversation.item.create".
func (ConversationItemCreate) EventType() string { return TypeConversationItemCreate }

// EventType returns "conversation.item.retrieve".
func (ConversationItemRetrieve) EventType() string { return TypeConversationItemRetrieve }

// EventType returns "conversation.item.truncate".
func (ConversationItemTruncate) EventType() string { return TypeConversationItemTruncate }

// EventType returns "conversation.item.delete".
func (ConversationItemDelete) EventType() string { return TypeConversationItemDelete }

// EventType returns "response.create".
func (ResponseCreate) EventType() string { return TypeResponseCreate }

// EventType returns "response.cancel".
func (ResponseCancel) EventType() string { return TypeResponseCancel }

// clientEvents makes an empty event for each client event type.
var clientEvents = map[string]func() Event{
	TypeSessionUpdate:              func() Event { return new(SessionUpdate) },
	TypeTranscriptionSessionUpdate: func() Event { return new(TranscriptionSessionUpdate) },
	TypeInputAudioBufferAppend:     func() Event { return new(InputAudioBufferAppend) },
	TypeInputAudioBufferCommit:     func() Event { return new(InputAudioBufferCommit) },
	TypeInputAudioBufferClear:      func() Event { return new(InputAudioBufferClear) },
	TypeOutputAudioBufferClear:     func() Event { return new(OutputAudioBufferClear) },
	TypeConversationItemCreate:     func() Event { return new(ConversationItemCreate) },
	TypeConversationItemRetrieve:   func() Event { return new(ConversationItemRetrieve) },
	TypeConversationItemTruncate:   func() Event { return new(ConversationItemTruncate) },
	TypeConversationItemDelete:     func() Event { return new(ConversationItemDelete) },
	TypeResponseCreate:             func() Event { return new(ResponseCreate) },
	TypeResponseCancel:             func() Event { return new(ResponseCancel) },
}
