package agent

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

// Option configures a Session.
type Option func(*Session) error

// Preset is a bundle of turn-taking settings for one kind of product.
// Options that set a value a preset also sets win over the preset.
type Preset int

// Presets.
const (
	// PresetDefault: 500 ms end of turn, pause-then-decide barge-in.
	PresetDefault Preset = iota
	// PresetPhone: phone lines (8 kHz, line noise): a little more speech
	// needed to barge in, 600 ms end of turn.
	PresetPhone
	// PresetLanguagePractice: patient endpointing for learners (1.2 s end
	// of turn, long holds after numbers and spelled letters), and only
	// clear, several-word speech cancels a reply.
	PresetLanguagePractice
	// PresetSmartSpeaker: a device whose microphone hears its own speaker:
	// a strict echo guard and a higher bar to barge in.
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
	return func(s *Session) error { s.stt = stt; return nil }
}

// WithStreamingSTT sets a streaming recogniser; its partial results feed
// user_partial events and early barge-in decisions.
func WithStreamingSTT(stt pipeline.StreamingSTT) Option {
	return func(s *Session) error { s.sstt = stt; return nil }
}

// WithLLM sets the language model.
func WithLLM(llm pipeline.LLM) Option {
	return func(s *Session) error { s.llm = llm; return nil }
}

// WithTTS sets the speech synthesiser.
func WithTTS(tts pipeline.TTS) Option {
	return func(s *Session) error { s.tts = tts; return nil }
}

// WithVAD sets the factory of the voice-activity model; the session calls
// it once per Run (default: Silero v5 at 16 kHz, see vad/silero).
func WithVAD(newModel func() (vad.Model, error)) Option {
	return func(s *Session) error {
		if newModel == nil {
			return fmt.Errorf("%w: nil VAD factory", ErrOption)
		}
		s.newVAD = newModel
		return nil
	}
}

// WithVADParams sets the detector parameters (zero fields keep defaults).
func WithVADParams(p vad.Params) Option {
	return func(s *Session) error { s.vadParams = p; return nil }
}

// WithPreset selects a preset. Options that set a value the preset also
// sets win, in whatever order they are given.
func WithPreset(p Preset) Option {
	return func(s *Session) error {
		if p < PresetDefault || p > PresetSmartSpeaker {
			return fmt.Errorf("%w: unknown preset %d", ErrOption, int(p))
		}
		s.preset = p
		return nil
	}
}

// presetValues are the settings a preset brings.
type presetValues struct {
	endOfTurn, numberHold time.Duration
	policy                InterruptionPolicy
	echo                  EchoGuard
	vad                   vad.Params
}

func (p Preset) values() presetValues {
	v := presetValues{endOfTurn: 500 * time.Millisecond, numberHold: 1500 * time.Millisecond}
	switch p {
	case PresetPhone:
		v.endOfTurn = 600 * time.Millisecond
		v.vad.MinSpeech = 96 * time.Millisecond
	case PresetLanguagePractice:
		v.endOfTurn = 1200 * time.Millisecond
		v.numberHold = 3 * time.Second
		v.policy.MinWords = 3
		v.policy.LongSpeech = 2500 * time.Millisecond
	case PresetSmartSpeaker:
		v.endOfTurn = 600 * time.Millisecond
		v.echo.Threshold = 0.3
		v.vad.Activation = 0.6
		v.vad.MinSpeech = 96 * time.Millisecond
	}
	return v
}

// applyPreset fills the settings no option gave from the preset.
func (s *Session) applyPreset() {
	v := s.preset.values()
	if !s.endOfTurnSet {
		s.endOfTurn = v.endOfTurn
	}
	if !s.numberHoldSet {
		s.numberHold = v.numberHold
	}
	if s.policy.MinWords == 0 {
		s.policy.MinWords = v.policy.MinWords
	}
	if s.policy.LongSpeech == 0 {
		s.policy.LongSpeech = v.policy.LongSpeech
	}
	if s.echo.Threshold == 0 {
		s.echo.Threshold = v.echo.Threshold
	}
	if s.vadParams.Activation == 0 {
		s.vadParams.Activation = v.vad.Activation
	}
	if s.vadParams.MinSpeech == 0 {
		s.vadParams.MinSpeech = v.vad.MinSpeech
	}
}

// WithEndOfTurn sets the silence that ends a user turn (default 500 ms).
func WithEndOfTurn(d time.Duration) Option {
	return func(s *Session) error {
		if d < 100*time.Millisecond || d > time.Minute {
			return fmt.Errorf("%w: end of turn %v outside [100ms, 1m]", ErrOption, d)
		}
		s.endOfTurn, s.endOfTurnSet = d, true
		return nil
	}
}

// WithNumberHold sets the extra silence allowed when the user's words so
// far end in a number, a spelled letter or a word that leaves the sentence
// open ("my order number is"), default 1.5 s, so turn detection does not cut
// off someone reading out digits or searching for a word.
func WithNumberHold(d time.Duration) Option {
	return func(s *Session) error {
		if d < 0 || d > time.Minute {
			return fmt.Errorf("%w: number hold %v", ErrOption, d)
		}
		s.numberHold, s.numberHoldSet = d, true
		return nil
	}
}

// WithInterruptionPolicy sets the barge-in policy; zero fields keep their
// defaults.
func WithInterruptionPolicy(p InterruptionPolicy) Option {
	return func(s *Session) error {
		if p.Window < 0 || p.LongSpeech < 0 || p.MinWords < 0 || p.Mode < PauseThenDecide || p.Mode > CancelImmediately {
			return fmt.Errorf("%w: interruption policy %+v", ErrOption, p)
		}
		s.policy = p
		return nil
	}
}

// WithEchoGuard tunes (or disables) the echo guard.
func WithEchoGuard(g EchoGuard) Option {
	return func(s *Session) error {
		if g.Threshold < 0 || g.Threshold > 1 || g.MaxDelay < 0 || g.MaxDelay > 2*time.Second {
			return fmt.Errorf("%w: echo guard %+v", ErrOption, g)
		}
		s.echo = g
		return nil
	}
}

// WithSystemPrompt sets the system message that starts the history.
func WithSystemPrompt(prompt string) Option {
	return func(s *Session) error { s.systemPrompt = prompt; return nil }
}

// WithLanguage sets the conversation's starting language (BCP-47). The
// session then follows the language the STT reports.
func WithLanguage(lang string) Option {
	return func(s *Session) error { s.lang = lang; return nil }
}

// WithVoices maps languages ("en", "es", "zh-CN") to TTS voices; a reply in
// a language picks its voice, falling back to the base language ("zh").
func WithVoices(voices map[string]string) Option {
	return func(s *Session) error {
		s.voices = make(map[string]string, len(voices))
		for k, v := range voices {
			s.voices[strings.ToLower(k)] = v
		}
		return nil
	}
}

// WithTools registers tools the model may call.
func WithTools(tools ...Tool) Option {
	return func(s *Session) error {
		for _, t := range tools {
			if t.Name == "" || t.Func == nil || t.Timeout < 0 {
				return fmt.Errorf("%w: tool %q needs a name and a function", ErrOption, t.Name)
			}
			if _, dup := s.tools[t.Name]; dup {
				return fmt.Errorf("%w: tool %q registered twice", ErrOption, t.Name)
			}
			s.tools[t.Name] = t
			s.toolDefs = append(s.toolDefs, t.Tool)
		}
		return nil
	}
}

// WithEventHandler sets a function called with every event, from the
// session's goroutine; it must not block.
func WithEventHandler(f func(Event)) Option {
	return func(s *Session) error { s.onEvent = f; return nil }
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Session) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		s.log = l
		return nil
	}
}

// WithMetrics reports the session's measurements (turn latencies, barge-in
// outcomes, tool calls, hand-offs, provider failures) to r; see package
// agent/promrec for Prometheus.
func WithMetrics(r Recorder) Option {
	return func(s *Session) error { s.metrics = recorder{r}; return nil }
}

// WithFallbackText sets the line spoken when a provider fails (default
// "Sorry, I ran into a problem. Could you say that again?").
func WithFallbackText(text string) Option {
	return func(s *Session) error { s.fallback = text; return nil }
}

// WithProviderTimeout bounds how long the session waits for a provider to
// make progress (a transcript, the next LLM delta, the next TTS audio)
// before it gives up, speaks the fallback line and keeps listening
// (default 15 s).
func WithProviderTimeout(d time.Duration) Option {
	return func(s *Session) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: provider timeout %v", ErrOption, d)
		}
		s.providerTimeout = d
		return nil
	}
}
