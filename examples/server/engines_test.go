package main

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/codecs/pcm"
)

// TestRealtimeEngines runs a turn through the "realtime" engines: the
// words come from the Realtime transcription server, the reply from the
// OpenAI-compatible one.
func TestRealtimeEngines(t *testing.T) {
	rt := realtimetest.NewServer()
	defer rt.Close()
	api := openaitest.NewServer()
	defer api.Close()
	rt.Transcription(realtimetest.Reply{Text: "what time is it"})
	log := slog.New(slog.DiscardHandler)
	cfg := config{engines: "realtime", language: "en", openAI: openAIConfig{
		baseURL: api.URL, apiKey: "k", sttModel: "gpt-4o-mini-transcribe", realtimeURL: rt.URL, realtimeDialect: "openai",
	}}
	eng, err := newEngines(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.close()
	if eng.name != "realtime" {
		t.Errorf("engines %q", eng.name)
	}
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	s, err := agent.New(tr, eng.options(cfg, "en", log, agent.WithVAD(agenttest.NewLevelModel()))...)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()
	tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	final, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventUserFinal })
	if err != nil || final.Text != "what time is it" {
		t.Errorf("user_final %q, %v", final.Text, err)
	}
	if _, _, err := tr.WaitEvent(ctx, 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone }); err != nil {
		t.Error(err)
	}
	tr.Hangup()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	c := rt.Connections()[0]
	if c.Header.Get("Authorization") != "Bearer k" || c.Sessions[0].Audio.Input.Transcription.Model != "gpt-4o-mini-transcribe" {
		t.Errorf("connection %+v", c)
	}

	cfg.openAI.realtimeDialect = "watson"
	if _, err := newEngines(cfg, log); err == nil {
		t.Error("an unknown dialect was accepted")
	}
}
