package realtimeapi

import (
	"bytes"
	"encoding/json"
)

// Session types (Session.Type).
const (
	SessionRealtime      = "realtime"
	SessionTranscription = "transcription"
)

// Audio format types (AudioFormat.Type).
const (
	FormatPCM  = "audio/pcm" // 16-bit little-endian mono at Rate (24000)
	FormatPCMU = "audio/pcmu"
	FormatPCMA = "audio/pcma"
)

// Beta audio format names (Session.InputAudioFormat, OutputAudioFormat).
const (
	BetaFormatPCM16 = "pcm16"
	BetaFormatULaw  = "g711_ulaw"
	BetaFormatALaw  = "g711_alaw"
)

// Turn detection types (TurnDetection.Type).
const (
	TurnServerVAD   = "server_vad"
	TurnSemanticVAD = "semantic_vad"
)

// Session is the configuration of a session: what a client sends in
// session.update and what a server reports in session.created and
// session.updated. Fields left zero are absent on the wire, so an update
// changes only what it sets. Instructions is a pointer because an empty
// string clears it; Tools uses omitzero because an empty (non-nil) list
// clears them.
type Session struct {
	Type      string `json:"type,omitempty"` // SessionRealtime or SessionTranscription
	ID        string `json:"id,omitempty"`
	Object    string `json:"object,omitempty"`
	ExpiresAt int64  `json:"expires_at,omitempty"`
	Model     string `json:"model,omitempty"`

	OutputModalities  []string        `json:"output_modalities,omitempty"` // "text", "audio"
	Instructions      *string         `json:"instructions,omitempty"`
	Audio             *SessionAudio   `json:"audio,omitempty"`
	Include           []string        `json:"include,omitempty"`
	Tools             []Tool          `json:"tools,omitzero"`
	ToolChoice        json.RawMessage `json:"tool_choice,omitempty"` // "auto", "none", "required" or an object
	ParallelToolCalls *bool           `json:"parallel_tool_calls,omitempty"`
	MaxOutputTokens   json.RawMessage `json:"max_output_tokens,omitempty"` // a number or "inf"
	Tracing           json.RawMessage `json:"tracing,omitempty"`
	Truncation        json.RawMessage `json:"truncation,omitempty"`
	Prompt            json.RawMessage `json:"prompt,omitempty"`

	// The beta shape, for servers and clients that predate the GA one.
	Modalities               []string           `json:"modalities,omitempty"`
	Voice                    string             `json:"voice,omitempty"`
	InputAudioFormat         string             `json:"input_audio_format,omitempty"` // BetaFormatPCM16, ...
	OutputAudioFormat        string             `json:"output_audio_format,omitempty"`
	InputAudioTranscription  *Transcription     `json:"input_audio_transcription,omitempty"`
	InputAudioNoiseReduction *NoiseReduction    `json:"input_audio_noise_reduction,omitempty"`
	TurnDetection            TurnDetectionField `json:"turn_detection,omitzero"`
	Temperature              *float64           `json:"temperature,omitempty"`
	MaxResponseOutputTokens  json.RawMessage    `json:"max_response_output_tokens,omitempty"`
}

// SessionAudio is the audio part of a GA session.
type SessionAudio struct {
	Input  *AudioInput  `json:"input,omitempty"`
	Output *AudioOutput `json:"output,omitempty"`
}

// AudioInput configures the audio a client sends.
type AudioInput struct {
	Format         *AudioFormat       `json:"format,omitempty"`
	Transcription  *Transcription     `json:"transcription,omitempty"`
	NoiseReduction *NoiseReduction    `json:"noise_reduction,omitempty"`
	TurnDetection  TurnDetectionField `json:"turn_detection,omitzero"`
}

// AudioOutput configures the audio a server sends.
type AudioOutput struct {
	Format *AudioFormat `json:"format,omitempty"`
	Voice  string       `json:"voice,omitempty"`
	Speed  *float64     `json:"speed,omitempty"`
}

// AudioFormat is a GA audio format: {type: "audio/pcm", rate: 24000},
// {type: "audio/pcmu"} or {type: "audio/pcma"}.
type AudioFormat struct {
	Type string `json:"type"`
	Rate int    `json:"rate,omitempty"`
}

// Transcription configures the transcription of input audio.
type Transcription struct {
	Model    string `json:"model,omitempty"`
	Language string `json:"language,omitempty"` // ISO-639-1, e.g. "en"
	Prompt   string `json:"prompt,omitempty"`
}

// NoiseReduction selects input noise reduction ("near_field", "far_field").
type NoiseReduction struct {
	Type string `json:"type,omitempty"`
}

// TurnDetection configures the server's own voice activity detection.
type TurnDetection struct {
	Type              string   `json:"type"` // TurnServerVAD or TurnSemanticVAD
	Threshold         *float64 `json:"threshold,omitempty"`
	PrefixPaddingMS   *int     `json:"prefix_padding_ms,omitempty"`
	SilenceDurationMS *int     `json:"silence_duration_ms,omitempty"`
	IdleTimeoutMS     *int     `json:"idle_timeout_ms,omitempty"`
	Eagerness         string   `json:"eagerness,omitempty"` // semantic_vad: low, medium, high, auto
	CreateResponse    *bool    `json:"create_response,omitempty"`
	InterruptResponse *bool    `json:"interrupt_response,omitempty"`
}

// TurnDetectionField is a turn_detection field, which has three states on
// the wire: absent (the zero value: leave it as it is), null (Set with a
// nil Value: no server VAD, the client commits each turn) and a
// configuration.
type TurnDetectionField struct {
	Set   bool
	Value *TurnDetection
}

// NoTurnDetection is turn_detection: null.
var NoTurnDetection = TurnDetectionField{Set: true}

// WithTurnDetection returns turn_detection set to td.
func WithTurnDetection(td TurnDetection) TurnDetectionField {
	return TurnDetectionField{Set: true, Value: &td}
}

// IsZero reports an absent field (for omitzero).
func (f TurnDetectionField) IsZero() bool { return !f.Set }

// MarshalJSON writes null or the configuration.
func (f TurnDetectionField) MarshalJSON() ([]byte, error) {
	if f.Value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(f.Value)
}

// UnmarshalJSON reads null or a configuration; it is called only when the
// field is present.
func (f *TurnDetectionField) UnmarshalJSON(b []byte) error {
	f.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		f.Value = nil
		return nil
	}
	var td TurnDetection
	if err := json.Unmarshal(b, &td); err != nil {
		return err
	}
	f.Value = &td
	return nil
}

// Tool is a function the model may call.
type Tool struct {
	Type        string          `json:"type"` // "function"
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"` // JSON schema
}

// Item types (Item.Type).
const (
	ItemMessage            = "message"
	ItemFunctionCall       = "function_call"
	ItemFunctionCallOutput = "function_call_output"
)

// Item is a conversation item: a message, a function call or a function
// call's output.
type Item struct {
	ID        string        `json:"id,omitempty"`
	Object    string        `json:"object,omitempty"` // "realtime.item"
	Type      string        `json:"type"`             // ItemMessage, ...
	Status    string        `json:"status,omitempty"` // completed, incomplete, in_progress
	Role      string        `json:"role,omitempty"`   // user, assistant, system
	Content   []ContentPart `json:"content,omitempty"`
	CallID    string        `json:"call_id,omitempty"`
	Name      string        `json:"name,omitempty"`
	Arguments string        `json:"arguments,omitempty"`
	Output    string        `json:"output,omitempty"`
}

// MarshalJSON writes the fields a client expects of the item's type even
// when they are empty: arguments of a function_call, output of a
// function_call_output (clients validate that they are there).
func (it Item) MarshalJSON() ([]byte, error) {
	type plain Item // without this method
	switch it.Type {
	case ItemFunctionCall:
		return json.Marshal(struct {
			plain
			Arguments string `json:"arguments"`
		}{plain(it), it.Arguments})
	case ItemFunctionCallOutput:
		return json.Marshal(struct {
			plain
			Output string `json:"output"`
		}{plain(it), it.Output})
	}
	return json.Marshal(plain(it))
}

// ContentPart is one part of a message: input_text, input_audio,
// input_image, output_text or output_audio (and in response.content_part
// events, text or audio).
type ContentPart struct {
	Type       string `json:"type"`
	Text       string `json:"text,omitempty"`
	Audio      string `json:"audio,omitempty"` // base64
	Transcript string `json:"transcript,omitempty"`
	ImageURL   string `json:"image_url,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// MarshalJSON writes the part's text even when it is empty: "text" for the
// text types, "transcript" for the audio types (clients validate that it
// is there; an input_audio part not yet transcribed has "").
func (p ContentPart) MarshalJSON() ([]byte, error) {
	type plain ContentPart // without this method
	switch p.Type {
	case "input_text", "output_text", "text":
		return json.Marshal(struct {
			plain
			Text string `json:"text"`
		}{plain(p), p.Text})
	case "input_audio", "output_audio", "audio":
		return json.Marshal(struct {
			plain
			Transcript string `json:"transcript"`
		}{plain(p), p.Transcript})
	}
	return json.Marshal(plain(p))
}

// ResponseParams configures one response (response.create).
type ResponseParams struct {
	OutputModalities []string          `json:"output_modalities,omitempty"`
	Instructions     string            `json:"instructions,omitempty"`
	Audio            *ResponseAudio    `json:"audio,omitempty"`
	Tools            []Tool            `json:"tools,omitzero"`
	ToolChoice       json.RawMessage   `json:"tool_choice,omitempty"`
	MaxOutputTokens  json.RawMessage   `json:"max_output_tokens,omitempty"`
	Conversation     string            `json:"conversation,omitempty"` // "auto", "none" or an id
	Metadata         map[string]string `json:"metadata,omitempty"`
	Input            []Item            `json:"input,omitempty"`
}

// ResponseAudio is the audio output of a response.
type ResponseAudio struct {
	Output *AudioOutput `json:"output,omitempty"`
}

// Response statuses (Response.Status).
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusCancelled  = "cancelled"
	StatusFailed     = "failed"
	StatusIncomplete = "incomplete"
)

// Response is a model response, in response.created and response.done.
type Response struct {
	ID               string            `json:"id,omitempty"`
	Object           string            `json:"object,omitempty"` // "realtime.response"
	Status           string            `json:"status,omitempty"`
	StatusDetails    *StatusDetails    `json:"status_details,omitempty"`
	Output           []Item            `json:"output,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	Audio            *ResponseAudio    `json:"audio,omitempty"`
	Usage            *Usage            `json:"usage,omitempty"`
	ConversationID   string            `json:"conversation_id,omitempty"`
	OutputModalities []string          `json:"output_modalities,omitempty"`
	MaxOutputTokens  json.RawMessage   `json:"max_output_tokens,omitempty"`
}

// StatusDetails tells why a response ended as it did.
type StatusDetails struct {
	Type   string    `json:"type,omitempty"`
	Reason string    `json:"reason,omitempty"` // turn_detected, client_cancelled, ...
	Error  *APIError `json:"error,omitempty"`
}

// Usage counts a response's tokens.
type Usage struct {
	TotalTokens        int           `json:"total_tokens"`
	InputTokens        int           `json:"input_tokens"`
	OutputTokens       int           `json:"output_tokens"`
	InputTokenDetails  *TokenDetails `json:"input_token_details,omitempty"`
	OutputTokenDetails *TokenDetails `json:"output_token_details,omitempty"`
}

// TokenDetails splits a token count by kind.
type TokenDetails struct {
	CachedTokens int `json:"cached_tokens,omitempty"`
	TextTokens   int `json:"text_tokens,omitempty"`
	ImageTokens  int `json:"image_tokens,omitempty"`
	AudioTokens  int `json:"audio_tokens,omitempty"`
}

// TranscriptionUsage is what a transcription cost: tokens (Type "tokens")
// or seconds of audio (Type "duration").
type TranscriptionUsage struct {
	Type              string        `json:"type,omitempty"`
	InputTokens       int           `json:"input_tokens,omitempty"`
	OutputTokens      int           `json:"output_tokens,omitempty"`
	TotalTokens       int           `json:"total_tokens,omitempty"`
	InputTokenDetails *TokenDetails `json:"input_token_details,omitempty"`
	Seconds           float64       `json:"seconds,omitempty"`
}

// LogProb is the log probability of one token of a transcript.
type LogProb struct {
	Token   string  `json:"token"`
	LogProb float64 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

// RateLimit is one limit in rate_limits.updated.
type RateLimit struct {
	Name         string  `json:"name"` // "requests" or "tokens"
	Limit        int     `json:"limit"`
	Remaining    int     `json:"remaining"`
	ResetSeconds float64 `json:"reset_seconds"`
}

// Conversation is the conversation of a session (conversation.created).
type Conversation struct {
	ID     string `json:"id,omitempty"`
	Object string `json:"object,omitempty"`
}
