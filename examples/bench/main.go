package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec/aectest"
	"github.com/harkvoice/hark/vad/silero"
)

// benchTime is how long each run of a per-frame benchmark lasts.
const benchTime = "300ms"

func main() {
	// testing.Benchmark reads the testing package's flags.
	testing.Init()
	if err := flag.Set("test.benchtime", benchTime); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if job := os.Getenv(envChild); job != "" {
		if err := runChild(context.Background(), job, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// config is the benchmark's settings.
type config struct {
	speechDir string
	outMD     string
	outJSON   string
	sections  map[string]bool
	seed      uint64

	trials int // barge-in trials in one ongoing session
	// freshTrials are barge-in trials with a new peer, and so a new
	// session, each: the figure reported beside the ongoing one.
	freshTrials int
	turns       int // voice-to-voice turns per engine set
	codeTurns   int // turns ending in a code per engine set and conversation
	// interimTrials are the interim-word trials per recogniser.
	interimTrials int

	replyLen    time.Duration // capacity: the cached reply's length
	memSessions int
	capStart    int
	capBudget   time.Duration
	capWarmup   time.Duration
	capWindow   time.Duration
	realtime    bool
	verbose     bool
	engines     []string // voice-to-voice engine sets
	aecScenes   int      // echo cancellation: how many standard scenes
}

// Sections of the benchmark.
const (
	secBargeIn  = "bargein"
	secV2V      = "v2v"
	secCapacity = "capacity"
	// secCapacityAEC is the capacity section with the server's echo
	// canceller in every session.
	secCapacityAEC = "capacity_aec"
	secFrame       = "frame"
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.speechDir, "speech", "testdata/speech", "directory of the flite speech clips")
	fs.StringVar(&cfg.outMD, "md", "BENCHMARKS.md", "Markdown report to write")
	fs.StringVar(&cfg.outJSON, "json", "bench.json", "JSON results to write")
	sections := fs.String("sections", "bargein,livekit,realtime,v2v,codes,interim,capacity,capacity_aec,phone,frame,aec", "sections to run (comma-separated)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the random interruption points and start offsets")
	fs.IntVar(&cfg.trials, "trials", 50, "barge-in trials in one session (the user asks by voice, then says \"Stop.\" over the reply)")
	fs.IntVar(&cfg.freshTrials, "fresh-trials", 20,
		"barge-in trials with a new peer and session each (the VAD meets \"Stop.\" as the session's first speech); 0 skips them")
	fs.IntVar(&cfg.turns, "turns", 20, "voice-to-voice turns per engine set")
	fs.IntVar(&cfg.interimTrials, "interim-trials", 20, "interim: trials per recogniser (backchannels and interruptions alternating)")
	fs.IntVar(&cfg.codeTurns, "code-turns", 10, "codes: turns ending in a code per engine set and conversation (formats known, unknown)")
	fs.DurationVar(&cfg.replyLen, "reply", 3500*time.Millisecond, "capacity: length of the cached spoken reply")
	fs.IntVar(&cfg.memSessions, "mem-sessions", 32, "capacity: sessions used to measure memory")
	fs.IntVar(&cfg.capStart, "cap-start", 16, "capacity: first session count tried (doubled until one fails)")
	fs.DurationVar(&cfg.capBudget, "cap-budget", 165*time.Second, "capacity: stop bisecting after this long")
	fs.DurationVar(&cfg.capWarmup, "cap-warmup", 3*time.Second, "capacity: warm-up before each measured window")
	fs.DurationVar(&cfg.capWindow, "cap-window", 8*time.Second, "capacity: measured window per session count")
	fs.BoolVar(&cfg.realtime, "realtime", true, "run the capacity server and the per-frame benchmarks with SCHED_FIFO on their CPU, as on a dedicated core")
	engines := fs.String("engines", "offline,openai,"+engineRealtimeSTT, "voice-to-voice engine sets: offline, openai (openaitest), realtime_stt (Realtime transcription against realtimetest, chat and speech as openai)")
	fs.IntVar(&cfg.aecScenes, "aec-scenes", len(aectest.Specs), "aec: how many of aectest's standard scenes to run (the first is the headline)")
	fs.BoolVar(&cfg.verbose, "v", false, "print the session events of every barge-in trial and voice-to-voice turn")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.sections = map[string]bool{}
	for _, s := range strings.Split(*sections, ",") {
		switch s = strings.TrimSpace(s); s {
		case secBargeIn, secLiveKit, secRealtime, secV2V, secCodes, secInterim, secCapacity, secCapacityAEC, secPhone, secFrame, secAEC:
			cfg.sections[s] = true
		case "":
		default:
			return cfg, fmt.Errorf("unknown section %q", s)
		}
	}
	for _, e := range strings.Split(*engines, ",") {
		switch e = strings.TrimSpace(e); e {
		case "offline", "openai", engineRealtimeSTT:
			cfg.engines = append(cfg.engines, e)
		case "":
		default:
			return cfg, fmt.Errorf("unknown engine set %q", e)
		}
	}
	if cfg.freshTrials < 0 {
		return cfg, errors.New("-fresh-trials must not be negative")
	}
	if cfg.trials < 1 || cfg.turns < 1 || cfg.codeTurns < 1 || cfg.interimTrials < 1 || cfg.memSessions < 1 || cfg.capStart < 1 || cfg.aecScenes < 1 {
		return cfg, errors.New("-trials, -turns, -code-turns, -interim-trials, -mem-sessions, -cap-start and -aec-scenes must be positive")
	}
	return cfg, nil
}

// run runs the chosen sections and writes the reports; progress goes to
// progress.
func run(ctx context.Context, args []string, progress io.Writer) error {
	cfg, err := parseFlags(args, progress)
	if err != nil {
		return err
	}
	began := time.Now()
	rep := &report{Machine: machineInfo(), Started: began.UTC()}
	w, err := silero.Load()
	if err != nil {
		return fmt.Errorf("%w (run `make deps`)", err)
	}
	section := func(name, title string, f func() error) error {
		if !cfg.sections[name] {
			return nil
		}
		t := time.Now()
		fmt.Fprintf(progress, "[bench] %s\n", title)
		if err := f(); err != nil {
			return err
		}
		fmt.Fprintf(progress, "[bench] %s done in %v\n", name, time.Since(t).Round(time.Second))
		return nil
	}
	if err := section(secFrame, "per-frame costs", func() (err error) {
		rep.Frame, err = runFrameCosts(ctx, cfg, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secBargeIn, fmt.Sprintf("barge-in over WebRTC, %d trials", cfg.trials), func() (err error) {
		if rep.BargeIn, err = runBargeIn(ctx, cfg, w, false, cfg.trials, progress); err != nil || cfg.freshTrials == 0 {
			return err
		}
		fmt.Fprintf(progress, "  %d trials with a new session each\n", cfg.freshTrials)
		rep.BargeInFresh, err = runBargeIn(ctx, cfg, w, true, cfg.freshTrials, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secLiveKit, fmt.Sprintf("barge-in through LiveKit, %d trials", cfg.trials), func() (err error) {
		rep.LiveKit, err = runLiveKit(ctx, cfg, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secRealtime, fmt.Sprintf("barge-in (%d trials) and voice-to-voice (%d turns) through the Realtime endpoint", cfg.trials, cfg.turns), func() (err error) {
		rep.Realtime, err = runRealtime(ctx, cfg, w, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secV2V, fmt.Sprintf("voice-to-voice over WebRTC, %d turns per engine set", cfg.turns), func() (err error) {
		rep.V2V, err = runV2V(ctx, cfg, w, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secCodes, fmt.Sprintf("turns ending in a code over WebRTC, %d per engine set and conversation", cfg.codeTurns), func() (err error) {
		rep.Codes, err = runCodes(ctx, cfg, w, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secInterim, fmt.Sprintf("decisions on interim words, %d trials per recogniser", cfg.interimTrials), func() (err error) {
		rep.Interim, err = runInterim(ctx, cfg, w, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secCapacity, `capacity of one core (device WebSocket, Opus; the devices say "aec": false)`, func() (err error) {
		rep.Capacity, err = runCapacity(ctx, cfg, false, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secCapacityAEC, "capacity of one core (device WebSocket, Opus; the server's echo canceller in every session)", func() (err error) {
		rep.CapacityAEC, err = runCapacity(ctx, cfg, true, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secPhone, "capacity of one core (SIP calls, μ-law)", func() (err error) {
		rep.Phone, err = runPhoneCapacity(ctx, cfg, progress)
		return err
	}); err != nil {
		return err
	}
	if err := section(secAEC, "echo cancellation on synthetic rooms", func() (err error) {
		rep.AEC, err = runAEC(ctx, cfg, progress)
		return err
	}); err != nil {
		return err
	}
	http.DefaultClient.CloseIdleConnections()
	rep.Duration = time.Since(began).Round(time.Second)
	if err := rep.write(cfg); err != nil {
		return err
	}
	fmt.Fprintf(progress, "[bench] wrote %s and %s in %v\n", cfg.outMD, cfg.outJSON, rep.Duration)
	return nil
}

// runChild runs a child process's job, named by the environment.
func runChild(ctx context.Context, job string, stdin io.Reader, stdout io.Writer) error {
	if bt := os.Getenv(envBench); bt != "" {
		if err := flag.Set("test.benchtime", bt); err != nil {
			return err
		}
	}
	cfg := config{speechDir: os.Getenv(envSpeech)}
	if cfg.speechDir == "" {
		cfg.speechDir = "testdata/speech"
	}
	switch job {
	case childCapacity, childPhone:
		ms, err := strconv.Atoi(os.Getenv(envReplyMs))
		if err != nil || ms <= 0 {
			return fmt.Errorf("bad %s", envReplyMs)
		}
		cfg.replyLen = time.Duration(ms) * time.Millisecond
		if job == childPhone {
			return phoneChild(ctx, cfg, stdin, stdout)
		}
		return capacityChild(ctx, cfg, stdin, stdout)
	case childFrame:
		return frameChild(cfg, stdout)
	case childLiveKit:
		return liveKitChild(ctx, cfg, stdout)
	case childAEC, childAECPortable:
		return aecChild(cfg, stdout, job == childAECPortable)
	case childScalarSilero:
		return scalarSileroChild(cfg, stdout)
	}
	return fmt.Errorf("unknown child job %q", job)
}
