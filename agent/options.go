package agent

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/harkvoice/hark/agent/language"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/silero"
)

// Option configures a Session.
type Option func(*config) error

// config is a session's configuration. The options fill it once, in New,
// then fill completes it from the preset and the defaults; it does not
// change afterwards, so reply goroutines may read it freely.
type config struct {
	stt    pipeline.STT
	sstt   pipeline.StreamingSTT
	llm    pipeline.LLM
	tts    pipeline.TTS
	newVAD func() (vad.Model, error)

	preset Preset
	tuning
	numberHoldSet bool // WithNumberHold was given (zero is a valid hold)

	systemPrompt    string
	lang            string
	voices          map[string]string
	tools           map[string]Tool
	toolDefs        []pipeline.Tool
	onEvent         func(Event)
	log             *slog.Logger
	metrics         recorder
	fallback        string
	providerTimeout time.Duration
	maxImages       int // images waiting for the next user turn
	maxImageBytes   int // their bytes
	noPreempt       bool
	// aecOpts are the echo canceller's options; aecSet: WithEchoCanceller
	// was given, so neither the transport nor the preset decides.
	aecOpts []aec.Option
	aecSet  bool

	// From the policy's phrase lists.
	backchannels, stopWords phraseSet
	// codes are the formats WithCodeFormats gave; endpoint decides the
	// end of the user's turn (made by fill, with the tools' codes too).
	codes    []codeFormat
	endpoint endpointer
	// escalation is WithEscalation's policy; nil when off.
	escalation *Escalation
}

// tuning is the part of the configuration a preset sets.
type tuning struct {
	endOfTurn, numberHold time.Duration
	policy                InterruptionPolicy
	echo                  EchoGuard
	aec                   onOff // the echo canceller
	vad                   vad.Params
}

// onOff is a setting a preset may leave unset.
type onOff int8

const (
	unset onOff = iota
	setOn
	setOff
)

// presets are the tunings each preset brings, over PresetDefault's, which
// holds the default of every tuned setting. The echo guard's and the VAD's
// remaining defaults are their packages' own.
var presets = [...]tuning{
	PresetDefault: {
		endOfTurn:  200 * time.Millisecond,
		numberHold: 1500 * time.Millisecond,
		policy:     InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 1500 * time.Millisecond, MinWords: 2},
		vad:        vad.Params{MinSilence: 200 * time.Millisecond},
	},
	PresetPhone: {
		endOfTurn: 600 * time.Millisecond,
		vad:       vad.Params{MinSpeech: 96 * time.Millisecond},
	},
	PresetLanguagePractice: {
		endOfTurn:  1200 * time.Millisecond,
		numberHold: 3 * time.Second,
		policy:     InterruptionPolicy{MinWords: 3, LongSpeech: 2500 * time.Millisecond},
		vad:        vad.Params{MinSilence: vad.DefaultMinSilence},
	},
	PresetSmartSpeaker: {
		endOfTurn: 600 * time.Millisecond,
		echo:      EchoGuard{Threshold: 0.3},
		aec:       setOn,
		vad:       vad.Params{Activation: 0.6, MinSpeech: 96 * time.Millisecond},
	},
}

// Defaults of the settings presets do not tune.
const (
	// DefaultFallbackText is spoken when a provider fails.
	DefaultFallbackText = "Sorry, I ran into a problem. Could you say that again?"
	// DefaultProviderTimeout bounds a provider that makes no progress.
	DefaultProviderTimeout = 15 * time.Second
	// DefaultToolTimeout bounds a tool call whose Tool.Timeout is zero.
	DefaultToolTimeout = 10 * time.Second
)

// loadSilero reads the default VAD model (the one loader, in vad/silero).
var loadSilero = silero.Load

// fill completes the configuration the options left: the tuned settings
// from the preset, then from PresetDefault; the others from the defaults.
// It is the one place defaults are applied. It fails only when the default
// VAD's model cannot be read.
func (c *config) fill() error {
	hold := c.numberHold
	c.tuning.fill(presets[c.preset])
	c.tuning.fill(presets[PresetDefault])
	if c.numberHoldSet {
		c.numberHold = hold
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.fallback == "" {
		c.fallback = DefaultFallbackText
	}
	if c.providerTimeout == 0 {
		c.providerTimeout = DefaultProviderTimeout
	}
	if c.maxImages == 0 {
		c.maxImages, c.maxImageBytes = DefaultMaxImages, DefaultMaxImageBytes
	}
	for name, t := range c.tools {
		if t.Timeout == 0 {
			t.Timeout = DefaultToolTimeout
			c.tools[name] = t
		}
	}
	if c.escalation != nil {
		c.toolDefs = append(c.toolDefs, reportFrustrationDef)
	}
	c.backchannels = newPhraseSet(builtin(backchannelList), c.policy.Backchannels)
	c.stopWords = newPhraseSet(builtin(stopWordList), c.policy.StopWords)
	c.endpoint = endpointer{
		complete: c.endOfTurn,
		open:     c.endOfTurn + c.numberHold,
		codes:    append(slices.Clone(c.codes), toolCodes(c.toolDefs)...),
	}
	if c.newVAD == nil {
		w, err := loadSilero()
		if err != nil {
			return fmt.Errorf("agent: the default VAD (pass WithVAD for another): %w", err)
		}
		c.newVAD = func() (vad.Model, error) { return w.NewModel(16000) }
	}
	return nil
}

// fill sets the zero settings of t from d.
func (t *tuning) fill(d tuning) {
	orDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	orDur(&t.endOfTurn, d.endOfTurn)
	orDur(&t.numberHold, d.numberHold)
	orDur(&t.policy.Window, d.policy.Window)
	orDur(&t.policy.LongSpeech, d.policy.LongSpeech)
	orDur(&t.vad.MinSpeech, d.vad.MinSpeech)
	orDur(&t.vad.MinSilence, d.vad.MinSilence)
	if t.policy.MinWords == 0 {
		t.policy.MinWords = d.policy.MinWords
	}
	if t.echo.Threshold == 0 {
		t.echo.Threshold = d.echo.Threshold
	}
	if t.vad.Activation == 0 {
		t.vad.Activation = d.vad.Activation
	}
	if t.aec == unset {
		t.aec = d.aec
	}
}

// Preset names a bundle of turn-taking settings for one kind of product
// (see presets for the values). Options that set a value a preset also
// sets win over the preset.
type Preset int

// Presets.
const (
	// PresetDefault: a fast end of turn (200 ms of silence after complete
	// words, 1.7 s after an unfinished phrase or a code that may go on, at
	// once after a code complete for what is expected),
	// pause-then-decide barge-in.
	PresetDefault Preset = iota
	// PresetPhone: phone lines (8 kHz, line noise): a little more speech
	// needed to barge in, 600 ms end of turn.
	PresetPhone
	// PresetLanguagePractice: patient endpointing for learners (1.2 s end
	// of turn, long holds after numbers and spelled letters), and only
	// clear, several-word speech cancels a reply.
	PresetLanguagePractice
	// PresetSmartSpeaker: a device whose microphone hears its own speaker:
	// the echo canceller on, a strict echo guard and a higher bar to barge
	// in.
	PresetSmartSpeaker
)

// String returns the preset's name as configuration files spell it.
func (p Preset) String() string {
	switch p {
	case PresetDefault:
		return "default"
	case PresetPhone:
		return "phone"
	case PresetLanguagePractice:
		return "language-practice"
	case PresetSmartSpeaker:
		return "smart-speaker"
	}
	return fmt.Sprintf("preset(%d)", int(p))
}

// InterruptionMode says what confirmed user speech does to a reply.
type InterruptionMode int

// Interruption modes.
const (
	// PauseThenDecide silences the reply at once and decides from the
	// words whether to cancel it or resume it where it paused.
	PauseThenDecide InterruptionMode = iota
	// CancelImmediately cancels the reply as soon as speech is confirmed.
	CancelImmediately
)

// InterruptionPolicy tunes how talking over the agent is handled.
type InterruptionPolicy struct {
	Mode InterruptionMode
	// Window: a paused reply resumes when the interrupting speech has
	// ended and yielded no words within this time of the pause (default
	// 1.5 s).
	Window time.Duration
	// LongSpeech: interrupting speech that lasts this long cancels the
	// reply even before its words are known (default 1.5 s).
	LongSpeech time.Duration
	// MinWords: fewer words than this resume the reply (default 2); only
	// words that carry meaning count, not backchannels, articles,
	// prepositions or fillers. Stop words always cancel.
	MinWords int
	// Backchannels adds, per language ("en", "es", ...), phrases that do
	// not interrupt ("uh-huh", "sí"); built-in lists cover common languages.
	Backchannels map[string][]string
	// StopWords adds, per language, words that always interrupt ("stop",
	// "wait"); built-in lists cover common languages.
	StopWords map[string][]string
}

// EchoGuard tunes the check that keeps the agent from barging in on its own
// voice (a speakerphone or smart speaker feeding the reply back into the
// microphone). While the agent speaks, each microphone window is compared
// with the audio recently sent (normalised cross-correlation over a range
// of delays); windows that match it are not counted as user speech.
type EchoGuard struct {
	Disabled bool
	// Threshold is the correlation above which a window counts as echo
	// (default 0.35; lower is stricter).
	Threshold float32
	// MaxDelay is the longest echo path searched (default 600 ms).
	MaxDelay time.Duration
}

// WithSTT sets the recogniser used per utterance.
func WithSTT(stt pipeline.STT) Option {
	return func(c *config) error { c.stt = stt; return nil }
}

// WithStreamingSTT sets a streaming recogniser; its partial results feed
// user_partial events and early barge-in decisions.
func WithStreamingSTT(stt pipeline.StreamingSTT) Option {
	return func(c *config) error { c.sstt = stt; return nil }
}

// WithLLM sets the language model.
func WithLLM(llm pipeline.LLM) Option {
	return func(c *config) error { c.llm = llm; return nil }
}

// WithTTS sets the speech synthesiser.
func WithTTS(tts pipeline.TTS) Option {
	return func(c *config) error { c.tts = tts; return nil }
}

// WithVAD sets the factory of the voice-activity model; the session calls
// it once per Run (default: Silero v5 at 16 kHz, its model read by New with
// silero.Load).
func WithVAD(newModel func() (vad.Model, error)) Option {
	return func(c *config) error {
		if newModel == nil {
			return fmt.Errorf("%w: nil VAD factory", ErrOption)
		}
		c.newVAD = newModel
		return nil
	}
}

// WithVADParams sets the detector parameters (zero fields keep defaults).
func WithVADParams(p vad.Params) Option {
	return func(c *config) error { c.vad = p; return nil }
}

// WithPreset selects a preset. Options that set a value the preset also
// sets win, in whatever order they are given.
func WithPreset(p Preset) Option {
	return func(c *config) error {
		if p < PresetDefault || p > PresetSmartSpeaker {
			return fmt.Errorf("%w: unknown preset %d", ErrOption, int(p))
		}
		c.preset = p
		return nil
	}
}

// WithEndOfTurn sets the silence that ends a user turn after words that may
// end it (default 200 ms; the VAD's end of speech comes no sooner than its
// MinSilence, 200 ms by default). After an unfinished phrase or a code that
// may go on, the turn waits WithNumberHold longer; after a code complete
// for what is expected (WithCodeFormats, tools' schemas), it ends at once.
func WithEndOfTurn(d time.Duration) Option {
	return func(c *config) error {
		if d < 100*time.Millisecond || d > time.Minute {
			return fmt.Errorf("%w: end of turn %v outside [100ms, 1m]", ErrOption, d)
		}
		c.endOfTurn = d
		return nil
	}
}

// WithNumberHold sets the extra silence allowed when the user's words so
// far end in an unfinished phrase (an article, preposition, conjunction or
// filler: "my order number is", "um") or in digits, spelled letters or an
// email address that may go on, default 1.5 s, so turn detection does not
// cut off someone reading out a number or searching for a word. The word
// lists, per language, are in words.json.
func WithNumberHold(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > time.Minute {
			return fmt.Errorf("%w: number hold %v", ErrOption, d)
		}
		c.numberHold, c.numberHoldSet = d, true
		return nil
	}
}

// CodeFormat describes a code the user may read out: an order number, a
// booking reference, a postcode. When the words of a turn end in a code
// that matches a format whole, and no format could make it longer, the
// turn ends at once instead of waiting for more digits.
type CodeFormat struct {
	// Pattern is a regular expression over the code as spoken, its digits
	// and letters run together in capitals: "[0-9]{4}", "[A-Z]{2}[0-9]{6}".
	// Only literals, character classes and repeats make a code.
	Pattern string
	// Keywords, when set, are words that name the code ("order"): when
	// the turn's words name some formats, only those count.
	Keywords []string
}

// WithCodeFormats sets the codes the conversation expects. The tools'
// parameter schemas add theirs: string parameters with a pattern or a
// maximum length, integers with bounds, named by the parameter ("order_id"
// names "order").
func WithCodeFormats(formats ...CodeFormat) Option {
	return func(c *config) error {
		for _, f := range formats {
			items, err := parseCodeFormat(f.Pattern)
			if err != nil {
				return fmt.Errorf("%w: code format: %w", ErrOption, err)
			}
			var kw []string
			for _, k := range f.Keywords {
				kw = append(kw, normalize(k))
			}
			c.codes = append(c.codes, codeFormat{name: f.Pattern, keywords: kw, items: items})
		}
		return nil
	}
}

// WithInterruptionPolicy sets the barge-in policy; zero fields keep their
// defaults.
func WithInterruptionPolicy(p InterruptionPolicy) Option {
	return func(c *config) error {
		if p.Window < 0 || p.LongSpeech < 0 || p.MinWords < 0 || p.Mode < PauseThenDecide || p.Mode > CancelImmediately {
			return fmt.Errorf("%w: interruption policy %+v", ErrOption, p)
		}
		c.policy = p
		return nil
	}
}

// WithEchoGuard tunes (or disables) the echo guard.
func WithEchoGuard(g EchoGuard) Option {
	return func(c *config) error {
		if g.Threshold < 0 || g.Threshold > 1 || g.MaxDelay < 0 || g.MaxDelay > 2*time.Second {
			return fmt.Errorf("%w: echo guard %+v", ErrOption, g)
		}
		c.echo = g
		return nil
	}
}

// WithEchoCanceller turns the acoustic echo canceller (package vad/aec) on
// or off, with the canceller's options. On, it removes the agent's own
// voice, as the user's loudspeaker, room and transport return it, from the
// microphone signal before the VAD and the recogniser hear it; its
// reference is exactly what the playout sent. It is on by default with
// PresetSmartSpeaker and for transports whose client asks for it (the
// device protocol's hello); this option overrides both. It costs about
// 23 µs of one core per 10 ms while the agent speaks and until its echo
// has died away (the echo delay found, plus the filter's length, plus
// 300 ms: about 0.6 s in a room with a short path; 1.6 s before the delay
// is found), nothing otherwise, and delays the microphone by 15 ms. Its ERLE comes
// with each reply's TurnMetrics. While the agent's echo can be heard,
// speech below the echo's plausible level (the loudest playout of the last
// 500 ms less the echo return loss measured, at least 10 dB) counts as
// faint, like another voice in the room: the canceller needs a second or
// more to learn a room, the VAD far less to hear its echo.
func WithEchoCanceller(enabled bool, opts ...aec.Option) Option {
	return func(c *config) error {
		if enabled {
			if _, err := newCanceller(16000, opts); err != nil {
				return err
			}
		}
		c.aec, c.aecSet = setOff, true
		if enabled {
			c.aec = setOn
		}
		c.aecOpts = opts
		return nil
	}
}

// WithSystemPrompt sets the system message that starts the history.
func WithSystemPrompt(prompt string) Option {
	return func(c *config) error { c.systemPrompt = prompt; return nil }
}

// WithLanguage sets the conversation's starting language, a BCP 47 tag
// that package language accepts ("en", "pt-BR"); anything else is an
// error, since the language reaches the LLM's prompt. The session then
// follows the language the STT reports (tags language accepts only).
func WithLanguage(lang string) Option {
	return func(c *config) error {
		if lang == "" {
			c.lang = ""
			return nil
		}
		tag, err := language.Parse(lang)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrOption, err)
		}
		c.lang = tag
		return nil
	}
}

// WithVoices maps languages ("en", "es", "zh-CN") to TTS voices; a reply in
// a language picks its voice, falling back to the base language ("zh").
func WithVoices(voices map[string]string) Option {
	return func(c *config) error {
		c.voices = make(map[string]string, len(voices))
		for k, v := range voices {
			c.voices[strings.ToLower(k)] = v
		}
		return nil
	}
}

// WithTools registers tools the model may call. A tool's Parameters must
// be empty (no arguments) or a JSON schema of type object (NewTool makes
// one from a Go struct); any other is refused here, with ErrToolSchema,
// rather than by the model's server at the first call.
func WithTools(tools ...Tool) Option {
	return func(c *config) error {
		for _, t := range tools {
			if t.Name == "" || t.Func == nil || t.Timeout < 0 {
				return fmt.Errorf("%w: tool %q needs a name and a function", ErrOption, t.Name)
			}
			if err := checkSchema(t.Parameters); err != nil {
				return fmt.Errorf("%w: tool %q: %w", ErrToolSchema, t.Name, err)
			}
			if _, dup := c.tools[t.Name]; dup {
				return fmt.Errorf("%w: tool %q registered twice", ErrOption, t.Name)
			}
			c.tools[t.Name] = t
			c.toolDefs = append(c.toolDefs, t.Tool)
		}
		return nil
	}
}

// WithEventHandler sets a function called with every event, from the
// session's goroutine; it must not block.
func WithEventHandler(f func(Event)) Option {
	return func(c *config) error { c.onEvent = f; return nil }
}

// WithLogger sets the logger. The default is slog.Default(), as in the
// transports; pass slog.New(slog.DiscardHandler) for silence. Provider
// failures are logged at warn level, the session's decisions at debug.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		c.log = l
		return nil
	}
}

// WithMetrics reports the session's measurements (turn latencies, barge-in
// outcomes, tool calls, hand-offs, provider failures) to r; see package
// agent/promrec for Prometheus.
func WithMetrics(r Recorder) Option {
	return func(c *config) error { c.metrics = recorder{r}; return nil }
}

// WithPreemptiveReply turns preemptive replies on (the default) or off.
// With them on, once the user stops speaking the reply to the words so far
// is prepared while the end of the turn is awaited, held silent; it plays
// when the turn ends with the same words, and is dropped unheard when the
// user goes on or the final words differ. Tools run only once the turn has
// ended. Turning it off saves the LLM (and first TTS) calls of dropped
// replies at the cost of a later first answer.
func WithPreemptiveReply(on bool) Option {
	return func(c *config) error { c.noPreempt = !on; return nil }
}

// WithFallbackText sets the line spoken when a provider fails (default
// "Sorry, I ran into a problem. Could you say that again?").
func WithFallbackText(text string) Option {
	return func(c *config) error { c.fallback = text; return nil }
}

// WithProviderTimeout bounds how long the session waits for a provider to
// make progress (a transcript, the next LLM delta, the next TTS audio)
// before it gives up, speaks the fallback line and keeps listening
// (default 15 s).
func WithProviderTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: provider timeout %v", ErrOption, d)
		}
		c.providerTimeout = d
		return nil
	}
}
