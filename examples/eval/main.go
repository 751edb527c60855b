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
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
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
	repeat   int
	aec      string
	jsonOut  string
	verbose  bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.engines, "engines", "offline", "speech engines: offline, openai (OPENAI_BASE_URL, OPENAI_API_KEY), or realtime (streaming recognition over the OpenAI Realtime API: HARK_REALTIME_URL, HARK_REALTIME_DIALECT, HARK_STT_MODEL; chat and speech as openai)")
	fs.StringVar(&o.preset, "preset", "default", "turn-taking preset: default, phone, language-practice, smart-speaker (scenarios on a phone line use phone unless this is given)")
	fs.IntVar(&o.parallel, "parallel", 1, "scenarios played at once (each runs in real time; more than one lets them compete for the CPU, which moves timings)")
	fs.IntVar(&o.repeat, "repeat", 1, "runs of each scenario (outcomes and pass rates over all runs)")
	fs.StringVar(&o.aec, "aec", "on", "server-side echo canceller: on (the scenarios' microphone is a raw room microphone, as a device's is), off (the echo guard alone, as behind a client that cancels its own echo), or preset (the preset's default; what scenarios on a phone line get unless this is given)")
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
	if o.repeat < 1 || o.parallel < 1 {
		return errors.New("-repeat and -parallel must be at least 1")
	}
	preset, err := parsePreset(o.preset)
	if err != nil {
		return err
	}
	// A scenario on a phone line gets the phone preset and its echo
	// settings unless the flags say otherwise.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
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
	base = append(base, agent.WithLogger(log))
	var aec []agent.Option
	switch o.aec {
	case "on", "off":
		aec = []agent.Option{agent.WithEchoCanceller(o.aec == "on")}
	case "preset":
	default:
		return fmt.Errorf("-aec %q: want on, off or preset", o.aec)
	}

	// Runs of one scenario sit together in results, in file order.
	results := make([]result, len(tracks)*o.repeat)
	sem := make(chan struct{}, o.parallel)
	var wg sync.WaitGroup
	for run := range o.repeat {
		for i, t := range tracks {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if ctx.Err() != nil {
					return
				}
				p := preset
				if t.Line == agenttest.LinePhone && !given["preset"] {
					p = agent.PresetPhone
				}
				opts := append(slices.Clip(base), agent.WithPreset(p))
				if t.Line != agenttest.LinePhone || given["aec"] {
					opts = append(opts, aec...)
				}
				r := play(ctx, t, opts, tts)
				results[i*o.repeat+run] = r
				fmt.Fprintf(stderr, "played %s (run %d): %s\n", t.Name, run+1, r.Outcome)
			})
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	sum := summarise(results, o.repeat)
	printTable(stdout, sum)
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

// printTable prints one row per scenario: its pass rate over the runs,
// the outcomes, onset-to-silence delays (median and worst), how often and by
// how much the session noticed speech before the onset rule, pauses of
// false interruptions, committed turns and the echo canceller's ERLE.
func printTable(w io.Writer, s summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\texpect\tpass\toutcomes\tdelay ms\tVAD<onset ms\tpause ms\tturns\tERLE dB\tlast failure")
	for _, sc := range s.PerScene {
		var outs []string
		for _, k := range slices.Sorted(maps.Keys(sc.Outcomes)) {
			outs = append(outs, fmt.Sprintf("%s %d", k, sc.Outcomes[k]))
		}
		var turns []string
		for _, n := range sc.Turns {
			turns = append(turns, fmt.Sprint(n))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sc.Name, sc.Expect, sc.Passed, sc.Runs,
			strings.Join(outs, ", "), spread(sc.DelayMS), spread(sc.EarlyMS), spread(sc.PauseMS),
			strings.Join(turns, " "), spread(sc.ERLEdB), sc.Detail)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d scenarios x %d runs: %d/%d passed; missed %d/%d barge-ins, false %d/%d, split %d/%d; "+
		"onset to silence p50 %.0f ms, p95 %.0f ms, max %.0f ms; VAD before onset %d\n",
		s.Scenarios, s.Runs, s.Passed, len(s.Results), s.Missed, s.BargeIns, s.False, s.NoBargeIns, s.Split, s.OneTurns,
		s.DelayP50MS, s.DelayP95MS, s.DelayMaxMS, s.Early)
}

// spread prints the median and the largest of xs ("-" for none).
func spread(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 1 {
		return fmt.Sprintf("%.0f", s[0])
	}
	return fmt.Sprintf("%.0f (max %.0f)", percentile(s, 0.5), s[len(s)-1])
}
