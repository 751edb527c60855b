package agenttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// Expectations a scenario can state.
const (
	ExpectBargeIn   = "bargein"    // the agent must stop
	ExpectNoBargeIn = "no_bargein" // the reply must go on
	ExpectOneTurn   = "one_turn"   // the user's speech is one turn
)

// Lines a scenario's user can be heard on.
const (
	LineRoom  = ""      // a 16 kHz microphone
	LinePhone = "phone" // an 8 kHz telephone line (μ-law)
)

// scenarioFile is the JSON document the program reads.
type scenarioFile struct {
	AgentDefault string `json:"agent_default"`
	// Line is every scenario's line unless it names its own.
	Line      string     `json:"line"`
	Scenarios []scenario `json:"scenarios"`
}

type scenario struct {
	Name string `json:"name"`
	// Agent is the reply clip; absent means AgentDefault, JSON null means
	// the agent stays silent.
	Agent  json.RawMessage `json:"agent"`
	User   []userClip      `json:"user"`
	Expect string          `json:"expect"`
	Line   *string         `json:"line"`
	Echo   string          `json:"echo"`
}

type userClip struct {
	Clip   string  `json:"clip"`
	StartS float64 `json:"start_s"`
}

// Scenario is one turn-taking scenario ready to play, as 16 kHz mono audio.
// The file format is described in examples/eval/README.md: a reply clip
// played as the agent's output from t = 0 and user clips mixed into the
// microphone at their start times.
type Scenario struct {
	Name   string
	Expect string // ExpectBargeIn, ExpectNoBargeIn or ExpectOneTurn
	// Line is what the session hears the user on: LineRoom, or LinePhone
	// (a player then delivers Mic to the session at 8 kHz, μ-law coded).
	Line  string
	Agent []int16 // the agent's reply; nil when the agent is silent
	// Mic is the microphone track: the user clips mixed at their start
	// times, followed by at least 3 s of silence after the reply and the
	// last clip.
	Mic   []int16
	Clips []ScenarioClip
	// Echo is the room's impulse response from the agent's loudspeaker to
	// the microphone at EchoRate (its leading zeros the echo's delay; a
	// tap of 1 passes the sound at its level), or nil: a player sends the
	// agent's audio back through it as the session plays it, so a reply
	// paused or cut short echoes no further.
	Echo     []float32
	EchoRate int
}

// ScenarioClip is one user clip of a scenario.
type ScenarioClip struct {
	Path  string // as written in the file
	Start int    // first sample in Mic
	// Onset is the speech onset in Mic (see SpeechOnset); HasOnset is
	// false for a clip that never rises above its noise floor.
	Onset    int
	HasOnset bool
}

const rate = 16000

// LoadScenarios reads a scenario file (line comments allowed, unknown
// fields ignored) and prepares every scenario; clips at any rate and
// channel count are converted to 16 kHz mono.
func LoadScenarios(path string) ([]Scenario, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f scenarioFile
	if err := json.Unmarshal(stripComments(raw), &f); err != nil {
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
	var tracks []Scenario
	for i, sc := range f.Scenarios {
		if sc.Name == "" {
			sc.Name = fmt.Sprintf("scenario-%d", i+1)
		}
		switch sc.Expect {
		case ExpectBargeIn, ExpectNoBargeIn, ExpectOneTurn:
		default:
			return nil, fmt.Errorf("%s: expect %q: want bargein, no_bargein or one_turn", sc.Name, sc.Expect)
		}
		t := Scenario{Name: sc.Name, Expect: sc.Expect, Line: f.Line}
		if sc.Line != nil {
			t.Line = *sc.Line
		}
		if t.Line != LineRoom && t.Line != LinePhone {
			return nil, fmt.Errorf("%s: line %q: want \"phone\" or none", sc.Name, t.Line)
		}
		agentPath := f.AgentDefault
		if len(sc.Agent) > 0 {
			if string(bytes.TrimSpace(sc.Agent)) == "null" {
				agentPath = ""
			} else if err := json.Unmarshal(sc.Agent, &agentPath); err != nil {
				return nil, fmt.Errorf("%s: agent: %w", sc.Name, err)
			}
		}
		if agentPath != "" {
			if t.Agent, err = load(agentPath); err != nil {
				return nil, fmt.Errorf("%s: %w", sc.Name, err)
			}
		}
		if sc.Echo != "" {
			path := sc.Echo
			if !filepath.IsAbs(path) {
				path = filepath.Join(dir, path)
			}
			fr, err := wav.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("%s: echo: %w", sc.Name, err)
			}
			if fr.Format.Channels != 1 {
				return nil, fmt.Errorf("%s: echo: %d channels, want 1", sc.Name, fr.Format.Channels)
			}
			t.Echo, t.EchoRate = make([]float32, len(fr.Samples)), fr.Format.Rate
			for i, v := range fr.Samples {
				t.Echo[i] = float32(v) / 32768
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
			t.Mic = mixAt(t.Mic, s, at)
			on, ok := SpeechOnset(s)
			t.Clips = append(t.Clips, ScenarioClip{Path: u.Clip, Start: at, Onset: at + on, HasOnset: ok})
		}
		// Leave time after the last event for the agent to react and for
		// end of turn to fire.
		end := max(len(t.Agent), len(t.Mic)) + 3*rate
		if len(t.Mic) < end {
			t.Mic = append(t.Mic, make([]int16, end-len(t.Mic))...)
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

// Onset rule: a block is speech when it is onsetRise dB above the clip's
// noise floor (the level that floorShare of its 10 ms blocks stay under)
// and above onsetMin dBFS. Real recordings have floors near -40 dBFS, where
// a fixed -40 dBFS threshold fires on the noise; clean clips keep -40.
const (
	onsetRise  = 15  // dB
	onsetMin   = -40 // dBFS
	floorShare = 0.1
)

// SpeechOnset returns the start of the first 10 ms block of 16 kHz samples
// that is well above the clip's own noise floor (onsetRise dB, and above
// -40 dBFS); ok is false when no block is.
func SpeechOnset(s []int16) (onset int, ok bool) {
	const block = rate / 100
	n := len(s) / block
	if n == 0 {
		return 0, false
	}
	levels := make([]float64, n)
	for i := range levels {
		levels[i] = pcm.DBFS(s[i*block : (i+1)*block])
	}
	sorted := slices.Clone(levels)
	slices.Sort(sorted)
	th := max(onsetMin, sorted[int(floorShare*float64(n-1))]+onsetRise)
	for i, l := range levels {
		if l > th {
			return i * block, true
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
