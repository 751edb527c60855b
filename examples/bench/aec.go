package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/aec/aectest"
)

const (
	secAEC           = "aec"
	childAEC         = "aec"
	childAECPortable = "aec-portable"
	aecRate          = 16000
	aecFrame         = aecRate / 100 // 10 ms
	aecFilter        = 256 * time.Millisecond
)

// aecRun is one canceller on one scene.
type aecRun struct {
	Scene     string  `json:"scene"`
	Canceller string  `json:"canceller"`
	LatencyMs float64 `json:"latency_ms"`
	// Filter: the adaptive filter alone; Full: with the residual echo
	// suppressor (speexdsp: its preprocessor).
	Filter aectest.Result `json:"filter"`
	Full   aectest.Result `json:"full"`
}

// aecCost is the cost of one canceller per 10 ms frame at 16 kHz.
type aecCost struct {
	Canceller string  `json:"canceller"`
	NsPer10ms float64 `json:"ns_per_10ms"`
}

// aecResult holds the echo canceller section.
type aecResult struct {
	Runs  []aecRun  `json:"runs"`
	Costs []aecCost `json:"costs"`
	// Speexdsp says why speexdsp was not measured, if it was not.
	Speexdsp string `json:"speexdsp_skipped,omitempty"`
}

// Canceller names.
const (
	cancHark     = "hark"
	cancSpeex    = "speexdsp"
	cancSpeexPre = "speexdsp+preprocess"
)

// frameCanceller is one echo canceller as the section drives it: a
// microphone frame and the reference frame played at the same position.
type frameCanceller interface {
	process(dst, mic, ref []int16) ([]int16, error)
	close()
}

// harkCanceller drives package aec: the reference is played at the
// microphone's position, and the canceller finds the delay itself.
type harkCanceller struct {
	c   *aec.Canceller
	pos int64
}

func newHark(suppress bool) (*harkCanceller, error) {
	c, err := aec.New(aecRate, aec.WithFilterLength(aecFilter), aec.WithSuppressor(suppress))
	if err != nil {
		return nil, err
	}
	return &harkCanceller{c: c}, nil
}

func (h *harkCanceller) process(dst, mic, ref []int16) ([]int16, error) {
	if err := h.c.Play(h.pos, ref); err != nil {
		return dst, err
	}
	h.pos += int64(len(ref))
	return h.c.Process(dst, mic)
}

func (h *harkCanceller) close() {}

// runAEC measures package aec and, when built with the speexdsp tag,
// speexdsp's MDF on the standard scenes of aectest, then their costs in a
// child process on one pinned CPU.
func runAEC(ctx context.Context, cfg config, progress io.Writer) (*aecResult, error) {
	far, err := aectest.LoadClips(cfg.speechDir, aecRate, aectest.FarClips...)
	if err != nil {
		return nil, err
	}
	near, err := aectest.LoadClips(cfg.speechDir, aecRate, aectest.NearClips...)
	if err != nil {
		return nil, err
	}
	res := &aecResult{}
	if !speexdspBuilt {
		res.Speexdsp = "built without -tags speexdsp"
	}
	for _, spec := range aectest.Specs[:min(cfg.aecScenes, len(aectest.Specs))] {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		sc, err := spec.Build(aecRate, far, near)
		if err != nil {
			return nil, err
		}
		names := []string{cancHark}
		if speexdspBuilt {
			names = append(names, cancSpeex)
		}
		for _, name := range names {
			run, err := aecScene(name, spec, sc)
			if err != nil {
				return nil, err
			}
			res.Runs = append(res.Runs, run)
			fmt.Fprintf(progress, "  %-36s %-9s ERLE %5.1f / %5.1f dB, converged %6v, near-end loss %.2f / %.2f dB\n",
				spec.Name, name, run.Filter.ERLE, run.Full.ERLE, run.Filter.Converged, run.Full.NearLossSingle, run.Full.NearLossDouble)
		}
	}
	cpu, _, err := childCPU()
	if err != nil {
		return nil, err
	}
	if err := runFrameChild(ctx, cfg, cpu, childAEC, &res.Costs); err != nil {
		return nil, err
	}
	var portable []aecCost
	if err := runFrameChild(ctx, cfg, cpu, childAECPortable, &portable, "GODEBUG=cpu.avx2=off"); err != nil {
		return nil, err
	}
	res.Costs = append(res.Costs, portable...)
	for _, c := range res.Costs {
		fmt.Fprintf(progress, "  %-36s %6.1f µs per 10 ms\n", c.Canceller, c.NsPer10ms/1000)
	}
	return res, nil
}

// newCanceller returns the canceller name stands for, with or without its
// suppressor (speexdsp: preprocessor).
func newCanceller(name string, full bool) (frameCanceller, error) {
	if name == cancHark {
		return newHark(full)
	}
	return newSpeexdsp(aecRate, aecFrame, int(aecFilter*aecRate/time.Second), full)
}

// aecScene runs one canceller over a scene twice: the filter alone and
// with its suppressor. speexdsp has no delay estimation: it gets the
// reference already delayed by the scene's transport delay (its filter
// then covers the room).
func aecScene(name string, spec aectest.Spec, sc *aectest.Scene) (aecRun, error) {
	run := aecRun{Scene: spec.Name, Canceller: name}
	shift := 0
	if name != cancHark {
		shift = int(spec.Delay * aecRate / time.Second)
	}
	for _, full := range []bool{false, true} {
		c, err := newCanceller(name, full)
		if err != nil {
			return run, err
		}
		out := make([]int16, 0, len(sc.Mic))
		ref := make([]int16, aecFrame)
		for i := 0; i+aecFrame <= len(sc.Mic); i += aecFrame {
			for j := range ref {
				ref[j] = 0
				if k := i + j - shift; k >= 0 {
					ref[j] = sc.Far[k]
				}
			}
			if out, err = c.process(out, sc.Mic[i:i+aecFrame], ref); err != nil {
				c.close()
				return run, err
			}
		}
		c.close()
		lat := 0
		if h, ok := c.(*harkCanceller); ok {
			lat = int(h.c.Latency() * aecRate / time.Second)
		} else {
			lat = aectest.FindLatency(sc, out, 2*aecFrame) // the preprocessor adds a frame
		}
		r := aectest.Measure(sc, out, lat)
		if full {
			run.Full = r
			run.LatencyMs = float64(lat) * 1000 / aecRate
		} else {
			run.Filter = r
		}
	}
	return run, nil
}

// aecChild benchmarks the cancellers on the headline scene in steady
// state and prints their costs as JSON on stdout; portable labels Hark's
// row for a child whose CPU features are turned off.
func aecChild(cfg config, stdout io.Writer, portable bool) error {
	names := []string{cancHark}
	if speexdspBuilt && !portable {
		names = append(names, cancSpeex)
	}
	far, err := aectest.LoadClips(cfg.speechDir, aecRate, aectest.FarClips...)
	if err != nil {
		return err
	}
	near, err := aectest.LoadClips(cfg.speechDir, aecRate, aectest.NearClips...)
	if err != nil {
		return err
	}
	sc, err := aectest.Specs[0].Build(aecRate, far, near)
	if err != nil {
		return err
	}
	var out []aecCost
	for _, name := range names {
		var runErr error
		bench := func(b *testing.B) {
			c, err := newCanceller(name, true)
			if err != nil {
				runErr = err
				b.Skip()
			}
			defer c.close()
			n := len(sc.Mic)/aecFrame - 1
			var dst []int16
			frame := func(i int) {
				j := i % n
				if dst, err = c.process(dst[:0], sc.Mic[j*aecFrame:(j+1)*aecFrame], sc.Far[j*aecFrame:(j+1)*aecFrame]); err != nil {
					runErr = err
				}
			}
			for i := range n / 2 { // past convergence
				frame(i)
			}
			for i := 0; b.Loop(); i++ {
				frame(n/2 + i)
			}
		}
		best := math.Inf(1)
		for range benchRuns {
			r := testing.Benchmark(bench)
			if runErr != nil {
				return runErr
			}
			if r.N == 0 {
				return fmt.Errorf("bench: %s failed", name)
			}
			best = min(best, float64(r.T.Nanoseconds())/float64(r.N))
		}
		label := name
		switch {
		case portable:
			label += " (portable Go kernels)"
		case name == cancSpeex:
			label = cancSpeexPre
		}
		out = append(out, aecCost{Canceller: label, NsPer10ms: round1(best)})
	}
	return json.NewEncoder(stdout).Encode(out)
}

// errNoSpeexdsp reports a build without the speexdsp tag.
var errNoSpeexdsp = errors.New("bench: built without -tags speexdsp")

// headline returns the run of canceller name on the headline scene.
func (r *aecResult) headline(name string) *aecRun {
	for i := range r.Runs {
		if r.Runs[i].Scene == aectest.Specs[0].Name && r.Runs[i].Canceller == name {
			return &r.Runs[i]
		}
	}
	return nil
}

// cost returns the cost of canceller label in µs per 10 ms, or NaN.
func (r *aecResult) cost(label string) float64 {
	for _, c := range r.Costs {
		if c.Canceller == label {
			return round1(c.NsPer10ms / 1000)
		}
	}
	return math.NaN()
}

// flat adds the section's keys to bench.json.
func (r *aecResult) flat(out map[string]any) {
	if h := r.headline(cancHark); h != nil {
		out["aec_erle_db"] = round1(h.Full.ERLE)
		out["aec_erle_filter_db"] = round1(h.Filter.ERLE)
		out["aec_converged_ms"] = h.Filter.Converged.Milliseconds()
		out["aec_near_loss_single_db"] = round2(h.Full.NearLossSingle)
		out["aec_near_loss_double_db"] = round2(h.Full.NearLossDouble)
	}
	if s := r.headline(cancSpeex); s != nil {
		out["aec_erle_db_speexdsp"] = round1(s.Full.ERLE)
		out["aec_erle_filter_db_speexdsp"] = round1(s.Filter.ERLE)
		out["aec_near_loss_double_db_speexdsp"] = round2(s.Full.NearLossDouble)
	}
	if v := r.cost(cancHark); !math.IsNaN(v) {
		out["aec_us_per_10ms"] = v
	}
	if v := r.cost(cancHark + " (portable Go kernels)"); !math.IsNaN(v) {
		out["aec_us_per_10ms_portable"] = v
	}
	if v := r.cost(cancSpeexPre); !math.IsNaN(v) {
		out["aec_us_per_10ms_speexdsp"] = v
	}
	out["aec"] = r
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// markdown writes the section of BENCHMARKS.md.
func (r *aecResult) markdown(p func(string, ...any)) {
	p("## 5. Echo cancellation (16 kHz, synthetic rooms)\n\n")
	p("| scene | canceller | ERLE, filter | ERLE, with suppressor | converged (filter, 20 dB) | near-end loss, single / double talk | ERLE after double talk | µs per 10 ms |\n")
	p("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, run := range r.Runs {
		conv := "never"
		if run.Filter.Converged >= 0 {
			conv = fmt.Sprintf("%.2f s", run.Filter.Converged.Seconds())
		}
		name, costLabel := "Hark (vad/aec)", cancHark
		if run.Canceller == cancSpeex {
			name, costLabel = "speexdsp MDF (+ preprocessor)", cancSpeexPre
		}
		cost := "–"
		if run.Scene == aectest.Specs[0].Name {
			if v := r.cost(costLabel); !math.IsNaN(v) {
				cost = fmt.Sprintf("%.1f", v)
			}
		}
		p("| %s | %s | %.1f dB | %.1f dB | %s | %.2f / %.2f dB | %.1f dB | %s |\n", run.Scene, name,
			run.Filter.ERLE, run.Full.ERLE, conv, run.Full.NearLossSingle, run.Full.NearLossDouble, run.Full.ERLEAfterDouble, cost)
	}
	if v := r.cost(cancHark + " (portable Go kernels)"); !math.IsNaN(v) {
		p("\nHark with its portable Go kernels (other CPUs than amd64 with AVX2+FMA): %.1f µs per 10 ms.\n", v)
	}
	if r.Speexdsp != "" {
		p("\nspeexdsp not measured: %s.\n", r.Speexdsp)
	}
	p("\nHow measured: package vad/aec/aectest builds each scene (26 s) by the image method: a shoebox room of the given ")
	p("reverberation time (RT60, matched by Schroeder integration), a smart speaker whose loudspeaker stands 0.5 m from ")
	p("the microphone and a user 1.5 m away, pink noise. The far end (the agent: flite voices from testdata/speech) ")
	p("plays after the transport delay; the user speaks at −26 dBFS, the echo 0 to 20 dB below. Timeline: the agent alone ")
	p("for 10 s, the user alone for 3 s, both for 5 s (double talk), the agent alone for 4 s. ERLE is the echo's energy ")
	p("over the output's on 10 ms frames with echo and without the user, from 1 s after the echo starts to the end ")
	p("(noise in the output counts against it); converged is the time until the ERLE over the next half second of such ")
	p("frames first reaches 20 dB; near-end loss is the user's energy over that of the output's projection on the user's ")
	p("voice, frame by frame, where the user speaks alone and where both speak; ERLE after double talk covers the 2 s after it. ")
	p("Hark gets the reference at its playout position and finds the delay itself (default settings: 256 ms filter, ")
	p("delay search 0–1 s). speexdsp 1.2.1 (Debian libspeexdsp-dev, `speex_echo_cancellation`, 10 ms frames, a 4096-tap ")
	p("(256 ms) filter, through cgo in a build with the speexdsp tag) has no delay estimation: it gets the reference ")
	p("already delayed by the scene's transport delay, an advantage Hark does not have; its \"suppressor\" is ")
	p("`speex_preprocess_run` with the echo state attached and its defaults (noise suppression on). Costs: the headline ")
	p("scene in steady state, fastest of %d runs of %s, in a child process with GOMAXPROCS=1 pinned to one CPU; ", benchRuns, benchTime)
	p("the portable row runs with `GODEBUG=cpu.avx2=off`. `aec_erle_db` and `aec_erle_db_speexdsp` in bench.json are the ")
	p("headline scene (%s) with suppressor and preprocessor; `aec_erle_filter_db*` the filters alone.\n\n", aectest.Specs[0].Name)
}
