// Command livekit runs Hark as a LiveKit agent worker: it registers with a
// LiveKit server (self-hosted or LiveKit Cloud), takes the rooms the server
// dispatches to it, and holds a voice conversation with each caller. Start
// as many as you need, on one machine or many: the server spreads new rooms
// over them by load. Ctrl-C drains: the worker takes no new rooms and exits
// when its calls have ended.
//
//	LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//	    go run ./examples/livekit -agent-name hark
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	lklog "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/transport/livekit"
)

func main() {
	url := flag.String("url", os.Getenv("LIVEKIT_URL"), "LiveKit server URL (ws://, wss://, or a LiveKit Cloud project URL)")
	key := flag.String("api-key", os.Getenv("LIVEKIT_API_KEY"), "LiveKit API key")
	secret := flag.String("api-secret", os.Getenv("LIVEKIT_API_SECRET"), "LiveKit API secret")
	name := flag.String("agent-name", "", "agent name for explicit dispatch; empty: the worker joins every new room")
	maxJobs := flag.Int("max-jobs", 8, "calls this worker runs at once")
	sweep := flag.Duration("sweep", 10*time.Second, "with -agent-name: how often to look for rooms that lost their agent (0: never)")
	baseURL := flag.String("openai-base-url", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible API base URL; with it or a key, use those engines instead of the offline ones")
	apiKey := flag.String("openai-key", os.Getenv("OPENAI_API_KEY"), "API key of the OpenAI-compatible server")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// The SDK logs every WebRTC step by default.
	lksdk.SetLogger(lklog.GetDiscardLogger())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, *url, *key, *secret, *name, *maxJobs, *sweep, *baseURL, *apiKey); err != nil {
		fmt.Fprintln(os.Stderr, "livekit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, url, key, secret, name string, maxJobs int, sweep time.Duration, baseURL, apiKey string) error {
	stages, err := engines(baseURL, apiKey)
	if err != nil {
		return err
	}
	opts := []livekit.Option{livekit.WithLogger(log), livekit.WithMaxJobs(maxJobs), livekit.WithAgentName(name)}
	if name != "" && sweep > 0 {
		opts = append(opts, livekit.WithRoomSweep(sweep, 0))
	}
	w, err := livekit.NewWorker(url, key, secret, func(job livekit.Job, c *livekit.Conn) (livekit.Session, error) {
		log.Info("call", "room", job.Room, "job", job.ID)
		return agent.New(c, stages...)
	}, opts...)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// engines returns the offline engines, or an OpenAI-compatible server's.
func engines(baseURL, apiKey string) ([]agent.Option, error) {
	if baseURL == "" && apiKey == "" {
		eng, err := offline.New()
		if err != nil {
			return nil, fmt.Errorf("offline engines (run `make deps`): %w", err)
		}
		return []agent.Option{agent.WithSTT(eng.STT), agent.WithLLM(eng.LLM), agent.WithTTS(eng.TTS), agent.WithVAD(eng.VAD)}, nil
	}
	var opts []openai.Option
	if baseURL != "" {
		opts = append(opts, openai.WithBaseURL(baseURL))
	}
	if apiKey != "" {
		opts = append(opts, openai.WithAPIKey(apiKey))
	}
	cl, err := openai.New(opts...)
	if err != nil {
		return nil, err
	}
	return []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(offline.NewVAD)}, nil
}
