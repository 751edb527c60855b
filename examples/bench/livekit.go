package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	lklog "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/livekit"
	"github.com/harkvoice/hark/agent/transport/livekit/livekittest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad/silero"
)

const (
	secLiveKit   = "livekit"
	childLiveKit = "livekit-bargein"
	envTrials    = "HARK_BENCH_TRIALS"
	envSeed      = "HARK_BENCH_SEED"
)

// liveKitResult holds the LiveKit barge-in measurements, in milliseconds.
type liveKitResult struct {
	Trials int `json:"trials"`
	Missed int `json:"missed"`
	// OnsetToSilence: speech onset of "Stop." as the caller sent it to the
	// last audible agent frame the caller received through the SFU.
	OnsetToSilence []float64 `json:"onset_to_silence"`
	// ServerOnsetToSilence: the session's own figure.
	ServerOnsetToSilence []float64 `json:"server_onset_to_silence"`
	// Skipped says why the section did not run.
	Skipped string `json:"skipped,omitempty"`
}

// runLiveKit measures barge-in through a real livekit-server: the section
// runs in a child process inside a network namespace of its own (see
// livekittest.Isolate).
func runLiveKit(ctx context.Context, cfg config, progress io.Writer) (*liveKitResult, error) {
	if _, err := livekittest.ServerPath(); err != nil {
		return &liveKitResult{Skipped: err.Error()}, nil
	}
	if err := livekittest.CanIsolate(); err != nil {
		return &liveKitResult{Skipped: err.Error()}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd, err := livekittest.IsolatedCommand(exe)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(cmd.Env, envChild+"="+childLiveKit, envSpeech+"="+cfg.speechDir,
		envTrials+"="+strconv.Itoa(cfg.trials), envSeed+"="+strconv.FormatUint(cfg.seed, 10))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: livekit child: %w", err)
	}
	res := &liveKitResult{}
	if err := json.Unmarshal(out.Bytes(), res); err != nil {
		return nil, fmt.Errorf("bench: livekit child output: %w", err)
	}
	return res, nil
}

// liveKitChild runs the trials inside the isolated network: livekit-server,
// one Hark worker, and a caller made with LiveKit's Go SDK that asks for a
// long reply on lk.chat and says "Stop." over it at a random point.
func liveKitChild(ctx context.Context, cfg config, stdout io.Writer) error {
	trials, _ := strconv.Atoi(os.Getenv(envTrials))
	seed, _ := strconv.ParseUint(os.Getenv(envSeed), 10, 64)
	if trials < 1 {
		trials = 1
	}
	lksdk.SetLogger(lklog.GetDiscardLogger())
	stop, err := loadClip(cfg.speechDir, "stop_slt.wav", rtcRate)
	if err != nil {
		return err
	}
	onsetPos, _, ok := speechBounds(stop, rtcRate)
	if !ok {
		return errors.New("bench: stop_slt.wav is silent")
	}
	w, err := silero.Load()
	if err != nil {
		return err
	}
	srv, err := livekittest.StartServer(ctx, 7880)
	if err != nil {
		return err
	}
	defer srv.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	worker, err := livekit.NewWorker(srv.URL, livekittest.APIKey, livekittest.APISecret,
		func(_ livekit.Job, c *livekit.Conn) (livekit.Session, error) {
			stt := &agenttest.STT{Fn: func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
				return pipeline.Transcript{Text: "stop", Language: "en", Final: true}, nil
			}}
			return agent.New(c, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text(bargeInReply))),
				agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(sileroFactory(w)))
		}, livekit.WithAgentName("bench"), livekit.WithLogger(quiet))
	if err != nil {
		return err
	}
	wctx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- worker.Run(wctx) }()
	defer func() {
		stopWorker()
		<-ran
	}()
	<-worker.Ready()
	tok, err := livekittest.Token("bench", "caller", "bench")
	if err != nil {
		return err
	}
	c, err := livekittest.Join(ctx, srv.URL, tok)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Wait(ctx, 20*time.Second, func() bool { return len(c.States()) > 1 }); err != nil {
		return fmt.Errorf("bench: no agent in the room: %w", err)
	}

	rng := rand.New(rand.NewPCG(seed, 2))
	res := &liveKitResult{}
	for i := range trials {
		offset := 300*time.Millisecond + time.Duration(rng.Int64N(int64(2700*time.Millisecond)))
		res.Trials++
		ms, server, err := liveKitTrial(ctx, c, stop, onsetPos, offset)
		if err != nil {
			res.Missed++
			fmt.Fprintf(os.Stderr, "  livekit trial %d: %v\n", i+1, err)
			sleepCtx(ctx, 3*time.Second)
			continue
		}
		res.OnsetToSilence = append(res.OnsetToSilence, ms)
		res.ServerOnsetToSilence = append(res.ServerOnsetToSilence, server)
		if (i+1)%10 == 0 {
			fmt.Fprintf(os.Stderr, "  %d/%d trials, last onset->silence %.1f ms\n", i+1, trials, ms)
		}
	}
	return json.NewEncoder(stdout).Encode(res)
}

// liveKitTrial asks for the reply, talks over it offset after its first
// audible frame, and returns onset->silence at the caller and the
// session's own figure, in milliseconds.
func liveKitTrial(ctx context.Context, c *livekittest.Client, stop []int16, onsetPos int, offset time.Duration) (float64, float64, error) {
	n, heard := len(c.Events()), len(c.Heard())
	c.Room.LocalParticipant.SendText("Where is my order?", lksdk.StreamTextOptions{Topic: livekit.TopicChat})
	var first time.Time
	if err := c.Wait(ctx, 10*time.Second, func() bool {
		for _, h := range c.Heard()[heard:] {
			if h.Loud() {
				first = h.At
				return true
			}
		}
		return false
	}); err != nil {
		return 0, 0, fmt.Errorf("no reply audio: %w", err)
	}
	sleepCtx(ctx, time.Until(first.Add(offset)))
	said := c.Say(stop)
	onset := said.Add(pcm.Mono48k.Duration(onsetPos))
	paused, err := c.WaitEvent(ctx, 5*time.Second, n, func(e transport.Event) bool {
		return e.Type == transport.EventInterruption && e.Interruption != nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("no interruption: %w", err)
	}
	if _, err := c.WaitEvent(ctx, 10*time.Second, n, func(e transport.Event) bool {
		return e.Type == transport.EventUserFinal && e.Text == "stop"
	}); err != nil {
		return 0, 0, fmt.Errorf("no final \"stop\" turn: %w", err)
	}
	sleepCtx(ctx, 300*time.Millisecond)
	var last time.Time
	for _, h := range c.Heard()[heard:] {
		if h.Loud() {
			last = h.At
		}
	}
	return millis(last.Sub(onset)), millis(paused.Interruption.OnsetToSilence), nil
}

// flat adds the section's JSON keys.
func (l *liveKitResult) flat(out map[string]any, put func(string, summary)) {
	if l.Skipped != "" {
		out["livekit_skipped"] = l.Skipped
		return
	}
	put("livekit_bargein_onset_to_silence_ms", summarize(l.OnsetToSilence))
	put("livekit_bargein_server_onset_to_silence_ms", summarize(l.ServerOnsetToSilence))
	out["livekit_bargein_trials"], out["livekit_bargein_missed"] = l.Trials, l.Missed
}

// markdown renders the section.
func (l *liveKitResult) markdown(p func(string, ...any)) {
	p("## Barge-in latency through LiveKit\n\n")
	if l.Skipped != "" {
		p("Skipped: %s\n\n", l.Skipped)
		return
	}
	p("| measurement | n | p50 | p95 | max |\n|---|---:|---:|---:|---:|\n")
	for _, r := range []struct {
		name string
		xs   []float64
	}{
		{"speech onset → last audible agent frame received through the SFU (caller)", l.OnsetToSilence},
		{"speech onset → silence (session's own figure)", l.ServerOnsetToSilence},
	} {
		s := summarize(r.xs)
		p("| %s | %d | %.1f | %.1f | %.1f |\n", r.name, s.N, s.P50, s.P95, s.Max)
	}
	p("\nTrials: %d, missed: %d; one room and session for all trials.\n\n", l.Trials, l.Missed)
	p("How measured: livekit-server v1.13.11 (single node, built by `make deps`), one Hark worker (`agent/transport/livekit`) ")
	p("and a caller made with LiveKit's Go SDK, all inside a network namespace of their own (a veth pair). The caller ")
	p("asks for the same scripted reply as the WebRTC section by a text stream on `lk.chat`, and its microphone track plays ")
	p("flite's \"Stop.\" at a seeded random point 0.3–3.0 s into the reply; onset and silence are defined as in the WebRTC ")
	p("section, with the agent's audio now forwarded by the SFU.\n\n")
}
