package rtserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/pipeline"
)

func TestMergeSession(t *testing.T) {
	base := defaultSession("sess", "gpt-realtime")
	for _, tt := range []struct {
		name  string
		up    string
		param string // of the error; "" for none
		check func(realtimeapi.Session) bool
	}{
		{"instructions and voice", `{"instructions":"Be brief.","audio":{"output":{"voice":"marin"}}}`, "",
			func(s realtimeapi.Session) bool {
				return *s.Instructions == "Be brief." && s.Audio.Output.Voice == "marin"
			}},
		{"turn detection off", `{"audio":{"input":{"turn_detection":null}}}`, "",
			func(s realtimeapi.Session) bool {
				return s.Audio.Input.TurnDetection.Set && s.Audio.Input.TurnDetection.Value == nil
			}},
		{"defaults of a new turn detection", `{"audio":{"input":{"turn_detection":{"type":"semantic_vad","interrupt_response":false}}}}`, "",
			func(s realtimeapi.Session) bool {
				td := s.Audio.Input.TurnDetection.Value
				return td.Type == "semantic_vad" && *td.CreateResponse && !*td.InterruptResponse
			}},
		{"μ-law in", `{"audio":{"input":{"format":{"type":"audio/pcmu"}}}}`, "",
			func(s realtimeapi.Session) bool { return s.Audio.Input.Format.Type == realtimeapi.FormatPCMU }},
		{"rate filled", `{"audio":{"output":{"format":{"type":"audio/pcm"}}}}`, "",
			func(s realtimeapi.Session) bool { return s.Audio.Output.Format.Rate == 24000 }},
		{"tools and choice", `{"tools":[{"type":"function","name":"f","parameters":{"type":"object"}}],"tool_choice":"required"}`, "",
			func(s realtimeapi.Session) bool { return len(s.Tools) == 1 && string(s.ToolChoice) == `"required"` }},
		{"empty tools clear", `{"tools":[]}`, "", func(s realtimeapi.Session) bool { return len(s.Tools) == 0 }},
		{"16 kHz", `{"audio":{"input":{"format":{"type":"audio/pcm","rate":16000}}}}`, "session.audio.input.format.rate", nil},
		{"opus", `{"audio":{"output":{"format":{"type":"audio/opus"}}}}`, "session.audio.output.format.type", nil},
		{"duplicate tool", `{"tools":[{"type":"function","name":"f"},{"type":"function","name":"f"}]}`, "session.tools[1].name", nil},
		{"bad choice", `{"tool_choice":"sometimes"}`, "session.tool_choice", nil},
		{"two modalities", `{"output_modalities":["text","audio"]}`, "session.output_modalities", nil},
	} {
		var up realtimeapi.Session
		if err := json.Unmarshal([]byte(tt.up), &up); err != nil {
			t.Fatal(err)
		}
		before, _ := json.Marshal(base)
		got, err := mergeSession(base, up)
		var pe *paramError
		switch {
		case tt.param != "" && (!errors.As(err, &pe) || pe.param != tt.param):
			t.Errorf("%s: error %v, want one for %s", tt.name, err, tt.param)
		case tt.param != "" && !reflect.DeepEqual(got, base):
			t.Errorf("%s: a refused update changed the session", tt.name)
		case tt.param == "" && (err != nil || !tt.check(got)):
			t.Errorf("%s: %v, %+v", tt.name, err, got)
		}
		if after, _ := json.Marshal(base); !bytes.Equal(before, after) {
			t.Errorf("%s: the update wrote through to the old session", tt.name)
		}
	}
}

func TestApplyCut(t *testing.T) {
	it := &item{Item: realtimeapi.Item{Content: []realtimeapi.ContentPart{{Type: "output_audio", Transcript: "Hello there. How are you today?"}}},
		samples: 48000, chunks: []chunk{{"Hello there.", 0}, {"How are you today?", 24000}}}
	for _, tt := range []struct {
		ms   int
		want string
	}{
		{2000, "Hello there. How are you today?"},
		{1500, "Hello there. How are"},
		{1000, "Hello there."},
		{500, "Hello"},
		{0, ""},
	} {
		c := *it
		c.Content = []realtimeapi.ContentPart{it.Content[0]}
		c.cutMS = tt.ms
		c.applyCut()
		if got := c.Content[0].Transcript; got != tt.want || c.interrupted != (tt.want != it.Content[0].Transcript) {
			t.Errorf("cut at %d ms: %q (interrupted %v), want %q", tt.ms, got, c.interrupted, tt.want)
		}
	}
}

func TestHistory(t *testing.T) {
	m := newMachine("s", "gpt-realtime")
	msg := func(role, typ, text string) *item {
		p := realtimeapi.ContentPart{Type: typ}
		if strings.HasSuffix(typ, "audio") {
			p.Transcript = text
		} else {
			p.Text = text
		}
		return &item{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: role, Content: []realtimeapi.ContentPart{p}}}
	}
	cut := msg("assistant", "output_audio", "Let me")
	cut.interrupted = true
	m.items = []*item{
		msg("system", "input_text", "Speak French."),
		msg("user", "input_audio", "weather in Paris and Rome"),
		msg("assistant", "output_audio", "Checking."),
		{Item: realtimeapi.Item{Type: realtimeapi.ItemFunctionCall, CallID: "a", Name: "weather", Arguments: `{"city":"Paris"}`}},
		{Item: realtimeapi.Item{Type: realtimeapi.ItemFunctionCall, CallID: "b", Name: "weather", Arguments: `{"city":"Rome"}`}},
		{Item: realtimeapi.Item{Type: realtimeapi.ItemFunctionCallOutput, CallID: "a", Output: "sunny"}},
		{Item: realtimeapi.Item{Type: realtimeapi.ItemFunctionCallOutput, CallID: "zzz", Output: "orphan"}},
		msg("user", "input_audio", ""), // an empty transcript
		cut,
	}
	got := m.history(nil)
	want := []pipeline.Message{
		{Role: pipeline.RoleSystem, Content: "Speak French."},
		{Role: pipeline.RoleUser, Content: "weather in Paris and Rome"},
		{Role: pipeline.RoleAssistant, Content: "Checking.", ToolCalls: []pipeline.ToolCall{
			{ID: "a", Name: "weather", Arguments: `{"city":"Paris"}`}, {ID: "b", Name: "weather", Arguments: `{"city":"Rome"}`}}},
		{Role: pipeline.RoleTool, ToolCallID: "a", Content: "sunny"},
		{Role: pipeline.RoleTool, ToolCallID: "b", Content: noOutput},
		{Role: pipeline.RoleAssistant, Content: "Let me", Interrupted: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("history\n got %+v\nwant %+v", got, want)
	}
	if got := m.history([]*item{cut}); len(got) != len(want)-1 {
		t.Errorf("history without the response being made: %d messages", len(got))
	}
}

// TestCommitWithoutSpeech checks a manual commit the session hears no turn
// in: its transcription fails when the wait runs out, and a response that
// waited for it is refused, so neither stays pending.
func TestCommitWithoutSpeech(t *testing.T) {
	m := newMachine("s", "gpt-realtime")
	for _, line := range []string{
		`{"type":"session.update","session":{"audio":{"input":{"turn_detection":null}}}}`,
		`{"type":"input_audio_buffer.append","audio":"` + realtimeapi.EncodePCM16(make([]int16, 4800)) + `"}`,
		`{"type":"input_audio_buffer.commit"}`,
		`{"type":"response.create"}`,
	} {
		ev, err := realtimeapi.DecodeClient([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		m.client(ev)
	}
	_, cmds := m.take()
	var expire string
	for _, c := range cmds {
		if c.kind == cmdExpire {
			expire = c.text
		}
		if c.kind == cmdSendText {
			t.Errorf("response.create started a reply before the committed turn was transcribed")
		}
	}
	m.expire(expire)
	events, _ := m.take()
	var types []string
	for _, ev := range events {
		types = append(types, ev.EventType())
	}
	want := []string{realtimeapi.TypeInputAudioTranscriptionFailed, realtimeapi.TypeConversationItemDone, realtimeapi.TypeError}
	if !reflect.DeepEqual(types, want) || m.committed != nil || m.pending != nil {
		t.Errorf("after the wait: %v, want %v", types, want)
	}
	m.expire(expire) // once only
	if events, _ := m.take(); len(events) != 0 {
		t.Errorf("a second expiry sent %d events", len(events))
	}
}

// FuzzServerEvents drives one connection's protocol state with any client
// events interleaved with session events and output frames: nothing
// panics, every server event has a unique id and encodes, and every
// refused event is answered with an error event.
func FuzzServerEvents(f *testing.F) {
	for _, seed := range []string{
		`{"type":"session.update","session":{"audio":{"input":{"turn_detection":null}}}}` + "\n" +
			`{"type":"input_audio_buffer.append","audio":"AAAAAAAA"}` + "\n" + `{"type":"input_audio_buffer.commit"}` + "\n!f hi\n!q\n!a\n!t Hi.\n!d\n!z",
		"!s\n!f where is my order\n!q\n!a\n!t Your order\n!p\n!s\n!c Your\n!f stop\n" + `{"type":"response.cancel"}`,
		`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}}` +
			"\n" + `{"type":"response.create"}` + "\n!q\n!k weather\n!d\n" + `{"type":"conversation.item.truncate","item_id":"item_2","content_index":0,"audio_end_ms":5}`,
		`{"type":"session.update","session":{"output_modalities":["text"],"audio":{"input":{"turn_detection":{"type":"server_vad","interrupt_response":false}}}}}` +
			"\n!s\n!f a\n!q\n!x hello\n!p\n!c\n!s\n" + `{"type":"response.create"}` + "\n" + `{"type":"response.cancel"}`,
		`{"type":"conversation.item.delete","item_id":"root"}` + "\n" + `{"type":"nope"}` + "\n{",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		m := newMachine("s", "gpt-realtime")
		m.created()
		ids := map[string]bool{}
		for _, line := range strings.Split(script, "\n") {
			if cmd, arg, ok := strings.Cut(line+" ", " "); strings.HasPrefix(line, "!") && ok {
				step(m, cmd, strings.TrimSpace(arg))
			} else {
				ev, err := realtimeapi.DecodeClient([]byte(line))
				if err != nil {
					m.fail("invalid_json", "", err.Error(), "")
				} else {
					m.client(ev)
				}
			}
			refusals := m.refusals()
			events, _ := m.take()
			errs := 0
			for _, ev := range events {
				b, err := realtimeapi.Marshal(ev)
				if err != nil {
					t.Fatalf("%T does not encode: %v", ev, err)
				}
				var head struct {
					EventID string `json:"event_id"`
				}
				if json.Unmarshal(b, &head) != nil || head.EventID == "" || ids[head.EventID] {
					t.Fatalf("event %s: missing or repeated event_id", b)
				}
				ids[head.EventID] = true
				if ev.EventType() == realtimeapi.TypeError {
					errs++
				}
			}
			if errs < refusals {
				t.Fatalf("line %q: %d refusals, %d error events", line, refusals, errs)
			}
		}
	})
}

// step feeds the machine one session-side input of the fuzz scripts.
func step(m *machine, cmd, arg string) {
	switch cmd {
	case "!s":
		m.agent(transport.Event{Type: transport.EventState, State: transport.StateUserSpeaking})
	case "!f":
		m.agent(transport.Event{Type: transport.EventUserFinal, Text: arg})
	case "!t":
		m.agent(transport.Event{Type: transport.EventAgentText, Text: arg})
	case "!d":
		m.agent(transport.Event{Type: transport.EventAgentDone, Text: arg})
	case "!p":
		m.agent(transport.Event{Type: transport.EventInterruption, Interruption: &transport.Interruption{}})
	case "!c":
		m.agent(transport.Event{Type: transport.EventInterruption, Interruption: &transport.Interruption{Heard: arg, Cancelled: true}})
	case "!r":
		m.agent(transport.Event{Type: transport.EventResumed})
	case "!e":
		m.agent(transport.Event{Type: transport.EventError, Text: arg})
	case "!a":
		frame := make([]int16, 480)
		for i := range frame {
			frame[i] = int16(i*37 + len(arg))
		}
		m.frame(frame)
	case "!q":
		m.request(pipeline.Request{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: arg}}})
	case "!x":
		m.textDelta(arg)
	case "!z":
		if m.committed != nil {
			m.expire(m.committed.id)
		}
	case "!k":
		m.clientCall(pipeline.ToolCall{Name: arg, Arguments: "{}"})
	}
}
