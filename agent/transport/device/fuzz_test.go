package device

import (
	"errors"
	"testing"
)

// FuzzDeviceMessage checks that any text message parses to a known type or
// to a *ProtocolError, never a panic.
func FuzzDeviceMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"hello","version":1,"token":"t","language":"en","audio":{"encoding":"pcm16","sample_rate":16000}}`,
		`{"type":"hello","version":1,"audio":{"encoding":"opus","sample_rate":48000,"channels":1}}`,
		`{"type":"hello","version":2,"audio":{"encoding":"opus","sample_rate":48000}}`,
		`{"type":"hello","version":1,"audio":{"encoding":"pcm16","sample_rate":8000}}`,
		`{"type":"text","text":"what time is it"}`,
		`{"type":"text","text":"\ud800"}`,
		`{"type":"image","mime_type":"image/png","data":"iVBORw0KGgo="}`,
		`{"type":"image","mime_type":"image/png","data":42}`,
		`{"type":"stop"}`,
		`{"type":"played","name":"g1-c0#1"}`,
		`{"type":"played"}`,
		`{"type":"hello","version":1,"marks":true,"audio":{"encoding":"pcm16","sample_rate":16000}}`,
		`{"type":"bye"}`,
		`{"type":"dance"}`,
		`{"type":null}`,
		`{"type":"text",`,
		`[]`,
		``,
		` {"type":"stop"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseClientMessage(data)
		if err != nil {
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code == "" || !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a coded *ProtocolError", err)
			}
			return
		}
		switch m.Type {
		case TypeHello:
			if m.Hello.Audio.validate() != nil || m.Hello.Version != ProtocolVersion {
				t.Fatalf("accepted hello %+v", m.Hello)
			}
		case TypeText:
			if m.Text == "" {
				t.Fatal("accepted empty text")
			}
		case TypeImage:
			if len(m.Image.Data) == 0 {
				t.Fatal("accepted empty image")
			}
		case TypePlayed:
			if m.Mark == "" {
				t.Fatal("accepted a played message without a name")
			}
		case TypeStop, TypeBye:
		default:
			t.Fatalf("accepted unknown type %q", m.Type)
		}
	})
}
