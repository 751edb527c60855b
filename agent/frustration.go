package agent

import (
	_ "embed"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/vad/prosody"
)

//go:embed escalation.json
var escalationJSON []byte

// escalationLists are one language's escalation word lists
// (escalation.json says what each is).
type escalationLists struct {
	Cues    []string `json:"cues"`
	Person  []string `json:"person"`
	Consent []string `json:"consent"`
	Decline []string `json:"decline"`
}

// escalationWords are the lists of every language as phrase sets.
type escalationWords struct {
	cues, person, consent, decline phraseSet
}

// escalationWordLists reads escalation.json once. The file is part of the
// package and checked by its tests, so it always reads.
var escalationWordLists = sync.OnceValue(func() *escalationWords {
	var d struct {
		Languages map[string]escalationLists `json:"languages"`
	}
	if err := json.Unmarshal(escalationJSON, &d); err != nil {
		panic("agent: escalation.json: " + err.Error())
	}
	list := func(f func(escalationLists) []string) phraseSet {
		m := map[string][]string{}
		for lang, l := range d.Languages {
			m[lang] = f(l)
		}
		return newPhraseSet(m, nil)
	}
	return &escalationWords{
		cues:    list(func(l escalationLists) []string { return l.Cues }),
		person:  list(func(l escalationLists) []string { return l.Person }),
		consent: list(func(l escalationLists) []string { return l.Consent }),
		decline: list(func(l escalationLists) []string { return l.Decline }),
	}
})

// found returns the phrases of ps that text contains as whole words (in
// Chinese, anywhere), each once.
func (ps phraseSet) found(text, lang string) []string {
	n := " " + normalize(text) + " "
	var out []string
	for _, list := range ps.candidates(lang) {
		for _, p := range list {
			hit := strings.Contains(n, " "+p+" ")
			if isCJK(p) {
				hit = strings.Contains(n, p)
			}
			if hit && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	// A phrase inside another one found ("already told you" in "i
	// already told you") is the same cue.
	all := slices.Clone(out)
	return slices.DeleteFunc(out, func(p string) bool {
		return slices.ContainsFunc(all, func(q string) bool {
			return q != p && strings.Contains(" "+q+" ", " "+p+" ")
		})
	})
}

// Frustration levels (Frustration.Level).
const (
	LevelCalm     = "calm"
	LevelElevated = "elevated"
	LevelHigh     = "high"
)

// voiceTurn is how one user turn was spoken.
type voiceTurn struct {
	pitch  float64       // median pitch, Hz; 0 when unvoiced
	level  float64       // mean level of the active speech, dBFS
	active time.Duration // speech with energy
}

// maxVoiceAudio bounds the audio of one turn measured for its voice.
const maxVoiceAudio = 10 * 16000

// measureVoice measures a user turn's audio at rate.
func measureVoice(audio []int16, rate int) (voiceTurn, bool) {
	if len(audio) > maxVoiceAudio*rate/16000 {
		audio = audio[:maxVoiceAudio*rate/16000]
	}
	f, err := prosody.Analyze(audio, rate)
	if err != nil || f.Active == 0 {
		return voiceTurn{}, false
	}
	return voiceTurn{pitch: f.Pitch, level: f.Level, active: f.Active}, true
}

// Scoring constants. A feature counts when it is more than one spread
// above the user's baseline, fully at three; the spread is the baseline's
// own (1.4826 median absolute deviations) but never below the floor.
const (
	baselineTurns    = 8 // calm turns kept for the baseline
	minBaselineTurns = 2 // turns before the voice counts
	minVoiceActive   = 300 * time.Millisecond
	pitchFloor       = 1.5 // semitones
	levelFloor       = 3.0 // dB
	rateFloor        = 0.5 // words per second
	pitchWeight      = 0.4
	levelWeight      = 0.35
	rateWeight       = 0.25
	voiceWeight      = 0.7  // of the voice part in the score
	cueWeight        = 0.25 // per distinct cue
	maxCues          = 0.6  // three cues reach the default High
	repeatWeight     = 0.3
	personWeight     = 0.5
	repeatLookback   = 3    // earlier user turns compared for a repeat
	repeatOverlap    = 0.75 // share of the shorter request's words
	minRepeatWords   = 3
)

// scorer scores each user turn's frustration against the user's own
// baseline. It is a plain type: the session feeds it turns in order.
type scorer struct {
	// Values of the last calm turns: pitch in semitones above 55 Hz,
	// level in dBFS, rate in words per second.
	pitch, level, rate []float64
	// recent are the content words of the last user turns, newest last.
	recent [][]string
	// elevated: turns scoring this much do not join the baseline.
	elevated float64
}

// scored is one turn's score and what the words asked.
type scored struct {
	Frustration
	person bool // a human was asked for
}

// score scores one user turn: its words in lang, and its voice when
// measured (v is nil for a typed turn).
func (s *scorer) score(text, lang string, v *voiceTurn) scored {
	var out scored
	var cues []string
	// The voice, against the baseline.
	var pv, lv, rv float64
	if v != nil && v.active >= minVoiceActive {
		rate := float64(len(words(text))) / v.active.Seconds()
		if len(s.level) >= minBaselineTurns {
			if v.pitch > 0 && len(s.pitch) >= minBaselineTurns {
				pv = part(semitones(v.pitch), s.pitch, pitchFloor)
			}
			lv = part(v.level, s.level, levelFloor)
			if rate > 0 && len(s.rate) >= minBaselineTurns {
				rv = part(rate, s.rate, rateFloor)
			}
		}
		for _, c := range []struct {
			name string
			v    float64
		}{{"pitch", pv}, {"level", lv}, {"rate", rv}} {
			if c.v > 0 {
				cues = append(cues, c.name)
			}
		}
		defer func() {
			if out.Score < s.elevated {
				if v.pitch > 0 {
					s.pitch = keep(s.pitch, semitones(v.pitch))
				}
				s.level = keep(s.level, v.level)
				if rate > 0 {
					s.rate = keep(s.rate, rate)
				}
			}
		}()
	}
	out.Voice = round2(pitchWeight*pv + levelWeight*lv + rateWeight*rv)
	// The words.
	ew := escalationWordLists()
	var w float64
	for _, c := range ew.cues.found(text, lang) {
		cues = append(cues, "cue:"+c)
		w += cueWeight
	}
	w = min(w, maxCues)
	if s.repeated(text, lang) {
		cues = append(cues, "repeat")
		w += repeatWeight
	}
	if ew.person.contains(text, lang) {
		out.person = true
		cues = append(cues, "person")
		w += personWeight
	}
	out.Words = round2(min(w, 1))
	out.Score = round2(1 - (1-voiceWeight*out.Voice)*(1-out.Words))
	out.Cues = cues
	return out
}

// part is how far x is above the baseline values, in spreads: 0 up to one
// spread, 1 from three.
func part(x float64, base []float64, floor float64) float64 {
	med := median(base)
	dev := make([]float64, len(base))
	for i, b := range base {
		dev[i] = math.Abs(b - med)
	}
	spread := max(floor, 1.4826*median(dev))
	z := (x - med) / spread
	return min(1, max(0, (z-1)/2))
}

// repeated reports whether text asks again what one of the last user turns
// asked, and remembers it.
func (s *scorer) repeated(text, lang string) bool {
	cw := requestWords(text, lang)
	rep := false
	if len(cw) >= minRepeatWords {
		for _, prev := range s.recent {
			if len(prev) < minRepeatWords {
				continue
			}
			common := 0
			for _, w := range cw {
				if slices.Contains(prev, w) {
					common++
				}
			}
			if float64(common) >= repeatOverlap*float64(min(len(cw), len(prev))) {
				rep = true
				break
			}
		}
	}
	s.recent = append(s.recent, cw)
	if len(s.recent) > repeatLookback {
		s.recent = s.recent[1:]
	}
	return rep
}

// requestWords are the distinct words of a request that carry meaning.
func requestWords(text, lang string) []string {
	lw, en := wordLists().lang(lang), wordLists().lang("en")
	var out []string
	for _, w := range words(text) {
		if lw.open[w] || lw.fillers[w] || lw.noise[w] || en.noise[w] || slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
	}
	return out
}

func semitones(hz float64) float64 { return 12 * math.Log2(hz/55) }

func keep(list []float64, v float64) []float64 {
	list = append(list, v)
	if len(list) > baselineTurns {
		list = list[1:]
	}
	return list
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
