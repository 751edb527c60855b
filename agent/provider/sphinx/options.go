package sphinx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultModelDir is where Debian's pocketsphinx-en-us package installs the
// US English models.
const DefaultModelDir = "/usr/share/pocketsphinx/model/en-us"

// ModelDirEnv names the environment variable that overrides DefaultModelDir.
const ModelDirEnv = "HARK_SPHINX_MODEL"

// config is what the options set.
type config struct {
	hmm, dict, lm string
	decoders      int
	vocabulary    []string
	biasWeight    float64
	wideOnly      bool
}

// Option configures a Recognizer.
type Option func(*config) error

// WithModelDir loads the models from dir, laid out like Debian's
// pocketsphinx-en-us: dir/en-us (acoustic model), dir/cmudict-en-us.dict and
// dir/en-us.lm.bin. The default is $HARK_SPHINX_MODEL or DefaultModelDir.
func WithModelDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("%w: empty model directory", ErrOption)
		}
		c.hmm = filepath.Join(dir, "en-us")
		c.dict = filepath.Join(dir, "cmudict-en-us.dict")
		c.lm = filepath.Join(dir, "en-us.lm.bin")
		return nil
	}
}

// WithDecoders sets how many utterances may be decoded at once (default 2).
// Each decoder holds its own copy of the models (about 40 MB) and is created
// on first use.
func WithDecoders(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 64 {
			return fmt.Errorf("%w: %d decoders", ErrOption, n)
		}
		c.decoders = n
		return nil
	}
}

// WithVocabulary biases recognition towards phrases, such as a dialogue
// domain's example sentences with slots filled in words ("where is my order
// one two three four"). weight in (0, 1) is the share of the phrase model in
// the interpolation with the general model (0.3 is a good start). Words
// missing from the pronunciation dictionary are ignored.
func WithVocabulary(phrases []string, weight float64) Option {
	return func(c *config) error {
		if !(weight > 0 && weight < 1) {
			return fmt.Errorf("%w: vocabulary weight %v not in (0, 1)", ErrOption, weight)
		}
		c.vocabulary = nil
		for _, p := range phrases {
			if w := Words(p); len(w) > 0 {
				c.vocabulary = append(c.vocabulary, strings.Join(w, " "))
			}
		}
		if len(c.vocabulary) == 0 {
			return fmt.Errorf("%w: empty vocabulary", ErrOption)
		}
		c.biasWeight = weight
		return nil
	}
}

// WithoutPhoneBandMap decodes telephone-band audio as it is. By default,
// audio that came through a telephone line (8 kHz, or 16 kHz with nothing
// above 4.6 kHz) has its cepstra mapped to what the wideband model expects
// (a map fitted for the installed model, used only with models of its
// shape); on real 8 kHz recordings that roughly halves the word errors.
func WithoutPhoneBandMap() Option {
	return func(c *config) error {
		c.wideOnly = true
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
	if c.hmm == "" {
		dir := os.Getenv(ModelDirEnv)
		if dir == "" {
			dir = DefaultModelDir
		}
		if err := WithModelDir(dir)(c); err != nil {
			return nil, err
		}
	}
	if c.decoders == 0 {
		c.decoders = 2
	}
	for _, p := range []string{c.hmm, c.dict, c.lm} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: %w (install pocketsphinx-en-us)", ErrModel, err)
		}
	}
	return c, nil
}

// englishHint reports whether a language hint is empty or English.
func englishHint(lang string) bool {
	l := strings.ToLower(lang)
	return l == "" || l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_")
}
