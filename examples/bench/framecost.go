package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
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

// runFrameCosts runs the per-frame benchmarks in this process, and the
// scalar Silero kernel in a child process with AVX2 turned off.
func runFrameCosts(ctx context.Context, cfg config, w *silero.Weights, progress io.Writer) ([]frameCost, error) {
	speech, err := loadClip(cfg.speechDir, "agent_reply_slt.wav", rtcRate)
	if err != nil {
		return nil, err
	}
	benches, err := frameBenches(speech, w)
	if err != nil {
		return nil, err
	}
	var out []frameCost
	for _, bc := range benches {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r := testing.Benchmark(bc.fn)
		if r.N == 0 {
			return nil, fmt.Errorf("bench: %s failed", bc.name)
		}
		out = append(out, newFrameCost(bc, r))
		fmt.Fprintf(progress, "  %-45s %10.0f ns/op\n", bc.name, out[len(out)-1].NsPerOp)
	}
	scalar, err := runScalarSilero(ctx, cfg)
	if err != nil {
		fmt.Fprintf(progress, "  scalar silero: %v\n", err)
	} else {
		out = append(out, scalar)
		fmt.Fprintf(progress, "  %-45s %10.0f ns/op\n", scalar.Name, scalar.NsPerOp)
	}
	return out, nil
}

func newFrameCost(bc costBench, r testing.BenchmarkResult) frameCost {
	ns := float64(r.T.Nanoseconds()) / float64(r.N)
	return frameCost{Name: bc.name, Frame: bc.frame, NsPerOp: round1(ns), AllocsOp: r.AllocsPerOp(),
		CorePct: math.Round(100*100*ns/float64(bc.dur.Nanoseconds())) / 100}
}

// scalarSileroName names the scalar Silero benchmark.
const scalarSileroName = "silero v5 window, 16 kHz (scalar Go kernels)"

// runScalarSilero re-runs this program as a child with AVX2 disabled
// (GODEBUG=cpu.avx2=off), so Silero falls back to its portable kernels.
func runScalarSilero(ctx context.Context, cfg config) (frameCost, error) {
	exe, err := os.Executable()
	if err != nil {
		return frameCost{}, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.avx2=off", envChild+"="+childScalarSilero, envSpeech+"="+cfg.speechDir)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return frameCost{}, fmt.Errorf("bench: scalar silero child: %w", err)
	}
	var fc frameCost
	if err := json.Unmarshal(b, &fc); err != nil {
		return frameCost{}, fmt.Errorf("bench: scalar silero child: %w", err)
	}
	return fc, nil
}

// scalarSileroChild is the child's side of runScalarSilero: it prints the
// frame cost as JSON on stdout.
func scalarSileroChild(cfg config, stdout io.Writer) error {
	w, err := silero.Load()
	if err != nil {
		return err
	}
	speech, err := loadClip(cfg.speechDir, "agent_reply_slt.wav", 16000)
	if err != nil {
		return err
	}
	bc := costBench{name: scalarSileroName, frame: "32 ms", dur: 32 * time.Millisecond, fn: sileroBench(w, speech)}
	r := testing.Benchmark(bc.fn)
	if r.N == 0 {
		return fmt.Errorf("bench: %s failed", bc.name)
	}
	return json.NewEncoder(stdout).Encode(newFrameCost(bc, r))
}
