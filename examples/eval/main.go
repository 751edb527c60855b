// Command eval plays turn-taking scenarios against a Hark session and reports
// how it handled each: barge-ins detected and how fast, false interruptions,
// and user turns split by a premature end of turn.
//
//	go run ./examples/eval [flags] testdata/scenarios/scenarios.json
//
// The scenario format is described in README.md beside this file.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"text/tabwriter"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/pipeline"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "eval:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	engines  string
	preset   string
	parallel int
	jsonOut  string
	verbose  bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.engines, "engines", "offline", "speech engines: offline, openai (OPENAI_BASE_URL, OPENAI_API_KEY), or realtime (streaming recognition over the OpenAI Realtime API: HARK_REALTIME_URL, HARK_REALTIME_DIALECT, HARK_STT_MODEL; chat and speech as openai)")
	fs.StringVar(&o.preset, "preset", "default", "turn-taking preset: default, phone, language-practice, smart-speaker")
	fs.IntVar(&o.parallel, "parallel", 2, "scenarios played at once (each runs in real time)")
	fs.StringVar(&o.jsonOut, "json", "", "also write the JSON summary to this file")
	fs.BoolVar(&o.verbose, "v", false, "log session events")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: eval [flags] SCENARIOS.json")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want one scenario file")
	}
	preset, err := parsePreset(o.preset)
	if err != nil {
		return err
	}
	tracks, err := agenttest.LoadScenarios(fs.Arg(0))
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	base, tts, closeEngines, err := newEngines(o.engines)
	if err != nil {
		return err
	}
	defer closeEngines()
	base = append(base, agent.WithPreset(preset), agent.WithLogger(log))

	results := make([]result, len(tracks))
	sem := make(chan struct{}, max(1, o.parallel))
	var wg sync.WaitGroup
	for i, t := range tracks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = play(ctx, t, base, tts)
			fmt.Fprintf(stderr, "played %s\n", t.Name)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	sum := summarise(results)
	printTable(stdout, results)
	out, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", out)
	if o.jsonOut != "" {
		return os.WriteFile(o.jsonOut, append(out, '\n'), 0o644)
	}
	return nil
}

func parsePreset(name string) (agent.Preset, error) {
	for _, p := range []agent.Preset{agent.PresetDefault, agent.PresetPhone, agent.PresetLanguagePractice, agent.PresetSmartSpeaker} {
		if p.String() == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown preset %q: want default, phone, language-practice or smart-speaker", name)
}

// newEngines returns the session options for the configured engines, their
// TTS (the scenario's reply clip stands in for its first reply) and a
// function that frees them.
func newEngines(name string) ([]agent.Option, pipeline.TTS, func(), error) {
	switch name {
	case "offline":
		e, err := offline.New()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("offline engines (run `make deps`): %w", err)
		}
		return e.SessionOptions(), e.TTS, func() { _ = e.Close() }, nil
	case "openai", "realtime":
		var opts []openai.Option
		if u := os.Getenv("OPENAI_BASE_URL"); u != "" {
			opts = append(opts, openai.WithBaseURL(u))
		}
		if k := os.Getenv("OPENAI_API_KEY"); k != "" {
			opts = append(opts, openai.WithAPIKey(k))
		}
		c, err := openai.New(opts...)
		if err != nil {
			return nil, nil, nil, err
		}
		stt := agent.WithSTT(c)
		if name == "realtime" {
			ropts := []realtime.Option{realtime.WithAPIKey(os.Getenv("OPENAI_API_KEY")), realtime.WithDialect(os.Getenv("HARK_REALTIME_DIALECT"))}
			if u := cmp.Or(os.Getenv("HARK_REALTIME_URL"), os.Getenv("OPENAI_BASE_URL")); u != "" {
				ropts = append(ropts, realtime.WithBaseURL(u))
			}
			if m := os.Getenv("HARK_STT_MODEL"); m != "" {
				ropts = append(ropts, realtime.WithModel(m))
			}
			rec, err := realtime.New(ropts...)
			if err != nil {
				return nil, nil, nil, err
			}
			stt = agent.WithStreamingSTT(rec)
		}
		return []agent.Option{stt, agent.WithLLM(c), agent.WithVAD(offline.NewVAD)},
			c, c.CloseIdleConnections, nil
	}
	return nil, nil, nil, fmt.Errorf("unknown engines %q", name)
}

func printTable(w io.Writer, rs []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpect\toutcome\tok\tdetail")
	for _, r := range rs {
		ok := "yes"
		if !r.OK {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, r.Expect, r.Outcome, ok, r.Detail)
	}
	tw.Flush()
}
