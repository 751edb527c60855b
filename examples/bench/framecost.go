package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/vad/silero"
)

// frameCost is the cost of processing one frame in one stage.
type frameCost struct {
	Name     string  `json:"name"`
	Frame    string  `json:"frame"`
	NsPerOp  float64 `json:"ns_per_op"`
	AllocsOp int64   `json:"allocs_per_op"`
	// CorePct is the share of one core this stage takes per real-time
	// stream (cost per frame / frame duration).
	CorePct float64 `json:"core_pct"`
}

// costBench is one per-frame benchmark.
type costBench struct {
	name, frame string
	dur         time.Duration
	fn          func(b *testing.B)
}

// frameBenches returns the per-frame benchmarks on real speech (speech is
// 48 kHz mono).
func frameBenches(speech []int16, w *silero.Weights) ([]costBench, error) {
	fr48 := speech[:rtcFrame]
	speech16, err := resample.Frame(pcm.Frame{Format: pcm.Mono48k, Samples: speech}, pcm.Mono16k)
	if err != nil {
		return nil, err
	}
	speech8, err := resample.Frame(pcm.Frame{Format: pcm.Mono48k, Samples: speech}, pcm.Mono8k)
	if err != nil {
		return nil, err
	}
	enc := func(complexity int) func(b *testing.B) {
		return func(b *testing.B) {
			e, err := opus.NewEncoder(rtcRate, 1, opus.WithComplexity(complexity))
			if err != nil {
				b.Fatal(err)
			}
			var pkt []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				off := (i % (len(speech)/rtcFrame - 1)) * rtcFrame
				if pkt, err = e.Encode(speech[off:off+rtcFrame], pkt[:0]); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	benches := []costBench{
		{"opus encode 48 kHz, complexity 5 (default)", "20 ms", frameDur, enc(5)},
		{"opus encode 48 kHz, complexity 9", "20 ms", frameDur, enc(9)},
		{"opus decode 48 kHz", "20 ms", frameDur, func(b *testing.B) {
			e, err := opus.NewEncoder(rtcRate, 1)
			if err != nil {
				b.Fatal(err)
			}
			var pkts [][]byte
			for off := 0; off+rtcFrame <= len(speech); off += rtcFrame {
				p, err := e.Encode(speech[off:off+rtcFrame], nil)
				if err != nil {
					b.Fatal(err)
				}
				pkts = append(pkts, p)
			}
			d, err := opus.NewDecoder(rtcRate, 1)
			if err != nil {
				b.Fatal(err)
			}
			var out []int16
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if out, err = d.Decode(pkts[i%len(pkts)], out[:0]); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"resample 48 → 16 kHz", "20 ms", frameDur, func(b *testing.B) {
			r, err := resample.New(48000, 16000)
			if err != nil {
				b.Fatal(err)
			}
			out := make([]int16, 0, 400)
			b.ReportAllocs()
			for b.Loop() {
				out = r.Process(out[:0], fr48)
			}
		}},
		{"silero v5 window, 16 kHz (default kernels)", "32 ms", 32 * time.Millisecond, sileroBench(w, speech16.Samples)},
		{"μ-law encode 8 kHz", "20 ms", frameDur, func(b *testing.B) {
			dst := make([]byte, 0, 160)
			b.ReportAllocs()
			for b.Loop() {
				dst = g711.EncodeUlaw(dst[:0], speech8.Samples[800:960])
			}
		}},
		{"μ-law decode 8 kHz", "20 ms", frameDur, func(b *testing.B) {
			src := g711.EncodeUlaw(nil, speech8.Samples[800:960])
			dst := make([]int16, 0, 160)
			b.ReportAllocs()
			for b.Loop() {
				dst = g711.DecodeUlaw(dst[:0], src)
			}
		}},
	}
	return benches, nil
}

// sileroBench runs the Silero model over successive 512-sample windows.
func sileroBench(w *silero.Weights, speech16 []int16) func(b *testing.B) {
	return func(b *testing.B) {
		m, err := w.NewModel(16000)
		if err != nil {
			b.Fatal(err)
		}
		win := pcm.ToFloat32(nil, speech16)
		n := m.WindowSize()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			off := (i % (len(win)/n - 1)) * n
			if _, err := m.Probability(win[off : off+n]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// runFrameCosts runs the per-frame benchmarks in a child process on one
// pinned CPU (SCHED_FIFO where allowed, like the capacity server), then the
// scalar Silero kernel in another with AVX2 turned off.
func runFrameCosts(ctx context.Context, cfg config, progress io.Writer) ([]frameCost, error) {
	cpu, _, err := childCPU()
	if err != nil {
		return nil, err
	}
	var out []frameCost
	if err := runFrameChild(ctx, cfg, cpu, childFrame, &out); err != nil {
		return nil, err
	}
	var scalar frameCost
	if err := runFrameChild(ctx, cfg, cpu, childScalarSilero, &scalar, "GODEBUG=cpu.avx2=off"); err != nil {
		return nil, err
	}
	out = append(out, scalar)
	for _, fc := range out {
		fmt.Fprintf(progress, "  %-45s %10.0f ns/op\n", fc.Name, fc.NsPerOp)
	}
	return out, nil
}

// runFrameChild runs a benchmark child and decodes its JSON output into v.
func runFrameChild(ctx context.Context, cfg config, cpu int, job string, v any, env ...string) error {
	cmd, err := childCommand(cfg, job, env...)
	if err != nil {
		return err
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if _, _, err := startPinned(cmd, cpu, cfg.realtime); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("bench: %s child: %w", job, err)
	}
	if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
		return fmt.Errorf("bench: %s child: %w", job, err)
	}
	return nil
}

// frameChild is the child's side of the per-frame benchmarks: it prints
// the costs as JSON on stdout.
func frameChild(cfg config, stdout io.Writer) error {
	w, err := silero.Load()
	if err != nil {
		return err
	}
	speech, err := loadClip(cfg.speechDir, "agent_reply_slt.wav", rtcRate)
	if err != nil {
		return err
	}
	benches, err := frameBenches(speech, w)
	if err != nil {
		return err
	}
	var out []frameCost
	for _, bc := range benches {
		fc, err := bestOf(bc)
		if err != nil {
			return err
		}
		out = append(out, fc)
	}
	return json.NewEncoder(stdout).Encode(out)
}

// benchRuns is how many times each benchmark runs; the fastest run counts,
// since other processes only ever slow a run down.
const benchRuns = 3

// bestOf runs bc benchRuns times and returns its fastest run.
func bestOf(bc costBench) (frameCost, error) {
	var best frameCost
	for i := range benchRuns {
		r := testing.Benchmark(bc.fn)
		if r.N == 0 {
			return frameCost{}, fmt.Errorf("bench: %s failed", bc.name)
		}
		if fc := newFrameCost(bc, r); i == 0 || fc.NsPerOp < best.NsPerOp {
			best = fc
		}
	}
	return best, nil
}

func newFrameCost(bc costBench, r testing.BenchmarkResult) frameCost {
	ns := float64(r.T.Nanoseconds()) / float64(r.N)
	return frameCost{Name: bc.name, Frame: bc.frame, NsPerOp: round1(ns), AllocsOp: r.AllocsPerOp(),
		CorePct: math.Round(100*100*ns/float64(bc.dur.Nanoseconds())) / 100}
}

// scalarSileroName names the scalar Silero benchmark.
const scalarSileroName = "silero v5 window, 16 kHz (scalar Go kernels)"

// scalarSileroChild benchmarks the Silero model in a child started with
// GODEBUG=cpu.avx2=off, so that it uses its portable kernels, and prints
// the cost as JSON on stdout.
func scalarSileroChild(cfg config, stdout io.Writer) error {
	w, err := silero.Load()
	if err != nil {
		return err
	}
	speech, err := loadClip(cfg.speechDir, "agent_reply_slt.wav", 16000)
	if err != nil {
		return err
	}
	fc, err := bestOf(costBench{name: scalarSileroName, frame: "32 ms", dur: 32 * time.Millisecond, fn: sileroBench(w, speech)})
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(fc)
}
