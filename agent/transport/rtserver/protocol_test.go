package rtserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/pipeline"
)

// engines returns fakes answering question with reply, speaking 10 ms of
// audio per character at 24 kHz.
func engines(question string, replies ...[]pipeline.Delta) fakes {
	return fakes{
		stt: agenttest.NewSTT(question),
		llm: agenttest.NewLLM(replies...),
		tts: &agenttest.TTS{Format: formatPCM24k, PerChar: 10 * time.Millisecond},
	}
}

// without returns the event types of seen other than the deltas.
func without(seen []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(seen), func(s string) bool { return slices.Contains(drop, s) })
}

// TestSpokenTurn checks the events of a spoken turn and its reply, in the
// order a client expects them, and that each has an event_id.
func TestSpokenTurn(t *testing.T) {
	s := newServer(t, engines("where is my order", text("It shipped.")))
	c := dial(t, s.url, nil)
	created, _ := c.until(realtimeapi.TypeSessionCreated)
	sess := created.(*realtimeapi.SessionCreated).Session
	if sess.Model != "gpt-realtime" || sess.Audio.Input.Format.Type != realtimeapi.FormatPCM || sess.Audio.Input.TurnDetection.Value == nil {
		t.Errorf("session.created %s", jsonOf(t, created))
	}
	c.speak(time.Second, 1200*time.Millisecond)
	done, seen := c.until(realtimeapi.TypeResponseDone)
	want := []string{
		"input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped", "input_audio_buffer.committed",
		"conversation.item.added", "conversation.item.input_audio_transcription.delta",
		"conversation.item.input_audio_transcription.completed", "conversation.item.done",
		"response.created", "response.output_item.added", "conversation.item.added", "response.content_part.added",
		"response.output_audio_transcript.delta",
		"response.output_audio.done", "response.output_audio_transcript.done", "response.content_part.done",
		"response.output_item.done", "conversation.item.done", "response.done",
	}
	if got := without(seen, "response.output_audio.delta"); !slices.Equal(got, want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
	if n := strings.Count(strings.Join(seen, " "), "response.output_audio.delta"); n < 5 {
		t.Errorf("%d audio deltas, want the reply's 0.11 s of audio", n)
	}
	r := done.(*realtimeapi.ResponseDone).Response
	if r.Status != realtimeapi.StatusCompleted || len(r.Output) != 1 || r.Output[0].Content[0].Transcript != "It shipped." || r.Usage == nil || r.Usage.OutputTokens == 0 {
		t.Errorf("response.done %s", jsonOf(t, done))
	}
	if _, seen := c.until(realtimeapi.TypeRateLimitsUpdated); len(seen) != 1 {
		t.Errorf("rate_limits.updated not right after response.done: %v", seen)
	}
}

// TestEventIDs checks that every server event carries a unique event_id,
// which clients validate.
func TestEventIDs(t *testing.T) {
	s := newServer(t, engines("hello", text("Hi.")))
	c := dial(t, s.url, nil)
	c.speak(time.Second, 1200*time.Millisecond)
	ids := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case data := <-c.raw:
			ev := <-c.evs
			var head struct {
				EventID string `json:"event_id"`
			}
			if err := json.Unmarshal(data, &head); err != nil || head.EventID == "" || ids[head.EventID] {
				t.Fatalf("event %s: missing or repeated event_id", data)
			}
			ids[head.EventID] = true
			if ev.EventType() == realtimeapi.TypeResponseDone {
				return
			}
		case <-deadline:
			t.Fatal("no response.done")
		}
	}
}

// TestErrors sends bad input and out-of-order commands: each gets an error
// event with the documented shape, naming the offending event, and the
// session goes on.
func TestErrors(t *testing.T) {
	s := newServer(t, engines("hi", text("Hello there.")), WithMaxMessageBytes(2048))
	c := dial(t, s.url, nil)
	c.until(realtimeapi.TypeSessionCreated)
	for _, tt := range []struct {
		name, msg, code, param string
	}{
		{"not JSON", `{"type":`, "invalid_json", ""},
		{"no type", `{"event_id":"e1"}`, "invalid_json", ""},
		{"unknown type", `{"type":"response.explode","event_id":"e1"}`, "invalid_value", "type"},
		{"wrong field type", `{"type":"input_audio_buffer.append","event_id":"e1","audio":7}`, "invalid_value", ""},
		{"server event", `{"type":"response.done","event_id":"e1"}`, "invalid_value", "type"},
		{"bad base64", `{"type":"input_audio_buffer.append","event_id":"e1","audio":"%%%"}`, "invalid_value", "audio"},
		{"odd PCM bytes", `{"type":"input_audio_buffer.append","event_id":"e1","audio":"AQID"}`, "invalid_value", "audio"},
		{"bad format", `{"type":"session.update","event_id":"e1","session":{"type":"realtime","audio":{"input":{"format":{"type":"audio/pcm","rate":16000}}}}}`, "unsupported_value", "session.audio.input.format.rate"},
		{"bad turn detection", `{"type":"session.update","event_id":"e1","session":{"audio":{"input":{"turn_detection":{"type":"push_to_talk"}}}}}`, "invalid_value", "session.audio.input.turn_detection.type"},
		{"transcription type", `{"type":"session.update","event_id":"e1","session":{"type":"transcription"}}`, "invalid_value", "session.type"},
		{"beta shape", `{"type":"session.update","event_id":"e1","session":{"voice":"alloy"}}`, "unsupported_value", "session"},
		{"mcp tool", `{"type":"session.update","event_id":"e1","session":{"tools":[{"type":"mcp"}]}}`, "unsupported_value", "session.tools[0].type"},
		{"bad modalities", `{"type":"session.update","event_id":"e1","session":{"output_modalities":["audio","text"]}}`, "invalid_value", "session.output_modalities"},
		{"commit with server VAD", `{"type":"input_audio_buffer.commit","event_id":"e1"}`, "unsupported_event", "type"},
		{"retrieve unknown", `{"type":"conversation.item.retrieve","event_id":"e1","item_id":"nope"}`, "item_not_found", "item_id"},
		{"delete unknown", `{"type":"conversation.item.delete","event_id":"e1","item_id":"nope"}`, "item_not_found", "item_id"},
		{"truncate unknown", `{"type":"conversation.item.truncate","event_id":"e1","item_id":"nope","content_index":0,"audio_end_ms":10}`, "item_not_found", "item_id"},
		{"cancel nothing", `{"type":"response.cancel","event_id":"e1"}`, "response_cancel_not_active", ""},
		{"item after unknown", `{"type":"conversation.item.create","event_id":"e1","previous_item_id":"nope","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"x"}]}}`, "item_not_found", "previous_item_id"},
		{"bad item type", `{"type":"conversation.item.create","event_id":"e1","item":{"type":"reasoning"}}`, "invalid_value", "item.type"},
		{"output without call", `{"type":"conversation.item.create","event_id":"e1","item":{"type":"function_call_output","output":"x"}}`, "invalid_value", "item.call_id"},
		{"image by URL", `{"type":"conversation.item.create","event_id":"e1","item":{"type":"message","role":"user","content":[{"type":"input_image","image_url":"https://example.invalid/a.png"}]}}`, "invalid_value", "item.content[0].image_url"},
		{"untranscribed audio item", `{"type":"conversation.item.create","event_id":"e1","item":{"type":"message","role":"user","content":[{"type":"input_audio","audio":"AAAA"}]}}`, "unsupported_value", "item.content[0].audio"},
		{"out-of-band response", `{"type":"response.create","event_id":"e1","response":{"conversation":"none"}}`, "unsupported_value", "response.conversation"},
		{"WebRTC only", `{"type":"output_audio_buffer.clear","event_id":"e1"}`, "unsupported_event", "type"},
		{"transcription session", `{"type":"transcription_session.update","event_id":"e1","session":{}}`, "unsupported_event", "type"},
		{"too large", `{"type":"input_audio_buffer.append","event_id":"e1","audio":"` + strings.Repeat("A", 4000) + `"}`, "message_too_large", ""},
	} {
		c.sendRaw(tt.msg)
		ev, _ := c.until(realtimeapi.TypeError)
		e := ev.(*realtimeapi.ErrorEvent).Error
		wantID := "e1"
		if tt.code == "message_too_large" || tt.name == "not JSON" {
			wantID = ""
		}
		if e.Type != realtimeapi.ErrorInvalidRequest || e.Code != tt.code || e.Param != tt.param || e.EventID != wantID || e.Message == "" {
			t.Errorf("%s: error %+v, want code %q param %q event_id %q", tt.name, e, tt.code, tt.param, wantID)
		}
	}
	if err := c.write(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if ev, _ := c.until(realtimeapi.TypeError); ev.(*realtimeapi.ErrorEvent).Error.Code != "invalid_message" {
		t.Errorf("binary message: %s", jsonOf(t, ev))
	}
	// The session goes on: a typed turn is answered.
	c.send(&realtimeapi.ConversationItemCreate{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: "user",
		Content: []realtimeapi.ContentPart{{Type: "input_text", Text: "hi"}}}})
	c.send(&realtimeapi.ResponseCreate{})
	c.send(&realtimeapi.ResponseCreate{EventID: "again"}) // one response at a time
	ev, _ := c.until(realtimeapi.TypeError)
	if e := ev.(*realtimeapi.ErrorEvent).Error; e.Code != "conversation_already_has_active_response" || e.EventID != "again" {
		t.Errorf("second response.create: %+v", e)
	}
	done, _ := c.until(realtimeapi.TypeResponseDone)
	if r := done.(*realtimeapi.ResponseDone).Response; r.Status != realtimeapi.StatusCompleted {
		t.Errorf("after the errors: %s", jsonOf(t, done))
	}
}

// TestRateLimit checks that events over the rate limit are refused with an
// error event and the connection stays.
func TestRateLimit(t *testing.T) {
	s := newServer(t, engines("hi"), WithRateLimit(1, 3))
	c := dial(t, s.url, nil)
	c.until(realtimeapi.TypeSessionCreated)
	for range 5 {
		c.send(&realtimeapi.InputAudioBufferClear{})
	}
	_, seen := c.until(realtimeapi.TypeError)
	if ev, _ := c.until(realtimeapi.TypeError); ev.(*realtimeapi.ErrorEvent).Error.Code != "rate_limit_exceeded" {
		t.Errorf("over the limit: %s", jsonOf(t, ev))
	}
	if got := strings.Count(strings.Join(seen, " "), realtimeapi.TypeInputAudioBufferCleared); got != 3 {
		t.Errorf("%d events handled before the limit, want 3 (the burst): %v", got, seen)
	}
}

// TestAuth checks keys (bearer and browser subprotocol), models and
// unsupported connection kinds.
func TestAuth(t *testing.T) {
	s := newServer(t, engines("hi"), WithAPIKeys("sk-good"), WithModels("gpt-realtime", "gpt-4o-realtime-preview"))
	base := strings.TrimSuffix(s.url, "?model=gpt-realtime")
	for _, tt := range []struct {
		name   string
		query  string
		header http.Header
		status int
	}{
		{"bearer", "?model=gpt-realtime", http.Header{"Authorization": {"Bearer sk-good"}}, http.StatusSwitchingProtocols},
		{"dated model", "?model=gpt-4o-realtime-preview-2025-06-03", http.Header{"Authorization": {"Bearer sk-good"}}, http.StatusSwitchingProtocols},
		{"browser subprotocol", "?model=gpt-realtime", http.Header{"Sec-WebSocket-Protocol": {"realtime, openai-insecure-api-key.sk-good"}}, http.StatusSwitchingProtocols},
		{"no key", "?model=gpt-realtime", nil, http.StatusUnauthorized},
		{"wrong key", "?model=gpt-realtime", http.Header{"Authorization": {"Bearer sk-bad"}}, http.StatusUnauthorized},
		{"other model", "?model=gpt-realtime-mini", http.Header{"Authorization": {"Bearer sk-good"}}, http.StatusBadRequest},
		{"transcription", "?intent=transcription", http.Header{"Authorization": {"Bearer sk-good"}}, http.StatusBadRequest},
	} {
		ws, resp, err := websocket.DefaultDialer.Dial(base+tt.query, tt.header)
		if resp == nil || resp.StatusCode != tt.status {
			t.Errorf("%s: %v, %v; want HTTP %d", tt.name, resp, err, tt.status)
		}
		if ws == nil {
			var body struct {
				Error realtimeapi.APIError `json:"error"`
			}
			if resp != nil && (json.NewDecoder(resp.Body).Decode(&body) != nil || body.Error.Code == "") {
				t.Errorf("%s: refusal without an OpenAI error body", tt.name)
			}
			continue
		}
		if tt.name == "browser subprotocol" && ws.Subprotocol() != "realtime" {
			t.Errorf("subprotocol %q, want realtime", ws.Subprotocol())
		}
		_ = ws.Close()
	}
}

// TestTextOutput checks a text-only response to a typed message: text
// deltas, no audio.
func TestTextOutput(t *testing.T) {
	f := engines("", text("Two plus two is four."))
	s := newServer(t, f)
	c := dial(t, s.url, nil)
	c.send(&realtimeapi.SessionUpdate{Session: realtimeapi.Session{OutputModalities: []string{"text"}, Instructions: new("Answer sums.")}})
	c.until(realtimeapi.TypeSessionUpdated)
	c.send(&realtimeapi.ConversationItemCreate{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: "user",
		Content: []realtimeapi.ContentPart{{Type: "input_text", Text: "what is two plus two"}}}})
	c.send(&realtimeapi.ResponseCreate{})
	done, seen := c.until(realtimeapi.TypeResponseDone)
	if slices.Contains(seen, realtimeapi.TypeResponseOutputAudioDelta) || !slices.Contains(seen, realtimeapi.TypeResponseOutputTextDelta) ||
		!slices.Contains(seen, realtimeapi.TypeResponseOutputTextDone) {
		t.Errorf("events %v, want text deltas and no audio", seen)
	}
	r := done.(*realtimeapi.ResponseDone).Response
	if r.Status != realtimeapi.StatusCompleted || len(r.Output) != 1 || r.Output[0].Content[0].Text != "Two plus two is four." {
		t.Errorf("response.done %s", jsonOf(t, done))
	}
	reqs := f.llm.Requests()
	if len(reqs) != 1 || reqs[0].Messages[0].Content != "Answer sums." || reqs[0].Messages[len(reqs[0].Messages)-1].Content != "what is two plus two" {
		t.Errorf("LLM request %+v, want the instructions and the typed message", reqs)
	}
}

// TestManualTurns checks turn detection off: the client commits, the
// committed audio is transcribed, and only response.create makes a reply.
func TestManualTurns(t *testing.T) {
	f := engines("set a timer", text("Timer set."))
	s := newServer(t, f)
	c := dial(t, s.url, nil)
	c.send(&realtimeapi.SessionUpdate{Session: realtimeapi.Session{Audio: &realtimeapi.SessionAudio{
		Input: &realtimeapi.AudioInput{TurnDetection: realtimeapi.NoTurnDetection}}}})
	up, _ := c.until(realtimeapi.TypeSessionUpdated)
	if up.(*realtimeapi.SessionUpdated).Session.Audio.Input.TurnDetection.Value != nil {
		t.Fatalf("turn detection still on: %s", jsonOf(t, up))
	}
	c.send(&realtimeapi.InputAudioBufferCommit{EventID: "early"})
	if ev, _ := c.until(realtimeapi.TypeError); ev.(*realtimeapi.ErrorEvent).Error.Code != "input_audio_buffer_commit_empty" {
		t.Errorf("empty commit: %s", jsonOf(t, ev))
	}
	c.speak(time.Second, 200*time.Millisecond)
	c.send(&realtimeapi.InputAudioBufferCommit{})
	c.send(&realtimeapi.ResponseCreate{})
	tr, seen := c.until(realtimeapi.TypeInputAudioTranscriptionCompleted)
	if tr.(*realtimeapi.InputAudioTranscriptionCompleted).Transcript != "set a timer" ||
		slices.Contains(seen, realtimeapi.TypeInputAudioBufferSpeechStarted) || !slices.Contains(seen, realtimeapi.TypeInputAudioBufferCommitted) {
		t.Errorf("events %v, transcript %s", seen, jsonOf(t, tr))
	}
	done, _ := c.until(realtimeapi.TypeResponseDone)
	if r := done.(*realtimeapi.ResponseDone).Response; r.Output[0].Content[0].Transcript != "Timer set." {
		t.Errorf("response.done %s", jsonOf(t, done))
	}
}

// TestG711Output checks μ-law output: 8 kHz, one byte per sample.
func TestG711Output(t *testing.T) {
	s := newServer(t, engines("", text("Hello.")))
	c := dial(t, s.url, nil)
	c.send(&realtimeapi.SessionUpdate{Session: realtimeapi.Session{Audio: &realtimeapi.SessionAudio{
		Input:  &realtimeapi.AudioInput{Format: &realtimeapi.AudioFormat{Type: realtimeapi.FormatPCMU}},
		Output: &realtimeapi.AudioOutput{Format: &realtimeapi.AudioFormat{Type: realtimeapi.FormatPCMA}}}}})
	c.until(realtimeapi.TypeSessionUpdated)
	c.send(&realtimeapi.ConversationItemCreate{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: "user",
		Content: []realtimeapi.ContentPart{{Type: "input_text", Text: "hi"}}}})
	c.send(&realtimeapi.ResponseCreate{})
	ev, _ := c.until(realtimeapi.TypeResponseOutputAudioDelta)
	b, err := base64.StdEncoding.DecodeString(ev.(*realtimeapi.ResponseOutputAudioDelta).Delta)
	if err != nil || len(b) != 160 {
		t.Errorf("A-law delta of %d bytes (%v), want 160 (20 ms at 8 kHz)", len(b), err)
	}
	c.send(&realtimeapi.InputAudioBufferAppend{Audio: base64.StdEncoding.EncodeToString(make([]byte, 160))})
	c.send(&realtimeapi.InputAudioBufferAppend{Audio: "AQID"}) // odd bytes are fine in μ-law
	c.until(realtimeapi.TypeResponseDone)
}
