package agenttest_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
)

// clip returns 1 s of noise at floor dBFS (none for -inf) with a 300 Hz
// tone at tone dBFS from 500 ms.
func clip(floor, tone float64) []int16 {
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]int16, 16000)
	for i := range s {
		v := rng.NormFloat64() * 32768 * math.Pow(10, floor/20)
		if i >= 8000 {
			v += math.Sqrt2 * 32768 * math.Pow(10, tone/20) * math.Sin(2*math.Pi*300*float64(i)/16000)
		}
		s[i] = int16(max(-32768, min(32767, v)))
	}
	return s
}

func TestSpeechOnset(t *testing.T) {
	tests := []struct {
		name        string
		floor, tone float64
		want        int
		ok          bool
	}{
		{"clean clip: -40 dBFS", math.Inf(-1), -20, 8000, true},
		{"floor near -40 dBFS: the tone, not the noise", -41, -15, 8000, true},
		{"tone too soft over the floor", -41, -35, 0, false},
		{"silence", math.Inf(-1), math.Inf(-1), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := agenttest.SpeechOnset(clip(tt.floor, tt.tone))
			if got != tt.want || ok != tt.ok {
				t.Fatalf("SpeechOnset = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := agenttest.SpeechOnset(nil); ok {
		t.Fatal("onset in an empty clip")
	}
}

// Sets written elsewhere load unchanged: unknown fields are ignored.
func TestLoadScenariosIgnoresUnknownFields(t *testing.T) {
	dir := t.TempDir()
	if err := wav.WriteFile(filepath.Join(dir, "tone.wav"), pcm.Frame{Samples: clip(-60, -20), Format: pcm.Mono16k}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "set.json")
	doc := `{"about": "a set from elsewhere", "version": 2,
	  "scenarios": [{"name": "x", "agent": null, "notes": "ignored", "expect": "one_turn",
	                 "user": [{"clip": "tone.wav", "start_s": 1, "speaker": "a"}]}]}`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := agenttest.LoadScenarios(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(sc) != 1 || len(sc[0].Clips) != 1 || sc[0].Clips[0].Onset != 16000+8000 {
		t.Fatalf("loaded %+v", sc)
	}
}

// A file's line is every scenario's unless one names its own; other lines
// are refused.
func TestLoadScenariosLine(t *testing.T) {
	dir := t.TempDir()
	if err := wav.WriteFile(filepath.Join(dir, "tone.wav"), pcm.Frame{Samples: clip(-60, -20), Format: pcm.Mono16k}); err != nil {
		t.Fatal(err)
	}
	load := func(doc string) ([]agenttest.Scenario, error) {
		file := filepath.Join(dir, "set.json")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return agenttest.LoadScenarios(file)
	}
	sc, err := load(`{"line": "phone", "scenarios": [
	  {"name": "a", "expect": "one_turn", "user": [{"clip": "tone.wav", "start_s": 1}]},
	  {"name": "b", "line": "", "expect": "one_turn", "user": [{"clip": "tone.wav", "start_s": 1}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if sc[0].Line != agenttest.LinePhone || sc[1].Line != agenttest.LineRoom {
		t.Fatalf("lines %q, %q; want phone, room", sc[0].Line, sc[1].Line)
	}
	if _, err := load(`{"scenarios": [{"name": "c", "line": "isdn", "expect": "one_turn", "user": [{"clip": "tone.wav", "start_s": 1}]}]}`); err == nil {
		t.Fatal("an unknown line was accepted")
	}
}
