package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/realtimeapi"
)

// TestRealtimeEndpoint talks to /v1/realtime as an OpenAI Realtime client
// does: the server's token as API key, a typed message, a spoken reply.
func TestRealtimeEndpoint(t *testing.T) {
	cfg := config{host: "127.0.0.1", language: "en", iceLoopback: true, token: "s3cret"}
	srv, err := newServer(cfg, fakeEngines(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() {
		ts.Close()
		if err := srv.close(); err != nil {
			t.Error(err)
		}
	}()
	url := "ws" + strings.TrimPrefix(ts.URL, "http") + pathRealtime + "?model=gpt-realtime-2025-08-28"
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, ev := range []realtimeapi.Event{
		&realtimeapi.ConversationItemCreate{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: "user",
			Content: []realtimeapi.ContentPart{{Type: "input_text", Text: "hello"}}}},
		&realtimeapi.ResponseCreate{},
	} {
		b, err := realtimeapi.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var audio int
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := realtimeapi.DecodeServer(data)
		if err != nil {
			t.Fatalf("%v: %s", err, data)
		}
		switch ev := ev.(type) {
		case *realtimeapi.SessionCreated:
			if ev.Session.Model != "gpt-realtime-2025-08-28" {
				t.Errorf("session.created for model %q", ev.Session.Model)
			}
		case *realtimeapi.ResponseOutputAudioDelta:
			audio++
		case *realtimeapi.ResponseDone:
			if r := ev.Response; r.Status != realtimeapi.StatusCompleted || r.Output[0].Content[0].Transcript != "Hi there." || audio == 0 {
				t.Errorf("response.done %s after %d audio deltas", data, audio)
			}
			return
		}
	}
}
