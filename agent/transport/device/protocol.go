package device

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/harkvoice/hark/agent/language"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/pcm"
)

// ProtocolVersion is the device protocol version this package speaks.
const ProtocolVersion = 1

// Audio encodings a device may choose in its hello.
const (
	// EncodingPCM16 is raw signed 16-bit little-endian mono PCM at 16 kHz.
	EncodingPCM16 = "pcm16"
	// EncodingOpus is one Opus packet per binary message, mono, at 16 or
	// 48 kHz.
	EncodingOpus = "opus"
)

// Message types. Client to server: hello, text, image, stop, played, bye.
// Server to client: hello, clear, mark, error, goodbye, and the session
// events of transport.EventType (state, user_partial, user_final,
// agent_text, agent_done, interruption, resumed, turn_metrics, tool_call,
// handoff).
const (
	TypeHello   = "hello"
	TypeText    = "text"
	TypeImage   = "image"
	TypeStop    = "stop"
	TypePlayed  = "played"
	TypeBye     = "bye"
	TypeClear   = "clear"
	TypeMark    = "mark"
	TypeError   = "error"
	TypeGoodbye = "goodbye" // the server is shutting down; a close 1001 follows
)

// maxMarkName bounds the name of a played message.
const maxMarkName = 128

// maxTextRunes bounds a typed user turn.
const maxTextRunes = 4000

// maxDeviceName bounds the device name of a hello, which every log line of
// the session carries.
const maxDeviceName = 64

// AudioFormat is the audio a device sends, and (in the server hello) the
// audio the server sends back: the same encoding and rate.
type AudioFormat struct {
	Encoding   string `json:"encoding"`           // EncodingPCM16 or EncodingOpus
	SampleRate int    `json:"sample_rate"`        // 16000 (pcm16, opus) or 48000 (opus)
	Channels   int    `json:"channels,omitempty"` // 1; zero means 1
	// FrameMs is, in the server hello, the duration of each server audio
	// message (20). Devices may leave it zero.
	FrameMs int `json:"frame_ms,omitempty"`
}

// Format returns the PCM format the audio decodes to.
func (a AudioFormat) Format() pcm.Format {
	return pcm.Format{Rate: a.SampleRate, Channels: 1}
}

// validate checks that the server accepts the format.
func (a AudioFormat) validate() error {
	if a.Channels != 0 && a.Channels != 1 {
		return protoErr(CodeBadAudioFormat, "channels must be 1, got %d", a.Channels)
	}
	switch a.Encoding {
	case EncodingPCM16:
		if a.SampleRate != 16000 {
			return protoErr(CodeBadAudioFormat, "pcm16 needs sample_rate 16000, got %d", a.SampleRate)
		}
	case EncodingOpus:
		if a.SampleRate != 16000 && a.SampleRate != 48000 {
			return protoErr(CodeBadAudioFormat, "opus needs sample_rate 16000 or 48000, got %d", a.SampleRate)
		}
	case "":
		return protoErr(CodeBadAudioFormat, "audio.encoding is missing")
	default:
		return protoErr(CodeBadAudioFormat, "encoding %q is not pcm16 or opus", a.Encoding)
	}
	return nil
}

// Hello is the first message of a device: who it is and what audio it
// sends.
type Hello struct {
	Version int    `json:"version"`
	Token   string `json:"token,omitempty"` // checked by the handler's authenticator
	// Language is the BCP 47 tag of the user's language ("en", "pt-BR"),
	// checked and in canonical form (see package language).
	Language string      `json:"language,omitempty"`
	Audio    AudioFormat `json:"audio"`
	Device   string      `json:"device,omitempty"` // free-form device name, for logs (at most 64 bytes)
	// Marks asks for mark messages: the device then echoes each mark's
	// name in a played message once its speaker has played the audio
	// before the mark, so the agent knows what the user heard.
	Marks bool `json:"marks,omitempty"`
	// AEC asks the server to cancel the echo of the agent's voice in the
	// microphone audio (the device plays it on a loudspeaker and has no
	// echo canceller of its own). Absent, it is true; false for devices
	// that cancel their own echo or play on headphones.
	AEC bool `json:"aec"`
}

// ServerHello answers a valid hello.
type ServerHello struct {
	Type    string      `json:"type"` // "hello"
	Version int         `json:"version"`
	Session string      `json:"session"` // an identifier for logs and support
	Audio   AudioFormat `json:"audio"`   // what the server's binary messages carry
	Limits  Limits      `json:"limits"`
}

// Limits tell a device what the server enforces.
type Limits struct {
	MaxMessageBytes      int     `json:"max_message_bytes"`
	MaxMessagesPerSecond float64 `json:"max_messages_per_second"`
	Burst                int     `json:"burst"`
}

// ErrorMessage is the server's answer to a message it refused.
type ErrorMessage struct {
	Type string `json:"type"` // "error"
	Code string `json:"code"` // one of the Code... constants
	Text string `json:"text"` // the reason
}

// ClientMessage is one JSON message from a device, parsed and checked by
// ParseClientMessage. Only the fields of its Type are set.
type ClientMessage struct {
	Type  string
	Hello Hello  // TypeHello
	Text  string // TypeText
	Mark  string // TypePlayed: the name of the mark played
	// Image is the picture of a TypeImage message.
	Image struct {
		MIMEType string
		Data     []byte
	}
}

// wireMessage is the union of the client message fields on the wire.
type wireMessage struct {
	Type     *string         `json:"type"`
	Version  *int            `json:"version"`
	Token    string          `json:"token"`
	Language string          `json:"language"`
	Audio    *AudioFormat    `json:"audio"`
	Device   string          `json:"device"`
	Marks    bool            `json:"marks"`
	AEC      *bool           `json:"aec"`
	Name     string          `json:"name"`
	Text     *string         `json:"text"`
	MIMEType string          `json:"mime_type"`
	Data     json.RawMessage `json:"data"`
}

// ParseClientMessage parses and checks one JSON message from a device. The
// error is a *ProtocolError whose code says what is wrong. Audio formats
// are checked for a hello, so a parsed hello is one the server accepts
// (except for its token).
func ParseClientMessage(data []byte) (ClientMessage, error) {
	var w wireMessage
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ClientMessage{}, protoErr(CodeBadJSON, "a message must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return ClientMessage{}, protoErr(CodeBadJSON, "%v", err)
	}
	if w.Type == nil || *w.Type == "" {
		return ClientMessage{}, protoErr(CodeBadJSON, `the "type" field is missing`)
	}
	m := ClientMessage{Type: *w.Type}
	switch m.Type {
	case TypeHello:
		if w.Version == nil {
			return ClientMessage{}, protoErr(CodeBadMessage, `hello needs "version"`)
		}
		if *w.Version != ProtocolVersion {
			return ClientMessage{}, protoErr(CodeBadVersion, "version %d is not supported; this server speaks %d", *w.Version, ProtocolVersion)
		}
		if w.Audio == nil {
			return ClientMessage{}, protoErr(CodeBadAudioFormat, `hello needs "audio"`)
		}
		if err := w.Audio.validate(); err != nil {
			return ClientMessage{}, err
		}
		lang := w.Language
		if lang != "" {
			var err error
			if lang, err = language.Parse(lang); err != nil {
				return ClientMessage{}, protoErr(CodeBadMessage, "%v", err)
			}
		}
		if len(w.Device) > maxDeviceName || !utf8.ValidString(w.Device) {
			return ClientMessage{}, protoErr(CodeBadMessage, "device name: at most %d bytes of UTF-8", maxDeviceName)
		}
		m.Hello = Hello{Version: *w.Version, Token: w.Token, Language: lang, Audio: *w.Audio, Device: w.Device, Marks: w.Marks, AEC: w.AEC == nil || *w.AEC}
		m.Hello.Audio.Channels = 1
	case TypeText:
		if w.Text == nil || *w.Text == "" {
			return ClientMessage{}, protoErr(CodeBadMessage, `text needs a non-empty "text"`)
		}
		if !utf8.ValidString(*w.Text) {
			return ClientMessage{}, protoErr(CodeBadMessage, "text is not valid UTF-8")
		}
		if n := utf8.RuneCountInString(*w.Text); n > maxTextRunes {
			return ClientMessage{}, protoErr(CodeBadMessage, "text has %d characters; the limit is %d", n, maxTextRunes)
		}
		m.Text = *w.Text
	case TypeImage:
		switch w.MIMEType {
		case "image/png", "image/jpeg", "image/webp", "image/gif":
		default:
			return ClientMessage{}, protoErr(CodeBadMessage, "mime_type %q is not image/png, image/jpeg, image/webp or image/gif", w.MIMEType)
		}
		var img []byte
		if err := json.Unmarshal(w.Data, &img); err != nil || len(img) == 0 {
			return ClientMessage{}, protoErr(CodeBadMessage, `image needs "data": non-empty standard base64`)
		}
		m.Image.MIMEType, m.Image.Data = w.MIMEType, img
	case TypePlayed:
		if w.Name == "" || len(w.Name) > maxMarkName {
			return ClientMessage{}, protoErr(CodeBadMessage, `played needs the "name" of a mark`)
		}
		m.Mark = w.Name
	case TypeStop, TypeBye:
	default:
		return ClientMessage{}, protoErr(CodeUnknownType, "unknown message type %q", wscore.Truncate(m.Type, 40))
	}
	return m, nil
}

// errorJSON encodes an error message.
func errorJSON(code, text string) []byte {
	b, err := json.Marshal(ErrorMessage{Type: TypeError, Code: code, Text: text})
	if err != nil { // cannot happen for strings
		return []byte(fmt.Sprintf(`{"type":"error","code":%q}`, code))
	}
	return b
}
