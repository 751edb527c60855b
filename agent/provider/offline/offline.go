package offline

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/dialogue"
	"github.com/harkvoice/hark/agent/provider/flite"
	"github.com/harkvoice/hark/agent/provider/sphinx"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/energy"
	"github.com/harkvoice/hark/vad/silero"
)

// ErrOption reports an invalid option value.
var ErrOption = errors.New("offline: invalid option")

// Engines are the offline engines, ready to give to a Session.
type Engines struct {
	// STT recognises English speech, per utterance or streaming.
	STT *sphinx.Recognizer
	// LLM is the dialogue engine.
	LLM *dialogue.Engine
	// TTS speaks English with Flite and other languages with eSpeak NG.
	TTS *Speech
	// VAD makes the voice-activity model: Silero when its model file is
	// installed, else the energy detector.
	VAD func() (vad.Model, error)
	// Tools run the calls the dialogue domains make.
	Tools []agent.Tool
	// Demo is the state the tools read and change.
	Demo *Demo
}

type config struct {
	domains    []*dialogue.Domain
	orders     map[string]Order
	clock      func() time.Time
	bias       float64
	voice      string
	sphinxOpts []sphinx.Option
}

// Option configures New.
type Option func(*config) error

// WithDomains sets the dialogue domains (default: dialogue.Builtin).
func WithDomains(domains ...*dialogue.Domain) Option {
	return func(c *config) error {
		if len(domains) == 0 || slices.Contains(domains, nil) {
			return fmt.Errorf("%w: no domains", ErrOption)
		}
		c.domains = domains
		return nil
	}
}

// WithOrders replaces the demo order table (default: DemoOrders).
func WithOrders(orders map[string]Order) Option {
	return func(c *config) error {
		c.orders = orders
		return nil
	}
}

// WithClock sets the clock the time and timer tools read (default
// time.Now); its location is the one spoken.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrOption)
		}
		c.clock = now
		return nil
	}
}

// WithBias sets the weight, in [0, 1), of the domains' phrases in speech
// recognition (default 0.3); 0 turns the bias off.
func WithBias(weight float64) Option {
	return func(c *config) error {
		if !(weight >= 0 && weight < 1) {
			return fmt.Errorf("%w: bias %v not in [0, 1)", ErrOption, weight)
		}
		c.bias = weight
		return nil
	}
}

// WithVoice sets the Flite voice for English (default "slt").
func WithVoice(name string) Option {
	return func(c *config) error {
		if !slices.Contains(flite.Voices, name) {
			return fmt.Errorf("%w: %w: %q", ErrOption, flite.ErrVoice, name)
		}
		c.voice = name
		return nil
	}
}

// WithRecognizer passes options to the PocketSphinx recogniser (model
// directory, decoder count).
func WithRecognizer(opts ...sphinx.Option) Option {
	return func(c *config) error {
		c.sphinxOpts = append(c.sphinxOpts, opts...)
		return nil
	}
}

// New loads the offline engines. Close frees the recogniser.
func New(opts ...Option) (*Engines, error) {
	c := &config{bias: 0.3, voice: flite.Voices[0], clock: time.Now}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.orders == nil {
		c.orders = DemoOrders()
	}
	var dopts []dialogue.Option
	if c.domains != nil {
		dopts = append(dopts, dialogue.WithDomains(c.domains...))
	}
	llm, err := dialogue.New(dopts...)
	if err != nil {
		return nil, err
	}
	tts, err := NewSpeech(flite.WithVoice(c.voice))
	if err != nil {
		return nil, err
	}
	sopts := slices.Clone(c.sphinxOpts)
	// The domains' phrases, and the words the session listens for while
	// the agent speaks: backchannels and stop words.
	vocab := append(llm.Vocabulary("en"), agent.Backchannels("en")...)
	vocab = append(vocab, agent.StopWords("en")...)
	if c.bias > 0 {
		sopts = append(sopts, sphinx.WithVocabulary(vocab, c.bias))
	}
	stt, err := sphinx.New(sopts...)
	if err != nil {
		return nil, err
	}
	demo := NewDemo(c.orders, c.clock)
	return &Engines{
		STT:   stt,
		LLM:   llm,
		TTS:   tts,
		VAD:   NewVAD,
		Tools: demo.Tools(llm),
		Demo:  demo,
	}, nil
}

// SessionOptions returns the session options that use the engines: the
// recogniser (streaming, so partial transcripts flow while the user speaks),
// LLM, TTS, VAD and tools.
func (e *Engines) SessionOptions() []agent.Option {
	return []agent.Option{
		agent.WithStreamingSTT(e.STT),
		agent.WithLLM(e.LLM),
		agent.WithTTS(e.TTS),
		agent.WithVAD(e.VAD),
		agent.WithTools(e.Tools...),
	}
}

// Close frees the recogniser's decoders.
func (e *Engines) Close() error { return e.STT.Close() }

// NewVAD returns a 16 kHz Silero model when its model file is installed
// (`make deps`), else an energy detector.
func NewVAD() (vad.Model, error) {
	w, err := silero.Load()
	if err != nil {
		return energy.New(16000)
	}
	return w.NewModel(16000)
}
