package main

import (
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/codecs/wav"
)

// TestTutor practises Spanish against a scripted OpenAI-compatible server:
// the learner's turn reaches the model with the tutor's prompt, in the
// target language, and the transcript shows both sides.
func TestTutor(t *testing.T) {
	api := openaitest.NewServer()
	defer api.Close()
	api.Transcription(openaitest.TranscriptionReply{Text: "yo tengo veinte año", Language: "spanish"})
	api.Chat(openaitest.Text("¡Qué bien! Tienes veinte años. ¿Dónde vives?"))

	c := config{target: "es", native: "en", level: "beginner", endOfTurn: 1500 * time.Millisecond,
		openAIBaseURL: api.URL, openAIKey: "test"}
	log := slog.New(slog.DiscardHandler)
	stages, closeStages, err := engines(c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStages()
	var transcript agenttest.Logs
	h, err := newHandler(c, stages, log, &transcript)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/tutor", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"type": "hello", "version": 1, "language": "es",
		"audio": map[string]any{"encoding": "pcm16", "sample_rate": 16000}}); err != nil {
		t.Fatal(err)
	}
	// The learner speaks (any speech will do: the recogniser is scripted),
	// then the microphone stays open in real time until the reply is done.
	fr, err := wav.ReadFile("../../testdata/speech/return_kal16.wav")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var ev struct{ Type string }
			if json.Unmarshal(data, &ev) == nil && ev.Type == "agent_done" {
				close(done)
				readErr <- nil
				return
			}
		}
	}()
	mic := fr.Samples
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
loop:
	for {
		select {
		case <-done:
			break loop
		case <-deadline:
			t.Fatalf("no reply; transcript so far:\n%s", transcript.String())
		case <-tick.C:
		}
		frame := make([]int16, 320)
		mic = mic[copy(frame, mic):]
		b := make([]byte, 640)
		for i, s := range frame {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
			t.Fatal(err)
		}
	}
	_ = ws.WriteJSON(map[string]string{"type": "bye"})
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}

	got := transcript.String()
	for _, want := range []string{"learner: yo tengo veinte año", "tutor:   ¡Qué bien! Tienes veinte años. ¿Dónde vives?"} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	var sawPrompt, sawLang bool
	for _, r := range api.Requests() {
		if r.Chat != nil && len(r.Chat.Messages) > 0 {
			sys := r.Chat.Messages[0]
			sawPrompt = sys.Role == "system" && strings.Contains(sys.Content, `"es"`) && strings.Contains(sys.Content, "beginner")
		}
		if r.Transcription != nil {
			sawLang = r.Transcription.Language == "es"
		}
	}
	if !sawPrompt {
		t.Error("the model did not get the tutor's system prompt")
	}
	if !sawLang {
		t.Error("the recogniser was not told the target language")
	}
}
