package main

import (
	"log/slog"
	"net/http"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/promrec"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/rtserver"
)

// pathRealtime is where OpenAI Realtime API clients connect: an app points
// its base URL at http(s)://HOST:PORT/v1.
const pathRealtime = "/v1/realtime"

// realtimeModels are the model names a Realtime client may ask for (and
// their dated versions, "gpt-realtime-2025-08-28"). Every one of them runs
// the server's engines (-engines): speech recognition, the LLM
// (-llm-model with -engines openai) and speech synthesis of the other
// endpoints, with Hark's turn-taking; the client's instructions, tools and
// conversation shape each reply.
var realtimeModels = []string{
	"gpt-realtime", "gpt-realtime-2.1", "gpt-realtime-mini",
	"gpt-4o-realtime-preview", "gpt-4o-mini-realtime-preview", "hark",
}

// openAIVoices are the Realtime API's voices; the openai engines take them
// as they are, the offline engines keep their own voice.
var openAIVoices = []string{"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"}

// newRealtimeEndpoint serves the OpenAI Realtime API on the server's
// engines; the server's token, when set, is the API key clients present.
// track registers each session for the drain on shutdown.
func newRealtimeEndpoint(cfg config, eng *engines, log *slog.Logger, metrics *promrec.Recorder,
	track func(*agent.Session) transport.Session) (http.Handler, error) {
	opts := []rtserver.Option{rtserver.WithLogger(log), rtserver.WithModels(realtimeModels...)}
	if cfg.token != "" {
		opts = append(opts, rtserver.WithAPIKeys(cfg.token))
	}
	if eng.name != "offline" {
		voices := map[string]string{}
		for _, v := range openAIVoices {
			voices[v] = v
		}
		opts = append(opts, rtserver.WithVoices(voices))
	}
	return rtserver.NewHandler(func(r *http.Request, c *rtserver.Conn) (rtserver.Session, error) {
		sess, err := agent.New(c, eng.options(cfg, cfg.language, log.With("remote", r.RemoteAddr, "model", c.Model()),
			agent.WithMetrics(metrics), agent.WithLLM(c.LLM(eng.llm)), agent.WithTTS(c.TTS(eng.tts)))...)
		if err != nil {
			return nil, err
		}
		return track(sess), nil
	}, opts...)
}
