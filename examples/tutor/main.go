// Command tutor is a spoken language-practice partner: a learner talks to
// it in the language they are learning, and it answers slowly and simply,
// recasting mistakes instead of lecturing, with patient turn-taking so a
// learner who pauses to find a word is not cut off.
//
// It serves Hark's device protocol (agent/transport/device) on /tutor;
// examples/speaker is a ready client. A real tutor needs a language model:
// point -openai-base-url at any OpenAI-compatible server. Without one it
// falls back to the offline engines, which understand only English and
// answer only their demo domains. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/transport/device"
)

// config is what the flags and environment set.
type config struct {
	addr, target, native, level, token string
	endOfTurn                          time.Duration
	openAIBaseURL, openAIKey           string
	llmModel, sttModel, ttsModel       string
	voice                              string
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", ":8080", "listen address")
	flag.StringVar(&c.target, "lang", "es", "the language being practised (BCP-47: es, fr, de, ja, ...)")
	flag.StringVar(&c.native, "native", "en", "the learner's own language, for the rare explanation")
	flag.StringVar(&c.level, "level", "beginner", "the learner's level: beginner, intermediate or advanced")
	flag.DurationVar(&c.endOfTurn, "end-of-turn", 1500*time.Millisecond, "silence that ends a learner's turn (patient: learners pause to think)")
	flag.StringVar(&c.token, "token", os.Getenv("HARK_TOKEN"), "device token (optional)")
	flag.StringVar(&c.openAIBaseURL, "openai-base-url", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible API base URL")
	flag.StringVar(&c.openAIKey, "openai-key", os.Getenv("OPENAI_API_KEY"), "API key of the OpenAI-compatible server")
	flag.StringVar(&c.llmModel, "llm-model", "", "LLM model (provider default if empty)")
	flag.StringVar(&c.sttModel, "stt-model", "", "speech-to-text model (multilingual)")
	flag.StringVar(&c.ttsModel, "tts-model", "", "text-to-speech model")
	flag.StringVar(&c.voice, "voice", "", "text-to-speech voice for the target language")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("tutor stopped", "err", err)
		os.Exit(1)
	}
}

// prompt is the tutor's system prompt.
func prompt(c config) string {
	return fmt.Sprintf(`You are a friendly, patient conversation partner helping a %s learner practise speaking the language with BCP-47 code %q.
Their own language has the code %q.
Always answer in the language being practised, in one to three short, simple sentences suited to their level, then ask one easy question that keeps the conversation going.
When they make a mistake, do not lecture: use the correct form naturally in your reply (a recast). Only if they ask, or are clearly stuck, explain briefly in their own language.
If your previous answer was cut off, do not repeat it in full; continue from what they heard.
Your words are spoken aloud: no lists, no emojis, no markup.`, c.level, c.target, c.native)
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	stages, closeStages, err := engines(c, log)
	if err != nil {
		return err
	}
	defer closeStages()

	h, err := newHandler(c, stages, log, os.Stdout)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: c.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }} // cancelling ctx ends the sessions
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("tutor ready", "addr", c.addr, "path", "/tutor", "language", c.target, "level", c.level, "end_of_turn", c.endOfTurn)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// engines returns the STT, LLM, TTS and VAD options.
func engines(c config, log *slog.Logger) ([]agent.Option, func(), error) {
	if c.openAIBaseURL == "" && c.openAIKey == "" {
		if !strings.HasPrefix(strings.ToLower(c.target), "en") {
			log.Warn("no OpenAI-compatible server configured: the offline engines understand only English and do not teach; set -openai-base-url for a real tutor")
		}
		eng, err := offline.New()
		if err != nil {
			return nil, nil, fmt.Errorf("offline engines (run `make deps`): %w", err)
		}
		return eng.SessionOptions(), func() { _ = eng.Close() }, nil
	}
	var opts []openai.Option
	for _, o := range []struct {
		v   string
		opt func(string) openai.Option
	}{
		{c.openAIBaseURL, openai.WithBaseURL}, {c.openAIKey, openai.WithAPIKey},
		{c.llmModel, openai.WithLLMModel}, {c.sttModel, openai.WithSTTModel}, {c.ttsModel, openai.WithTTSModel},
	} {
		if o.v != "" {
			opts = append(opts, o.opt(o.v))
		}
	}
	cl, err := openai.New(opts...)
	if err != nil {
		return nil, nil, err
	}
	return []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(offline.NewVAD)},
		cl.CloseIdleConnections, nil
}

// newHandler serves the tutor on /tutor, printing each conversation's
// transcript to transcript.
func newHandler(c config, stages []agent.Option, log *slog.Logger, transcript io.Writer) (http.Handler, error) {
	var out sync.Mutex // one transcript line at a time
	say := func(id, format string, args ...any) {
		out.Lock()
		defer out.Unlock()
		fmt.Fprintf(transcript, "[%s] "+format+"\n", append([]any{id}, args...)...)
	}
	opts := []device.Option{device.WithLogger(log)}
	if c.token != "" {
		opts = append(opts, device.WithToken(c.token))
	}
	h, err := device.NewHandler(func(r *http.Request, conn *device.Conn) (device.Session, error) {
		id := conn.ID()[:6]
		sopts := append(slices.Clip(stages),
			agent.WithPreset(agent.PresetLanguagePractice),
			agent.WithEndOfTurn(c.endOfTurn),
			agent.WithLanguage(c.target),
			agent.WithSystemPrompt(prompt(c)),
			agent.WithLogger(log.With("session", conn.ID())),
			agent.WithEventHandler(func(ev agent.Event) {
				switch ev.Type {
				case agent.EventUserFinal:
					say(id, "learner: %s", ev.Text)
				case agent.EventAgentDone:
					say(id, "tutor:   %s", ev.Text)
				case agent.EventInterruption:
					if ev.Interruption != nil && ev.Interruption.Cancelled {
						say(id, "tutor:   %s — (interrupted)", ev.Interruption.Heard)
					}
				case agent.EventMetrics:
					if m := ev.Metrics; m != nil {
						say(id, "         (first audio %v after the learner stopped)", m.FirstAudioSent.Round(10*time.Millisecond))
					}
				}
			}))
		if c.voice != "" {
			sopts = append(sopts, agent.WithVoices(map[string]string{c.target: c.voice}))
		}
		return agent.New(conn, sopts...)
	}, opts...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/tutor", h)
	return mux, nil
}
