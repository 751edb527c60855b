package agent

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/harkvoice/hark/codecs/wav"
)

// realSpeechDir holds the real recordings `make deps` fetches (see
// .ci/speech-assets).
func realSpeechDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HARK_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "hark")
	}
	dir = filepath.Join(dir, "speech")
	if _, err := os.Stat(filepath.Join(dir, ".assets-v2")); err != nil {
		t.Fatalf("real speech recordings missing (run `make deps`): %v", err)
	}
	return dir
}

// prompts reads telephone prompts of one speaker (8 kHz) and their words.
func prompts(t *testing.T, names ...string) (audio [][]int16, texts []string) {
	dir := filepath.Join(realSpeechDir(t), "asterisk")
	f, err := os.Open(filepath.Join(dir, "core-sounds-en.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	words := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, text, ok := strings.Cut(sc.Text(), ": "); ok {
			words[name] = text
		}
	}
	for _, n := range names {
		fr, err := wav.ReadFile(filepath.Join(dir, n+".wav"))
		if err != nil {
			t.Fatal(err)
		}
		if fr.Format.Rate != 8000 || words[n] == "" {
			t.Fatalf("%s: %v, words %q", n, fr.Format, words[n])
		}
		audio = append(audio, fr.Samples)
		texts = append(texts, words[n])
	}
	return audio, texts
}

// agitate speeds audio up by factor (raising its pitch and rate alike)
// and amplifies it by gain dB: the same words said faster, higher and
// louder.
func agitate(s []int16, factor, gain float64) []int16 {
	g := math.Pow(10, gain/20)
	out := make([]int16, int(float64(len(s)-1)/factor))
	for i := range out {
		x := float64(i) * factor
		j := int(x)
		v := (float64(s[j])*(1-(x-float64(j))) + float64(s[j+1])*(x-float64(j))) * g
		out[i] = int16(max(-32768, min(32767, v)))
	}
	return out
}

// TestFrustrationRealSpeech scores one real speaker's calm telephone
// prompts as the turns of a call, then agitated versions of others.
func TestFrustrationRealSpeech(t *testing.T) {
	calm, calmText := prompts(t,
		"vm-sorry", "please-try-again", "pls-hold-while-try", "vm-nobodyavail", "check-number-dial-again",
		"queue-thankyou", "one-moment-please", "call-waiting", "number-not-answering", "privacy-unident",
		"vm-tocallback", "sorry-youre-having-problems", "something-terribly-wrong")
	tense, tenseText := prompts(t, "tt-weasels", "cannot-complete-as-dialed", "all-circuits-busy-now", "vm-isunavail")
	e := newEscalator(defaultEscalation())
	var peak float64
	for i, a := range calm {
		v, ok := measureVoice(a, 8000)
		if !ok {
			t.Fatalf("%q: no speech measured", calmText[i])
		}
		step := e.turn(calmText[i], "en", &v)
		t.Logf("calm %-60q pitch %5.1f Hz level %5.1f dB active %v: score %.2f %v", calmText[i], v.pitch, v.level, v.active, step.score.Score, step.score.Cues)
		peak = max(peak, step.score.Score)
		if step.act != escNone {
			t.Errorf("calm turn %d %q: act %d (score %.2f %v)", i, calmText[i], step.act, step.score.Score, step.score.Cues)
		}
	}
	t.Logf("calm peak %.2f", peak)
	for i, a := range tense {
		for _, tc := range []struct {
			name         string
			factor, gain float64
			min, max     float64 // of the voice part
		}{
			{"as recorded", 1, 0, 0, 0.25},
			{"faster, higher, louder", 1.3, 10, 0.5, 1.01},
		} {
			probe := *e // score each version against the same baseline
			probe.sc.recent = nil
			v, _ := measureVoice(agitate(a, tc.factor, tc.gain), 8000)
			s := probe.sc.score(tenseText[i], "en", &v)
			t.Logf("%-23s %-50q pitch %5.1f Hz level %5.1f dB active %v: voice %.2f score %.2f %v", tc.name, tenseText[i], v.pitch, v.level, v.active, s.Voice, s.Score, s.Cues)
			if s.Voice < tc.min || s.Voice >= tc.max {
				t.Errorf("%s %q: voice %.2f, want in [%.2f, %.2f)", tc.name, tenseText[i], s.Voice, tc.min, tc.max)
			}
			if agitated := tc.factor > 1; agitated != (s.Score >= DefaultEscalationElevated) {
				t.Errorf("%s %q: score %.2f", tc.name, tenseText[i], s.Score)
			}
		}
	}
}

// TestFrustration: after a caller's calm turns, agitated versions of the
// same phrases (faster, higher, louder) score higher than the calm ones,
// words of frustration raise the score further, and turns that stay
// frustrated lead the policy to offer a person and hand the call over when
// the caller accepts.
func TestFrustration(t *testing.T) {
	base, baseText := prompts(t,
		"vm-sorry", "please-try-again", "pls-hold-while-try", "vm-nobodyavail", "check-number-dial-again",
		"queue-thankyou", "one-moment-please", "call-waiting", "number-not-answering", "privacy-unident")
	e := newEscalator(defaultEscalation())
	for i, a := range base {
		v, _ := measureVoice(a, 8000)
		if step := e.turn(baseText[i], "en", &v); step.act != escNone {
			t.Fatalf("calm turn %d %q: act %d", i, baseText[i], step.act)
		}
	}
	same, sameText := prompts(t, "vm-sorry", "please-try-again", "one-moment-please")
	const cross = " this is useless and ridiculous, I'm fed up"
	for i, a := range same {
		score := func(audio []int16, text string) float64 {
			probe := *e // each version against the same baseline
			probe.sc.recent = nil
			v, _ := measureVoice(audio, 8000)
			return probe.sc.score(text, "en", &v).Score
		}
		calm := score(a, sameText[i])
		agitated := score(agitate(a, 1.3, 10), sameText[i])
		worded := score(agitate(a, 1.3, 10), sameText[i]+cross)
		t.Logf("%-40q calm %.2f, agitated %.2f, with words %.2f", sameText[i], calm, agitated, worded)
		if !(calm < agitated && agitated < worded) {
			t.Errorf("%q: calm %.2f, agitated %.2f, with words %.2f; want rising", sameText[i], calm, agitated, worded)
		}
	}
	// The caller stays frustrated: the policy adapts, then offers a
	// person; "yes" hands the call over.
	var acts []escalationAct
	for i := 0; i < 4 && (len(acts) == 0 || acts[len(acts)-1] != escOffer); i++ {
		a := same[i%len(same)]
		v, _ := measureVoice(agitate(a, 1.3, 10), 8000)
		acts = append(acts, e.turn(sameText[i%len(same)]+cross, "en", &v).act)
	}
	if acts[0] == escNone || acts[len(acts)-1] != escOffer {
		t.Fatalf("frustrated turns: acts %v, want adapting, then an offer", acts)
	}
	v, _ := measureVoice(base[0], 8000)
	if step := e.turn("yes please", "en", &v); step.act != escHandoff || step.reason == "" {
		t.Errorf("accepting the offer: act %d, reason %q", step.act, step.reason)
	}
}
