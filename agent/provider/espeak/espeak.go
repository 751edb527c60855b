package espeak

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned by the synthesizer.
var (
	// ErrUnavailable reports a build without cgo, where eSpeak NG cannot be
	// called.
	ErrUnavailable = errors.New("espeak: built without cgo")
	// ErrInit reports that eSpeak NG could not start (missing data files).
	ErrInit = errors.New("espeak: cannot initialise eSpeak NG")
	// ErrLanguage reports a language no installed voice speaks.
	ErrLanguage = errors.New("espeak: unsupported language")
	// ErrVoice reports a voice name eSpeak NG does not know.
	ErrVoice = errors.New("espeak: unknown voice")
	// ErrSynthesis reports a failure inside eSpeak NG.
	ErrSynthesis = errors.New("espeak: synthesis failed")
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("espeak: invalid option")
)

// Voice is one installed eSpeak NG voice.
type Voice struct {
	Name       string     // "German"
	Identifier string     // file under espeak-ng-data/voices: "gmw/de"
	Languages  []Language // languages it speaks, most preferred first
}

// Language is a language a voice speaks, with eSpeak's priority (lower is
// more preferred).
type Language struct {
	Tag      string // lower case, eSpeak's spelling: "en-us", "cmn"
	Priority int
}

type config struct {
	speed    int
	language string
}

// Option configures a Synthesizer.
type Option func(*config) error

// WithSpeed sets the speaking rate in words per minute, 80 to 450 (default
// 175, eSpeak's own default). Language-practice apps may want it slower.
func WithSpeed(wpm int) Option {
	return func(c *config) error {
		if wpm < 80 || wpm > 450 {
			return fmt.Errorf("%w: speed %d wpm not in 80..450", ErrOption, wpm)
		}
		c.speed = wpm
		return nil
	}
}

// WithLanguage sets the language used when a request has none (default
// "en").
func WithLanguage(tag string) Option {
	return func(c *config) error {
		if strings.TrimSpace(tag) == "" {
			return fmt.Errorf("%w: empty language", ErrOption)
		}
		c.language = tag
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.speed == 0 {
		c.speed = 175
	}
	if c.language == "" {
		c.language = "en"
	}
	return c, nil
}

// aliases maps BCP-47 tags to eSpeak's language names where they differ.
var aliases = map[string]string{
	"zh": "cmn", "zh-cn": "cmn", "zh-hans": "cmn", "zh-sg": "cmn", "zh-tw": "cmn", "zh-hant": "cmn",
	"zh-hk": "yue", "zh-mo": "yue", "no": "nb", "en": "en-us", "fil": "tl",
}

// Pick returns the voice of voices that best speaks the BCP-47 language tag:
// an exact match first (after mapping tags eSpeak spells differently, such
// as "zh-CN" to Mandarin "cmn"), then the tag without its region or script, then any
// regional variant of the language; ties go to eSpeak's priority.
func Pick(voices []Voice, tag string) (Voice, bool) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
	if t == "" {
		return Voice{}, false
	}
	base, _, _ := strings.Cut(t, "-")
	var wants []string
	if a, ok := aliases[t]; ok {
		wants = append(wants, a)
	}
	wants = append(wants, t)
	if base != t {
		wants = append(wants, base)
		if a, ok := aliases[base]; ok {
			wants = append(wants, a)
		}
	}
	for _, w := range wants {
		if v, ok := best(voices, func(l string) bool { return l == w }); ok {
			return v, true
		}
	}
	return best(voices, func(l string) bool { return strings.HasPrefix(l, base+"-") })
}

// best returns the voice with the most preferred language matching match.
func best(voices []Voice, match func(string) bool) (Voice, bool) {
	var found Voice
	prio := -1
	for _, v := range voices {
		for _, l := range v.Languages {
			if match(l.Tag) && (prio < 0 || l.Priority < prio) {
				found, prio = v, l.Priority
			}
		}
	}
	return found, prio >= 0
}
