// Command livekit runs Hark as a LiveKit agent worker: it registers with a
// LiveKit server (self-hosted or LiveKit Cloud), takes the rooms the server
// dispatches to it, and holds a voice conversation with each caller. Start
// as many as you need, on one machine or many: the server spreads new rooms
// over them by load. Ctrl-C drains: the worker takes no new rooms and exits
// when its calls have ended.
//
// A caller who asks for a person is handed to one: the worker logs a link
// to the operator page it serves (-operator-addr); the person who opens it
// joins the room with microphone and camera and sees the summary of the
// call, and the agent goes quiet or leaves (-handoff).
//
//	LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//	    go run ./examples/livekit -agent-name hark
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	handoff := flag.String("handoff", "quiet", "when a person takes over a call, the agent goes quiet or leaves the room: quiet, leave, or off (no hand-off)")
	opAddr := flag.String("operator-addr", "127.0.0.1:8089", "address to serve the operator page on (browsers allow camera and microphone only on localhost or https)")
	opURL := flag.String("operator-url", "", "the operator page's URL as operators reach it (default http://OPERATOR-ADDR/), e.g. behind an https proxy")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// The SDK logs every WebRTC step by default.
	lksdk.SetLogger(lklog.GetDiscardLogger())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := handoffConfig{mode: *handoff, addr: *opAddr, url: *opURL}
	if err := run(ctx, log, *url, *key, *secret, *name, *maxJobs, *sweep, *baseURL, *apiKey, h); err != nil {
		fmt.Fprintln(os.Stderr, "livekit:", err)
		os.Exit(1)
	}
}

// handoffConfig is how calls are handed to people.
type handoffConfig struct {
	mode string // quiet, leave or off
	addr string // where the operator page is served
	url  string // the page's URL as operators reach it
}

func run(ctx context.Context, log *slog.Logger, url, key, secret, name string, maxJobs int, sweep time.Duration, baseURL, apiKey string, h handoffConfig) error {
	stages, err := engines(baseURL, apiKey)
	if err != nil {
		return err
	}
	opts := []livekit.Option{livekit.WithLogger(log), livekit.WithMaxJobs(maxJobs), livekit.WithAgentName(name)}
	if name != "" && sweep > 0 {
		opts = append(opts, livekit.WithRoomSweep(sweep, 0))
	}
	more, stop, err := operatorPage(ctx, log, h)
	if err != nil {
		return err
	}
	defer stop()
	opts = append(opts, more...)
	w, err := livekit.NewWorker(url, key, secret, func(job livekit.Job, c *livekit.Conn) (livekit.Session, error) {
		log.Info("call", "room", job.Room, "job", job.ID)
		return agent.New(c, stages...)
	}, opts...)
	if err != nil {
		return err
	}
	return w.Run(ctx)
}

// operatorPage serves the operator page and returns the worker's hand-off
// options, and the function that stops the page's server.
func operatorPage(ctx context.Context, log *slog.Logger, h handoffConfig) ([]livekit.Option, func(), error) {
	var mode livekit.HandoffMode
	switch h.mode {
	case "off":
		return nil, func() {}, nil
	case "quiet":
		mode = livekit.HandoffQuiet
	case "leave":
		mode = livekit.HandoffLeave
	default:
		return nil, nil, fmt.Errorf("-handoff %q: want quiet, leave or off", h.mode)
	}
	page, err := livekit.OperatorHandler()
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", h.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("operator page: %w", err)
	}
	pageURL := h.url
	if pageURL == "" {
		pageURL = "http://" + ln.Addr().String() + "/"
	}
	srv := &http.Server{Handler: page, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("operator page", "err", err)
		}
	}()
	log.Info("operator page", "url", pageURL)
	notify := func(ho livekit.Handoff) {
		// Page an operator here (a queue, a chat message); this example logs
		// the link that joins the call.
		log.Info("call handed to a person: open the operator page", "room", ho.Job.Room,
			"reason", ho.Reason, "url", ho.PageURL)
	}
	opts := []livekit.Option{livekit.WithHandoff(mode, notify), livekit.WithOperatorPage(pageURL)}
	return opts, func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}

// engines returns the offline engines, or an OpenAI-compatible server's.
func engines(baseURL, apiKey string) ([]agent.Option, error) {
	if baseURL == "" && apiKey == "" {
		eng, err := offline.New()
		if err != nil {
			return nil, fmt.Errorf("offline engines (run `make deps`): %w", err)
		}
		// The demo tools include transfer_to_human ("let me talk to a
		// person"), which hands the call off.
		return []agent.Option{agent.WithSTT(eng.STT), agent.WithLLM(eng.LLM), agent.WithTTS(eng.TTS), agent.WithVAD(eng.VAD),
			agent.WithTools(eng.Tools...)}, nil
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
	transfer, err := agent.NewTool("transfer_to_human", "Hand the caller to a person, when they ask for one or the problem needs one.",
		func(_ context.Context, a struct {
			Reason string `json:"reason" description:"why the caller needs a person"`
		}) (string, error) {
			return "", agent.Handoff(a.Reason)
		})
	if err != nil {
		return nil, err
	}
	return []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(offline.NewVAD),
		agent.WithTools(transfer)}, nil
}
