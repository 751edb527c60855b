package flite

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Errors returned by the synthesizer.
var (
	// ErrUnavailable reports a build without cgo, where Flite cannot be
	// called.
	ErrUnavailable = errors.New("flite: built without cgo")
	// ErrVoice reports a voice name Flite does not have.
	ErrVoice = errors.New("flite: unknown voice")
	// ErrLanguage reports a language the English voices cannot speak.
	ErrLanguage = errors.New("flite: unsupported language")
	// ErrSynthesis reports a failure inside Flite.
	ErrSynthesis = errors.New("flite: synthesis failed")
)

// Voices lists the voices this package can use; the first is the default.
var Voices = []string{"slt", "rms", "awb", "kal16"}

// Rate is the sample rate of every voice in Voices.
const Rate = 16000

type config struct {
	voice string
}

// Option configures a Synthesizer.
type Option func(*config) error

// WithVoice sets the voice used when a request names none (default "slt").
func WithVoice(name string) Option {
	return func(c *config) error {
		if !slices.Contains(Voices, name) {
			return fmt.Errorf("%w: %q (have %s)", ErrVoice, name, strings.Join(Voices, ", "))
		}
		c.voice = name
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
	if c.voice == "" {
		c.voice = Voices[0]
	}
	return c, nil
}

// checkLanguage accepts empty and English language tags.
func checkLanguage(lang string) error {
	l := strings.ToLower(lang)
	if l == "" || l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_") {
		return nil
	}
	return fmt.Errorf("%w: %q (Flite speaks English)", ErrLanguage, lang)
}

// Sentences splits text after sentence-ending punctuation followed by a
// space, so that each part can be synthesised and streamed on its own.
// Parts with no letters or digits are dropped.
func Sentences(text string) []string {
	var out []string
	add := func(s string) {
		s = strings.TrimSpace(s)
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			out = append(out, s)
		}
	}
	start := 0
	rs := []rune(text)
	for i, r := range rs {
		if (r == '.' || r == '!' || r == '?' || r == ';') && i+1 < len(rs) && unicode.IsSpace(rs[i+1]) {
			add(string(rs[start : i+1]))
			start = i + 1
		}
	}
	add(string(rs[start:]))
	return out
}
