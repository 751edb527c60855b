package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// Expectations a scenario can state.
const (
	expectBargeIn   = "bargein"
	expectNoBargeIn = "no_bargein"
	expectOneTurn   = "one_turn"
)

// scenarioFile is the JSON document the program reads.
type scenarioFile struct {
	AgentDefault string     `json:"agent_default"`
	Scenarios    []scenario `json:"scenarios"`
}

type scenario struct {
	Name string `json:"name"`
	// Agent is the reply clip; absent means AgentDefault, JSON null means
	// the agent stays silent.
	Agent  json.RawMessage `json:"agent"`
	User   []userClip      `json:"user"`
	Expect string          `json:"expect"`
}

type userClip struct {
	Clip   string  `json:"clip"`
	StartS float64 `json:"start_s"`
}

// track is one scenario ready to play: 16 kHz mono audio.
type track struct {
	name   string
	expect string
	agent  []int16 // nil when the agent is silent
	mic    []int16
	// onsets are the speech onsets of the user clips, in samples of mic:
	// the first 10 ms block above -40 dBFS of each clip.
	onsets []int
}

const rate = 16000

// loadScenarios reads a scenario file and prepares every track.
func loadScenarios(path string) ([]track, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f scenarioFile
	dec := json.NewDecoder(bytes.NewReader(stripComments(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	clips := map[string][]int16{}
	load := func(rel string) ([]int16, error) {
		if s, ok := clips[rel]; ok {
			return s, nil
		}
		path := rel
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, rel)
		}
		s, err := loadClip(path)
		if err != nil {
			return nil, err
		}
		clips[rel] = s
		return s, nil
	}
	var tracks []track
	for i, sc := range f.Scenarios {
		if sc.Name == "" {
			sc.Name = fmt.Sprintf("scenario-%d", i+1)
		}
		switch sc.Expect {
		case expectBargeIn, expectNoBargeIn, expectOneTurn:
		default:
			return nil, fmt.Errorf("%s: expect %q: want bargein, no_bargein or one_turn", sc.Name, sc.Expect)
		}
		t := track{name: sc.Name, expect: sc.Expect}
		agentPath := f.AgentDefault
		if len(sc.Agent) > 0 {
			if string(bytes.TrimSpace(sc.Agent)) == "null" {
				agentPath = ""
			} else if err := json.Unmarshal(sc.Agent, &agentPath); err != nil {
				return nil, fmt.Errorf("%s: agent: %w", sc.Name, err)
			}
		}
		if agentPath != "" {
			if t.agent, err = load(agentPath); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Name, err)
			}
		}
		for _, u := range sc.User {
			s, err := load(u.Clip)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Name, err)
			}
			if u.StartS < 0 || math.IsNaN(u.StartS) {
				return nil, fmt.Errorf("%s: %s: negative start", sc.Name, u.Clip)
			}
			at := int(u.StartS * rate)
			t.mic = mixAt(t.mic, s, at)
			if on, ok := speechOnset(s); ok {
				t.onsets = append(t.onsets, at+on)
			}
		}
		// Leave time after the last event for the agent to react and for
		// end of turn to fire.
		end := max(len(t.agent), len(t.mic)) + 3*rate
		if len(t.mic) < end {
			t.mic = append(t.mic, make([]int16, end-len(t.mic))...)
		}
		tracks = append(tracks, t)
	}
	if len(tracks) == 0 {
		return nil, errors.New(path + ": no scenarios")
	}
	return tracks, nil
}

// loadClip reads a WAV file at any rate and returns 16 kHz mono samples.
func loadClip(path string) ([]int16, error) {
	fr, err := wav.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out, err := resample.Frame(fr, pcm.Mono16k)
	return out.Samples, err
}

// mixAt adds src into dst starting at sample at, growing dst as needed, with
// saturation.
func mixAt(dst, src []int16, at int) []int16 {
	if need := at + len(src); len(dst) < need {
		dst = append(dst, make([]int16, need-len(dst))...)
	}
	for i, s := range src {
		v := int32(dst[at+i]) + int32(s)
		dst[at+i] = int16(max(-32768, min(32767, v)))
	}
	return dst
}

// speechOnset returns the start of the first 10 ms block above -40 dBFS.
func speechOnset(s []int16) (int, bool) {
	const block = rate / 100
	for i := 0; i+block <= len(s); i += block {
		if pcm.DBFS(s[i:i+block]) > -40 {
			return i, true
		}
	}
	return 0, false
}

// stripComments removes // line comments outside JSON strings, so files
// annotated like the format's documentation still load.
func stripComments(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
		} else if c == '/' && i+1 < len(b) && b[i+1] == '/' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			if i < len(b) {
				out = append(out, '\n')
			}
			continue
		}
		out = append(out, c)
	}
	return out
}

// seconds formats samples as seconds.
func seconds(n int) time.Duration { return time.Duration(n) * time.Second / rate }
