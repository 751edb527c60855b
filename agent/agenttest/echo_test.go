package agenttest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
)

// What the session sends comes back into its microphone through the echo
// path from the moment it is sent: here a tap of one half 30 ms late.
func TestTransportEcho(t *testing.T) {
	tr := agenttest.NewTransport(pcm.Mono8k, pcm.Mono8k)
	ir := make([]float32, 241) // 30 ms at 8 kHz
	ir[240] = 0.5
	tr.SetEcho(ir, 8000)
	ctx := context.Background()
	if _, err := tr.ReadAudio(ctx); err != nil { // a frame before anything is sent
		t.Fatal(err)
	}
	out := make([]int16, 160) // 20 ms
	out[10] = 10000
	if err := tr.WriteAudio(ctx, pcm.Frame{Samples: out, Format: pcm.Mono8k}); err != nil {
		t.Fatal(err)
	}
	var mic []int16
	for range 3 {
		fr, err := tr.ReadAudio(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mic = append(mic, fr.Samples...)
	}
	for i, v := range mic {
		want := int16(0)
		if i == 250 {
			want = 5000
		}
		if v != want {
			t.Fatalf("microphone sample %d is %d, want %d (the echo at 250)", i, v, want)
		}
	}
}

// A scenario's echo is an impulse response file: taps of 1 are 32768.
func TestLoadScenariosEcho(t *testing.T) {
	dir := t.TempDir()
	if err := wav.WriteFile(filepath.Join(dir, "tone.wav"), pcm.Frame{Samples: clip(-60, -20), Format: pcm.Mono16k}); err != nil {
		t.Fatal(err)
	}
	if err := wav.WriteFile(filepath.Join(dir, "ir.wav"), pcm.Frame{Samples: []int16{0, 0, 16384, -8192}, Format: pcm.Mono8k}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "set.json")
	doc := `{"scenarios": [{"name": "a", "echo": "ir.wav", "expect": "bargein", "user": [{"clip": "tone.wav", "start_s": 1}]}]}`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := agenttest.LoadScenarios(file)
	if err != nil {
		t.Fatal(err)
	}
	if e := sc[0].Echo; sc[0].EchoRate != 8000 || len(e) != 4 || e[2] != 0.5 || e[3] != -0.25 {
		t.Fatalf("echo %v at %d Hz, want [0 0 0.5 -0.25] at 8000", e, sc[0].EchoRate)
	}
}
