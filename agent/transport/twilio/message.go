package twilio

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Event names of Media Streams messages. Twilio sends connected, start,
// media, dtmf, mark and stop; the server sends media, mark and clear.
const (
	EventConnected = "connected"
	EventStart     = "start"
	EventMedia     = "media"
	EventDTMF      = "dtmf"
	EventMark      = "mark"
	EventStop      = "stop"
	EventClear     = "clear"
)

// MediaFormat is the audio format Twilio announces in its start message:
// always audio/x-mulaw at 8000 Hz, mono.
type MediaFormat struct {
	Encoding   string `json:"encoding"`
	SampleRate int    `json:"sampleRate"`
	Channels   int    `json:"channels"`
}

// Start is the metadata of a stream, from Twilio's start message.
type Start struct {
	StreamSid  string   `json:"streamSid"`
	AccountSid string   `json:"accountSid"`
	CallSid    string   `json:"callSid"`
	Tracks     []string `json:"tracks"`
	// CustomParameters are the <Parameter> elements of the TwiML <Stream>.
	CustomParameters map[string]string `json:"customParameters"`
	MediaFormat      MediaFormat       `json:"mediaFormat"`
}

// Media is one chunk of call audio.
type Media struct {
	Track     string `json:"track"`     // "inbound" or "outbound"
	Chunk     string `json:"chunk"`     // chunk number, from "1"
	Timestamp string `json:"timestamp"` // milliseconds from the stream start
	Payload   string `json:"payload"`   // base64 μ-law
}

// DTMF is a key the caller pressed.
type DTMF struct {
	Track string `json:"track"`
	Digit string `json:"digit"`
}

// Mark names a point in the audio the server sent.
type Mark struct {
	Name string `json:"name"`
}

// Stop ends the stream.
type Stop struct {
	AccountSid string `json:"accountSid"`
	CallSid    string `json:"callSid"`
}

// Message is one Media Streams message. Only the field of its Event is set.
type Message struct {
	Event          string `json:"event"`
	SequenceNumber string `json:"sequenceNumber,omitempty"`
	StreamSid      string `json:"streamSid,omitempty"`
	Protocol       string `json:"protocol,omitempty"` // connected
	Version        string `json:"version,omitempty"`  // connected
	Start          *Start `json:"start,omitempty"`
	Media          *Media `json:"media,omitempty"`
	DTMF           *DTMF  `json:"dtmf,omitempty"`
	Mark           *Mark  `json:"mark,omitempty"`
	Stop           *Stop  `json:"stop,omitempty"`
}

// ParseMessage parses and checks one message from Twilio. The error wraps
// ErrMessage and says what is wrong.
func ParseMessage(data []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrMessage, err)
	}
	switch m.Event {
	case EventConnected:
	case EventStart:
		if m.Start == nil || m.Start.StreamSid == "" {
			return Message{}, fmt.Errorf("%w: start without start.streamSid", ErrMessage)
		}
		f := m.Start.MediaFormat
		if (f.Encoding != "" && f.Encoding != "audio/x-mulaw") || (f.SampleRate != 0 && f.SampleRate != 8000) || f.Channels > 1 {
			return Message{}, fmt.Errorf("%w: media format %s %d Hz %d channels, want audio/x-mulaw 8000 Hz mono", ErrMessage, f.Encoding, f.SampleRate, f.Channels)
		}
	case EventMedia:
		if m.Media == nil {
			return Message{}, fmt.Errorf("%w: media without media", ErrMessage)
		}
	case EventDTMF:
		if m.DTMF == nil || m.DTMF.Digit == "" {
			return Message{}, fmt.Errorf("%w: dtmf without dtmf.digit", ErrMessage)
		}
	case EventMark:
		if m.Mark == nil || m.Mark.Name == "" {
			return Message{}, fmt.Errorf("%w: mark without mark.name", ErrMessage)
		}
	case EventStop:
	case "":
		return Message{}, fmt.Errorf("%w: no event", ErrMessage)
	default:
		return Message{}, fmt.Errorf("%w: unknown event %q", ErrMessage, m.Event)
	}
	return m, nil
}

// Audio decodes the μ-law bytes of a media message.
func (m *Media) Audio() ([]byte, error) { return m.AppendAudio(nil) }

// AppendAudio decodes the μ-law bytes of a media message and appends them
// to dst: for a payload of up to 512 characters (Twilio's are 216, 20 ms)
// and room in dst it allocates nothing. On error it returns dst unchanged.
func (m *Media) AppendAudio(dst []byte) ([]byte, error) {
	var block [512]byte // the string converted to bytes would be copied to the heap
	src := []byte(nil)
	if len(m.Payload) <= len(block) {
		src = block[:copy(block[:], m.Payload)]
	} else {
		src = []byte(m.Payload)
	}
	out, err := base64.StdEncoding.AppendDecode(dst, src)
	if err != nil {
		return dst, fmt.Errorf("%w: media payload: %v", ErrMessage, err)
	}
	return out, nil
}

// At returns the media timestamp, or -1 when it is missing or malformed.
func (m *Media) At() time.Duration {
	ms, err := strconv.ParseInt(m.Timestamp, 10, 64)
	if err != nil || ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// Outbound messages (media messages are built directly, see Conn.WriteAudio).
type outMark struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
	Mark      Mark   `json:"mark"`
}

type outClear struct {
	Event     string `json:"event"`
	StreamSid string `json:"streamSid"`
}
