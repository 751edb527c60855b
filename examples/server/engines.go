package main

import (
	"cmp"
	"fmt"
	"log/slog"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/pipeline"
)

// engines are the speech and language stages every session shares.
type engines struct {
	name  string
	opts  []agent.Option // STT, LLM, TTS, VAD and tools
	llm   pipeline.LLM   // the LLM and TTS of opts, which the Realtime
	tts   pipeline.TTS   // endpoint wraps (realtime.go)
	close func()
}

// newEngines loads the configured STT, LLM and TTS. The VAD is Silero when
// its model is installed (`make deps`), else the energy detector.
func newEngines(cfg config, log *slog.Logger) (*engines, error) {
	if cfg.engines == "openai" || cfg.engines == "realtime" {
		var opts []openai.Option
		for _, o := range []struct {
			v   string
			opt func(string) openai.Option
		}{
			{cfg.openAI.baseURL, openai.WithBaseURL}, {cfg.openAI.apiKey, openai.WithAPIKey},
			{cfg.openAI.llmModel, openai.WithLLMModel}, {cfg.openAI.sttModel, openai.WithSTTModel},
			{cfg.openAI.ttsModel, openai.WithTTSModel}, {cfg.openAI.voice, openai.WithVoice},
		} {
			if o.v != "" {
				opts = append(opts, o.opt(o.v))
			}
		}
		c, err := openai.New(opts...)
		if err != nil {
			return nil, fmt.Errorf("openai engines: %w", err)
		}
		stt := agent.WithSTT(c)
		if cfg.engines == "realtime" {
			rec, err := newRealtime(cfg.openAI)
			if err != nil {
				return nil, fmt.Errorf("realtime engines: %w", err)
			}
			stt = agent.WithStreamingSTT(rec)
		}
		return &engines{
			name: cfg.engines,
			opts: []agent.Option{stt, agent.WithLLM(c), agent.WithTTS(c), agent.WithVAD(offline.NewVAD),
				// A model follows the escalation policy's instructions and
				// writes the hand-off summary (the offline engines' intent
				// model does not).
				agent.WithEscalation(agent.Escalation{Announce: "their details are passed on to our team"})},
			llm:   c,
			tts:   c,
			close: c.CloseIdleConnections,
		}, nil
	}
	e, err := offline.New()
	if err != nil {
		return nil, fmt.Errorf("offline engines (run `make deps` to install them): %w", err)
	}
	return &engines{
		name: "offline",
		opts: e.SessionOptions(),
		llm:  e.LLM,
		tts:  e.TTS,
		close: func() {
			if err := e.Close(); err != nil {
				log.Warn("closing the offline engines", "err", err)
			}
		},
	}, nil
}

// newRealtime returns the streaming recogniser of the "realtime" engines.
func newRealtime(c openAIConfig) (*realtime.Recognizer, error) {
	opts := []realtime.Option{realtime.WithAPIKey(c.apiKey), realtime.WithDialect(c.realtimeDialect)}
	if u := cmp.Or(c.realtimeURL, c.baseURL); u != "" {
		opts = append(opts, realtime.WithBaseURL(u))
	}
	if c.sttModel != "" {
		opts = append(opts, realtime.WithModel(c.sttModel))
	}
	return realtime.New(opts...)
}

// options returns the session options for one conversation in lang.
func (e *engines) options(cfg config, lang string, log *slog.Logger, extra ...agent.Option) []agent.Option {
	opts := append([]agent.Option(nil), e.opts...)
	opts = append(opts, agent.WithPreset(cfg.preset), agent.WithLanguage(lang), agent.WithLogger(log))
	if cfg.prompt != "" {
		opts = append(opts, agent.WithSystemPrompt(cfg.prompt))
	}
	return append(opts, extra...)
}
