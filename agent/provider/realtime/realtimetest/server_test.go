package realtimetest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/agent/realtimeapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dial connects a raw client and reads session.created.
func dial(t *testing.T, srv *realtimetest.Server, header http.Header) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/realtime?intent=transcription", header)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if ev := next(t, c); ev.EventType() != realtimeapi.TypeSessionCreated {
		t.Fatalf("first event %T", ev)
	}
	return c
}

func send(t *testing.T, c *websocket.Conn, raw string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, c *websocket.Conn) realtimeapi.Event {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	ev, err := realtimeapi.DecodeServer(data)
	if err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return ev
}

// audio returns an append of d of 24 kHz PCM.
func audio(d time.Duration) string {
	b, _ := realtimeapi.Marshal(realtimeapi.InputAudioBufferAppend{Audio: realtimeapi.EncodePCM16(make([]int16, int(d*24000/time.Second)))})
	return string(b)
}

func TestWire(t *testing.T) {
	srv := realtimetest.NewServer()
	defer srv.Close()
	srv.Transcription(realtimetest.Reply{Text: "one two", DeltaDelay: time.Millisecond})
	c := dial(t, srv, nil)
	send(t, c, `{"type":"session.update","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"turn_detection":null}}}}`)
	if ev, ok := next(t, c).(*realtimeapi.SessionUpdated); !ok || ev.Session.Type != realtimeapi.SessionTranscription {
		t.Fatalf("answer to session.update: %#v", ev)
	}
	send(t, c, audio(300*time.Millisecond))
	send(t, c, `{"type":"input_audio_buffer.commit"}`)
	var got []string
	for {
		switch ev := next(t, c).(type) {
		case *realtimeapi.InputAudioBufferCommitted:
			got = append(got, "committed "+ev.ItemID)
		case *realtimeapi.InputAudioTranscriptionDelta:
			got = append(got, "delta "+ev.Delta)
		case *realtimeapi.InputAudioTranscriptionCompleted:
			got = append(got, "completed "+ev.Transcript)
		default:
			t.Fatalf("unexpected %T", ev)
		}
		if strings.HasPrefix(got[len(got)-1], "completed") {
			break
		}
	}
	if want := "committed item_1|delta one |delta two|completed one two"; strings.Join(got, "|") != want {
		t.Errorf("events %q, want %q", strings.Join(got, "|"), want)
	}
	commits := srv.Commits()
	if len(commits) != 1 || commits[0].Duration != 300*time.Millisecond || commits[0].Format != realtimeapi.FormatPCM {
		t.Errorf("commits %+v", commits)
	}
}

func TestBadInput(t *testing.T) {
	srv := realtimetest.NewServer()
	defer srv.Close()
	c := dial(t, srv, nil)
	for _, tt := range []struct{ in, code, param, eventID string }{
		{`{"type":"input_audio_buffer.commit","event_id":"c1"}`, "input_audio_buffer_commit_empty", "", "c1"},
		{`{"type":"session.update","event_id":"s1","session":{"input_audio_transcription":{"model":"m"}}}`, "invalid_value", "session.type", "s1"},
		{`{"type":"response.create","event_id":"r1"}`, "invalid_value", "", "r1"},
		{`{"type":"teleport","event_id":"x1"}`, "invalid_event", "", "x1"},
		{`{"type":"input_audio_buffer.append","audio":"%%%"}`, "invalid_value", "", ""},
	} {
		send(t, c, tt.in)
		ev, ok := next(t, c).(*realtimeapi.ErrorEvent)
		if !ok || ev.Error.Code != tt.code || ev.Error.Param != tt.param || ev.Error.EventID != tt.eventID {
			t.Errorf("%s: got %#v", tt.in, ev)
		}
	}
}

func TestRefuseAndBeta(t *testing.T) {
	srv := realtimetest.NewServer()
	defer srv.Close()
	srv.RequireAPIKey("k")
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/realtime", nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no key: %v", err)
	}
	srv.Refuse(http.StatusTooManyRequests)
	h := http.Header{"Authorization": {"Bearer k"}}
	if _, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/realtime", h); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("refused: %v", err)
	}
	srv.Beta(true)
	c := dial(t, srv, h)
	send(t, c, `{"type":"session.update","session":{"input_audio_format":"pcm16"}}`)
	if ev, ok := next(t, c).(*realtimeapi.ErrorEvent); !ok {
		t.Fatalf("beta with a format: %#v", ev)
	}
	send(t, c, `{"type":"session.update","session":{"input_audio_transcription":{"model":"m"},"turn_detection":null}}`)
	if ev, ok := next(t, c).(*realtimeapi.SessionUpdated); !ok || ev.Session.InputAudioTranscription.Model != "m" {
		t.Fatalf("beta session.update: %#v", ev)
	}
	send(t, c, audio(200*time.Millisecond))
	send(t, c, `{"type":"input_audio_buffer.commit"}`)
	next(t, c) // committed
	// No deltas in beta mode.
	if ev, ok := next(t, c).(*realtimeapi.InputAudioTranscriptionCompleted); !ok || ev.Transcript != "hello" {
		t.Fatalf("beta transcript: %#v", ev)
	}
}

func TestCloseEndsDelayedReplies(t *testing.T) {
	srv := realtimetest.NewServer()
	srv.SetDefault(realtimetest.Reply{Text: "late", FirstDelay: time.Hour})
	c := dial(t, srv, nil)
	send(t, c, audio(200*time.Millisecond))
	send(t, c, `{"type":"input_audio_buffer.commit"}`)
	next(t, c)  // committed
	srv.Close() // returns although a reply is waiting; goleak checks the rest
	if _, _, err := c.ReadMessage(); err == nil {
		t.Error("connection still open after Close")
	}
}
