package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/vad/silero"
)

// TestMain runs the child jobs when the test binary is started as a child
// (the capacity server and the scalar VAD benchmark re-execute the running
// binary), and checks for leaked goroutines otherwise.
func TestMain(m *testing.M) {
	if job := os.Getenv(envChild); job != "" {
		if err := runChild(context.Background(), job, os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

const speechDir = "../../testdata/speech"

func needSilero(t *testing.T) {
	t.Helper()
	if _, err := silero.Load(); err != nil {
		t.Skipf("Silero model missing (make deps): %v", err)
	}
}

// TestSmoke runs every section with tiny counts and checks that the reports
// carry the headline keys with plausible values.
func TestSmoke(t *testing.T) {
	needSilero(t)
	if testing.Short() {
		t.Skip("runs WebRTC and a child process for ~20 s")
	}
	if err := flag.Set("test.benchtime", "20x"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	md, js := filepath.Join(dir, "B.md"), filepath.Join(dir, "b.json")
	args := []string{"-speech", speechDir, "-md", md, "-json", js, "-trials", "1", "-fresh-trials", "1", "-turns", "1", "-engines", "openai,realtime_stt", "-reply", "500ms",
		"-mem-sessions", "2", "-cap-start", "2", "-cap-budget", "1ms", "-cap-warmup", "500ms", "-cap-window", "1s", "-aec-scenes", "1"}
	if err := run(context.Background(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"bargein_onset_to_silence_ms_p50", "bargein_onset_to_silence_ms_p95", "bargein_fresh_onset_to_silence_ms_p95",
		"bargein_confirm_to_silence_ms_p95", "v2v_ms_p50", "preemptive_wasted_ratio", "v2v_ms_p95", "v2v_realtime_stt_ms_p50", "v2v_realtime_stt_ms_p95",
		"realtime_bargein_onset_to_silence_ms_p95", "realtime_v2v_ms_p50", "sessions_per_core", "sessions_per_core_aec",
		"mem_per_idle_session_kb", "mem_per_active_session_kb", "phone_sessions_per_core", "phone_mem_per_idle_session_kb", "cpu_model", "cpu_cores", "go_version", "frame_costs",
		"aec_erle_db", "aec_erle_filter_db", "aec_us_per_10ms"} {
		if _, ok := got[k]; !ok {
			t.Errorf("bench.json lacks %q", k)
		}
	}
	// One barge-in trial: the agent fell silent after the onset, and
	// within a second.
	if v, _ := got["bargein_onset_to_silence_ms_max"].(float64); v <= 0 || v > 1000 {
		t.Errorf("barge-in onset to silence max = %v ms", v)
	}
	if v, _ := got["realtime_bargein_onset_to_silence_ms_max"].(float64); v <= 0 || v > 1000 {
		t.Errorf("Realtime barge-in onset to silence max = %v ms", v)
	}
	for _, k := range []string{"v2v_ms_p50", "v2v_realtime_stt_ms_p50", "realtime_v2v_ms_p50"} {
		if v, _ := got[k].(float64); v <= 0 || v > 5000 {
			t.Errorf("%s = %v ms", k, v)
		}
	}
	if v, _ := got["mem_per_idle_session_kb"].(float64); v <= 0 {
		t.Errorf("idle session memory = %v KB", v)
	}
	if v, _ := got["phone_mem_per_idle_session_kb"].(float64); v <= 0 {
		t.Errorf("idle call memory = %v KB", v)
	}
	fc, _ := got["frame_costs"].([]any)
	if len(fc) < 7 {
		t.Errorf("%d frame costs, want at least 7", len(fc))
	}
	text, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"## 1. Barge-in", "## 2. Voice-to-voice", "## 3. Capacity", "## 3a. Capacity of one core with the server's echo canceller", "## 3b. Capacity of one core (SIP", "## 4. Per-frame", "## 5. Echo cancellation", "Realtime endpoint", "make bench"} {
		if !strings.Contains(string(text), h) {
			t.Errorf("BENCHMARKS.md lacks %q", h)
		}
	}
}

func TestSummarize(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[99-i] = float64(i + 1) // 100 .. 1, unsorted
	}
	got := summarize(xs)
	if want := (summary{N: 100, P50: 50, P95: 95, Max: 100}); got != want {
		t.Errorf("summarize(1..100) = %+v, want %+v", got, want)
	}
	if got := summarize([]float64{7}); got != (summary{N: 1, P50: 7, P95: 7, Max: 7}) {
		t.Errorf("summarize([7]) = %+v", got)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

func TestSpeechBoundsAndSampleTime(t *testing.T) {
	clip := make([]int16, rtcRate) // 1 s: silence, 0.5 s of tone from 0.25 s
	for i := rtcRate / 4; i < 3*rtcRate/4; i++ {
		clip[i] = int16(8000 * (1 - 2*float64(i%96)/96))
	}
	on, end, ok := speechBounds(clip, rtcRate)
	if !ok || on != rtcRate/4 || end != 3*rtcRate/4 {
		t.Fatalf("speechBounds = %d, %d, %v; want %d, %d", on, end, ok, rtcRate/4, 3*rtcRate/4)
	}
	if _, _, ok := speechBounds(make([]int16, 4800), rtcRate); ok {
		t.Error("speechBounds found speech in silence")
	}
	// Frame j was sent at t0 + (j+1)*20 ms, when its capture ended: the
	// sample at 250 ms was captured at t0 + 250 ms.
	t0 := time.Unix(1000, 0)
	sent := make([]time.Time, 50)
	for j := range sent {
		sent[j] = t0.Add(time.Duration(j+1) * frameDur)
	}
	if got := sampleTime(sent, on); !got.Equal(t0.Add(250 * time.Millisecond)) {
		t.Errorf("sampleTime = %v after t0, want 250ms", got.Sub(t0))
	}
}

func TestLateHist(t *testing.T) {
	h := &lateHist{}
	c := &playoutClock{h: h}
	// A punctual clock with 2 ms of jitter, then one frame 15 ms late, then
	// a skipped tick: later frames keep a 20 ms offset, which the clock's
	// one-second window absorbs.
	off := 100 * time.Millisecond
	for i := range 200 {
		jitter := time.Duration(i%3) * time.Millisecond
		switch {
		case i == 100:
			jitter = 15 * time.Millisecond
		case i >= 150:
			jitter += 20 * time.Millisecond
		}
		c.record(off + jitter)
	}
	maxMs, p99, frames, late := h.snapshot(true)
	if frames != 199 {
		t.Errorf("frames = %d, want 199", frames)
	}
	if maxMs < 20 || maxMs > 23 {
		t.Errorf("max lateness = %v ms, want about 22", maxMs)
	}
	// Frame 100 and the first second after the skipped tick count as late.
	if late < 2 || late > 52 {
		t.Errorf("late frames = %d", late)
	}
	if p99 <= 0 {
		t.Errorf("p99 = %v", p99)
	}
	if _, _, frames, _ := h.snapshot(false); frames != 0 {
		t.Errorf("frames after reset = %d", frames)
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-sections", "frame,capacity"}, true},
		{[]string{"-sections", "phone"}, true},
		{[]string{"-sections", "nope"}, false},
		{[]string{"-trials", "0"}, false},
		{[]string{"-fresh-trials", "0"}, true},
		{[]string{"-fresh-trials", "-1"}, false},
		{[]string{"-engines", "offline,cloud"}, false},
		{[]string{"-engines", "realtime_stt"}, true},
		{[]string{"extra"}, false},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q) error = %v, want ok=%v", tc.args, err, tc.ok)
		}
	}
}
