package realtimeapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestRegistries(t *testing.T) {
	for name, reg := range map[string]map[string]func() Event{"client": clientEvents, "server": serverEvents} {
		for typ, mk := range reg {
			ev := mk()
			if got := ev.EventType(); got != typ && !strings.HasPrefix(typ, "response.audio") && !strings.HasPrefix(typ, "response.text") {
				t.Errorf("%s %q makes %T of type %q", name, typ, ev, got)
			}
			if reflect.TypeOf(ev).Kind() != reflect.Pointer {
				t.Errorf("%s %q makes a %T, not a pointer", name, typ, ev)
			}
		}
	}
	for typ := range clientEvents {
		if _, ok := serverEvents[typ]; ok {
			t.Errorf("%q is both a client and a server event", typ)
		}
	}
}

func TestDecodeServer(t *testing.T) {
	tests := []struct {
		in   string
		want Event
	}{
		{`{"type":"session.created","event_id":"e1","session":{"type":"transcription","id":"sess_1","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":"en"},"turn_detection":null}}}}`,
			&SessionCreated{EventID: "e1", Session: Session{Type: SessionTranscription, ID: "sess_1", Audio: &SessionAudio{Input: &AudioInput{
				Format:        &AudioFormat{Type: FormatPCM, Rate: 24000},
				Transcription: &Transcription{Model: "gpt-4o-transcribe", Language: "en"},
				TurnDetection: NoTurnDetection,
			}}}}},
		{`{"type":"input_audio_buffer.committed","event_id":"e2","previous_item_id":null,"item_id":"item_1"}`,
			&InputAudioBufferCommitted{EventID: "e2", ItemID: "item_1"}},
		{`{"type":"conversation.item.input_audio_transcription.delta","event_id":"e3","item_id":"item_1","content_index":0,"delta":"Hel"}`,
			&InputAudioTranscriptionDelta{EventID: "e3", ItemID: "item_1", Delta: "Hel"}},
		{`{"type":"conversation.item.input_audio_transcription.completed","event_id":"e4","item_id":"item_1","content_index":0,"transcript":"Hello.","usage":{"type":"duration","seconds":1.5}}`,
			&InputAudioTranscriptionCompleted{EventID: "e4", ItemID: "item_1", Transcript: "Hello.", Usage: &TranscriptionUsage{Type: "duration", Seconds: 1.5}}},
		{`{"type":"conversation.item.input_audio_transcription.failed","event_id":"e5","item_id":"item_1","content_index":0,"error":{"type":"transcription_error","code":"audio_unintelligible","message":"no"}}`,
			&InputAudioTranscriptionFailed{EventID: "e5", ItemID: "item_1", Error: APIError{Type: "transcription_error", Code: "audio_unintelligible", Message: "no"}}},
		{`{"type":"error","event_id":"e6","error":{"type":"invalid_request_error","code":"input_audio_buffer_commit_empty","message":"buffer too small","param":null,"event_id":"c9"}}`,
			&ErrorEvent{EventID: "e6", Error: APIError{Type: ErrorInvalidRequest, Code: "input_audio_buffer_commit_empty", Message: "buffer too small", EventID: "c9"}}},
		{`{"type":"response.audio_transcript.delta","response_id":"r","item_id":"i","output_index":0,"content_index":0,"delta":"Hi"}`,
			&ResponseOutputAudioTranscriptDelta{ResponseID: "r", ItemID: "i", Delta: "Hi"}},
		{`{"type":"response.output_audio.delta","response_id":"r","item_id":"i","output_index":1,"content_index":0,"delta":"AAA="}`,
			&ResponseOutputAudioDelta{ResponseID: "r", ItemID: "i", OutputIndex: 1, Delta: "AAA="}},
		{`{"type":"response.function_call_arguments.done","response_id":"r","item_id":"i","output_index":0,"call_id":"c","name":"f","arguments":"{}"}`,
			&ResponseFunctionCallArgumentsDone{ResponseID: "r", ItemID: "i", CallID: "c", Name: "f", Arguments: "{}"}},
		{`{"type":"response.done","response":{"id":"r","object":"realtime.response","status":"cancelled","status_details":{"type":"cancelled","reason":"turn_detected"},"output":[{"id":"i","type":"message","role":"assistant","content":[{"type":"output_audio","transcript":"Hel"}]}],"usage":{"total_tokens":3,"input_tokens":1,"output_tokens":2}}}`,
			&ResponseDone{Response: Response{ID: "r", Object: "realtime.response", Status: StatusCancelled, StatusDetails: &StatusDetails{Type: "cancelled", Reason: "turn_detected"},
				Output: []Item{{ID: "i", Type: ItemMessage, Role: "assistant", Content: []ContentPart{{Type: "output_audio", Transcript: "Hel"}}}},
				Usage:  &Usage{TotalTokens: 3, InputTokens: 1, OutputTokens: 2}}}},
		{`{"type":"rate_limits.updated","rate_limits":[{"name":"requests","limit":1000,"remaining":999,"reset_seconds":2.5}]}`,
			&RateLimitsUpdated{RateLimits: []RateLimit{{Name: "requests", Limit: 1000, Remaining: 999, ResetSeconds: 2.5}}}},
		// The beta session shape, as speaches reports it.
		{`{"type":"session.updated","session":{"id":"s","modalities":["text"],"input_audio_transcription":{"model":"Systran/faster-whisper-small","language":"en"},"turn_detection":null}}`,
			&SessionUpdated{Session: Session{ID: "s", Modalities: []string{"text"}, InputAudioTranscription: &Transcription{Model: "Systran/faster-whisper-small", Language: "en"}, TurnDetection: NoTurnDetection}}},
	}
	for _, tt := range tests {
		got, err := DecodeServer([]byte(tt.in))
		if err != nil {
			t.Errorf("DecodeServer(%s): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeServer(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeClient(t *testing.T) {
	threshold := 0.5
	tests := []struct {
		in   string
		want Event
	}{
		{`{"type":"session.update","session":{"type":"realtime","instructions":"","tools":[],"audio":{"input":{"format":{"type":"audio/pcmu"},"turn_detection":{"type":"server_vad","threshold":0.5}},"output":{"voice":"alloy"}}}}`,
			&SessionUpdate{Session: Session{Type: SessionRealtime, Instructions: new(string), Tools: []Tool{}, Audio: &SessionAudio{
				Input:  &AudioInput{Format: &AudioFormat{Type: FormatPCMU}, TurnDetection: WithTurnDetection(TurnDetection{Type: TurnServerVAD, Threshold: &threshold})},
				Output: &AudioOutput{Voice: "alloy"},
			}}}},
		{`{"type":"session.update","session":{"type":"realtime"}}`, &SessionUpdate{Session: Session{Type: SessionRealtime}}},
		{`{"type":"input_audio_buffer.append","event_id":"a","audio":"AQA="}`, &InputAudioBufferAppend{EventID: "a", Audio: "AQA="}},
		{`{"type":"input_audio_buffer.commit"}`, &InputAudioBufferCommit{}},
		{`{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":1500}`, &ConversationItemTruncate{ItemID: "i", AudioEndMS: 1500}},
		{`{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c","output":"{\"ok\":true}"}}`,
			&ConversationItemCreate{Item: Item{Type: ItemFunctionCallOutput, CallID: "c", Output: `{"ok":true}`}}},
		{`{"type":"response.create"}`, &ResponseCreate{}},
		{`{"type":"response.cancel","response_id":"r"}`, &ResponseCancel{ResponseID: "r"}},
	}
	for _, tt := range tests {
		got, err := DecodeClient([]byte(tt.in))
		if err != nil {
			t.Errorf("DecodeClient(%s): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("DecodeClient(%s)\n got %#v\nwant %#v", tt.in, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in      string
		server  bool
		want    error
		typ, id string
	}{
		{`{"type":"response.teleport","event_id":"x1"}`, false, ErrUnknownEvent, "response.teleport", "x1"},
		{`{"type":"session.created"}`, false, ErrUnknownEvent, "session.created", ""}, // a server event sent by a client
		{`{"type":"session.update"}`, true, ErrUnknownEvent, "session.update", ""},
		{`{"event_id":"x2"}`, false, ErrMalformed, "", "x2"},
		{`not json`, false, ErrMalformed, "", ""},
		{`[1,2]`, true, ErrMalformed, "", ""},
		{`{"type":7}`, false, ErrMalformed, "", ""},
		{`{"type":"conversation.item.truncate","event_id":"x3","audio_end_ms":"soon"}`, false, ErrMalformed, "conversation.item.truncate", "x3"},
		{`{"type":"session.update","session":{"audio":{"input":{"turn_detection":"yes"}}}}`, false, ErrMalformed, "session.update", ""},
	}
	for _, tt := range tests {
		decode := DecodeClient
		if tt.server {
			decode = DecodeServer
		}
		ev, err := decode([]byte(tt.in))
		var de *DecodeError
		if !errors.Is(err, tt.want) || !errors.As(err, &de) || ev != nil {
			t.Errorf("decode(%s) = %v, %v; want %v", tt.in, ev, err, tt.want)
			continue
		}
		if de.Type != tt.typ || de.EventID != tt.id {
			t.Errorf("decode(%s): type %q id %q; want %q %q", tt.in, de.Type, de.EventID, tt.typ, tt.id)
		}
	}
}

func TestMarshal(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{InputAudioBufferCommit{}, `{"type":"input_audio_buffer.commit"}`},
		{&InputAudioBufferAppend{Audio: "AQA="}, `{"type":"input_audio_buffer.append","audio":"AQA="}`},
		{SessionUpdate{Session: Session{Type: SessionTranscription, Audio: &SessionAudio{Input: &AudioInput{
			Format: &AudioFormat{Type: FormatPCM, Rate: 24000}, Transcription: &Transcription{Model: "m", Language: "en"}, TurnDetection: NoTurnDetection}}}},
			`{"type":"session.update","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"m","language":"en"},"turn_detection":null}}}}`},
		{SessionUpdate{Session: Session{Type: SessionRealtime, Tools: []Tool{}, Instructions: new(string)}},
			`{"type":"session.update","session":{"type":"realtime","instructions":"","tools":[]}}`},
		{ConversationItemTruncate{ItemID: "i"}, `{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":0}`},
		{ErrorEvent{EventID: "e", Error: APIError{Type: ErrorInvalidRequest, Message: "bad"}}, `{"type":"error","event_id":"e","error":{"type":"invalid_request_error","message":"bad"}}`},
		{ConversationItemAdded{Item: Item{ID: "u", Type: ItemMessage, Role: "user", Content: []ContentPart{{Type: "input_audio"}, {Type: "input_text"}, {Type: "input_image", ImageURL: "data:"}}}},
			`{"type":"conversation.item.added","item":{"id":"u","type":"message","role":"user","content":[{"type":"input_audio","transcript":""},{"type":"input_text","text":""},{"type":"input_image","image_url":"data:"}]}}`},
		{ResponseOutputItemAdded{Item: Item{Type: ItemFunctionCall, CallID: "c", Name: "f"}},
			`{"type":"response.output_item.added","response_id":"","output_index":0,"item":{"type":"function_call","call_id":"c","name":"f","arguments":""}}`},
		{ConversationItemCreate{Item: Item{Type: ItemFunctionCallOutput, CallID: "c"}},
			`{"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"c","output":""}}`},
	}
	for _, tt := range tests {
		got, err := Marshal(tt.ev)
		if err != nil || string(got) != tt.want {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", tt.ev, got, err, tt.want)
		}
	}
	if _, err := Marshal(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Marshal(nil): %v", err)
	}
	if _, err := Marshal((*InputAudioBufferCommit)(nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("Marshal of a nil pointer: %v", err)
	}
}

func TestTurnDetectionField(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want TurnDetectionField
	}{
		{`{}`, TurnDetectionField{}},
		{`{"turn_detection":null}`, NoTurnDetection},
		{`{"turn_detection":{"type":"semantic_vad","eagerness":"low"}}`, WithTurnDetection(TurnDetection{Type: TurnSemanticVAD, Eagerness: "low"})},
	} {
		var in AudioInput
		if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(in.TurnDetection, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.in, in.TurnDetection, tt.want)
		}
		out, err := json.Marshal(in)
		if err != nil || !bytes.Equal(out, []byte(tt.in)) {
			t.Errorf("%s: round trip gives %s, %v", tt.in, out, err)
		}
	}
}

func TestPCM16(t *testing.T) {
	in := []int16{0, 1, -1, 32767, -32768, 258}
	s := EncodePCM16(in)
	if s != "AAABAP///38AgAIB" {
		t.Errorf("EncodePCM16 = %q", s)
	}
	out, err := DecodePCM16(s)
	if err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("DecodePCM16 = %v, %v", out, err)
	}
	for _, bad := range []string{"AAE", "AQ==", "!!!!"} {
		if _, err := DecodePCM16(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodePCM16(%q): %v", bad, err)
		}
	}
}

func TestAPIError(t *testing.T) {
	e := &APIError{Type: ErrorInvalidRequest, Code: "c", Message: "m"}
	if got := e.Error(); got != "realtime: invalid_request_error (c): m" {
		t.Errorf("Error() = %q", got)
	}
}

// FuzzRealtimeEvent checks that no input makes the decoders panic, that a
// decoded event encodes, and that the encoding is stable: decoding and
// encoding it again gives the same bytes.
func FuzzRealtimeEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"session.update","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"turn_detection":null}}}}`,
		`{"type":"input_audio_buffer.append","audio":"AQA="}`,
		`{"type":"conversation.item.truncate","item_id":"i","content_index":0,"audio_end_ms":10}`,
		`{"type":"conversation.item.input_audio_transcription.completed","item_id":"i","transcript":"hi","usage":{"type":"tokens","input_tokens":3}}`,
		`{"type":"error","error":{"type":"x","message":"y","param":null}}`,
		`{"type":"response.done","response":{"output":[{"type":"message","content":[{"type":"output_text","text":"a"}]}],"max_output_tokens":"inf"}}`,
		`{"type":"response.create","response":{"tool_choice":{"type":"function","name":"f"},"metadata":{"a":"b"}}}`,
		`{"type":"unknown"}`, `{}`, `null`, `{"type":"session.update","session":{"tools":[{"type":"function","parameters":{ "a" : [1, 2] }}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, decode := range []func([]byte) (Event, error){DecodeClient, DecodeServer} {
			ev, err := decode(data)
			if err != nil {
				var de *DecodeError
				if !errors.As(err, &de) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrUnknownEvent)) {
					t.Fatalf("error %v is not a typed decode error", err)
				}
				continue
			}
			once, err := Marshal(ev)
			if err != nil {
				t.Fatalf("Marshal(%#v): %v", ev, err)
			}
			again, err := decode(once)
			if err != nil {
				t.Fatalf("decoding %s again: %v", once, err)
			}
			if again.EventType() != ev.EventType() {
				t.Fatalf("type changed from %q to %q", ev.EventType(), again.EventType())
			}
			twice, err := Marshal(again)
			if err != nil || !bytes.Equal(once, twice) {
				t.Fatalf("unstable encoding:\n%s\n%s (%v)", once, twice, err)
			}
		}
	})
}

// BenchmarkMarshalAppend encodes 20 ms of 24 kHz audio as an append
// event, what a client sends 50 times a second.
func BenchmarkMarshalAppend(b *testing.B) {
	samples := make([]int16, 480)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(InputAudioBufferAppend{Audio: EncodePCM16(samples)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDelta decodes a transcription delta.
func BenchmarkDecodeDelta(b *testing.B) {
	msg := []byte(`{"type":"conversation.item.input_audio_transcription.delta","event_id":"event_123","item_id":"item_1","content_index":0,"delta":" order"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeServer(msg); err != nil {
			b.Fatal(err)
		}
	}
}
