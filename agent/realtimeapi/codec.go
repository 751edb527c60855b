package realtimeapi

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Event is any event of the protocol.
type Event interface {
	// EventType returns the event's wire name, the "type" field.
	EventType() string
}

// Marshal encodes ev as one JSON message with its "type" first.
func Marshal(ev Event) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("%w: nil event", ErrMalformed)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("%w: %T does not encode as an object", ErrMalformed, ev)
	}
	typ, err := json.Marshal(ev.EventType())
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(body)+len(typ)+9)
	out = append(out, `{"type":`...)
	out = append(out, typ...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, body[1:]...), nil
}

// DecodeClient decodes an event a client sent. It returns a pointer to
// the event's struct, such as *InputAudioBufferAppend.
func DecodeClient(data []byte) (Event, error) { return decode(data, clientEvents) }

// DecodeServer decodes an event a server sent. It returns a pointer to the
// event's struct, such as *InputAudioTranscriptionDelta; the beta names of
// the response events decode to their GA structs.
func DecodeServer(data []byte) (Event, error) { return decode(data, serverEvents) }

func decode(data []byte, known map[string]func() Event) (Event, error) {
	var head struct {
		Type    string `json:"type"`
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, &DecodeError{Type: head.Type, EventID: head.EventID, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	if head.Type == "" {
		return nil, &DecodeError{EventID: head.EventID, Err: fmt.Errorf("%w: no type", ErrMalformed)}
	}
	mk, ok := known[head.Type]
	if !ok {
		return nil, &DecodeError{Type: head.Type, EventID: head.EventID, Err: ErrUnknownEvent}
	}
	ev := mk()
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, &DecodeError{Type: head.Type, EventID: head.EventID, Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
	}
	return ev, nil
}

// EncodePCM16 returns samples as base64 16-bit little-endian PCM, the
// audio of input_audio_buffer.append and response.output_audio.delta.
func EncodePCM16(samples []int16) string {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePCM16 decodes base64 16-bit little-endian PCM.
func DecodePCM16(audio string) ([]int16, error) {
	b, err := base64.StdEncoding.DecodeString(audio)
	if err != nil {
		return nil, fmt.Errorf("%w: audio: %w", ErrMalformed, err)
	}
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("%w: audio: odd number of bytes (%d) for 16-bit samples", ErrMalformed, len(b))
	}
	out := make([]int16, len(b)/2)
	for i := range out {
		out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return out, nil
}
