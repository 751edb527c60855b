package realtime

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/realtimeapi"
)

// DefaultBaseURL is OpenAI's API.
const DefaultBaseURL = "https://api.openai.com/v1"

// DefaultModel is the transcription model asked for when WithModel is not
// given.
const DefaultModel = "gpt-4o-transcribe"

// Option configures a Recognizer.
type Option func(*config) error

type config struct {
	baseURL     string
	apiKey      string
	model       string
	prompt      string
	format      string
	urlModel    string
	beta        bool
	timeout     time.Duration
	retries     int
	commitEvery time.Duration
	dialer      *websocket.Dialer
	dialect     string
}

// WithBaseURL sets the API base URL, such as "https://api.openai.com/v1"
// or "http://127.0.0.1:8080/v1"; "/realtime" is added to it. http and
// https become ws and wss.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			return fmt.Errorf("%w: base URL %q", ErrInvalidOption, u)
		}
		switch p.Scheme {
		case "http", "ws":
			p.Scheme = "ws"
		case "https", "wss":
			p.Scheme = "wss"
		default:
			return fmt.Errorf("%w: base URL %q: scheme must be http(s) or ws(s)", ErrInvalidOption, u)
		}
		p.Path = strings.TrimSuffix(p.Path, "/")
		p.RawQuery, p.Fragment = "", ""
		c.baseURL = p.String()
		return nil
	}
}

// WithAPIKey sets the key sent as "Authorization: Bearer KEY"; an empty key
// sends no header (local servers).
func WithAPIKey(key string) Option {
	return func(c *config) error { c.apiKey = key; return nil }
}

// WithModel sets the transcription model (default DefaultModel).
func WithModel(model string) Option {
	return func(c *config) error {
		if model == "" {
			return fmt.Errorf("%w: empty model", ErrInvalidOption)
		}
		c.model = model
		return nil
	}
}

// WithPrompt sets a prompt that guides the transcription (names, jargon).
func WithPrompt(prompt string) Option {
	return func(c *config) error { c.prompt = prompt; return nil }
}

// WithFormat sets the audio format sent: realtimeapi.FormatPCM (24 kHz
// 16-bit, the default), FormatPCMU or FormatPCMA (8 kHz G.711, a third of
// the bytes, for phone audio that is 8 kHz anyway).
func WithFormat(format string) Option {
	return func(c *config) error {
		switch format {
		case realtimeapi.FormatPCM, realtimeapi.FormatPCMU, realtimeapi.FormatPCMA:
			c.format = format
			return nil
		}
		return fmt.Errorf("%w: audio format %q", ErrInvalidOption, format)
	}
}

// WithURLModel connects to /realtime?model=NAME in place of
// ?intent=transcription, as LocalAI expects (NAME is its pipeline model).
// The session is still configured for transcription.
func WithURLModel(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty URL model", ErrInvalidOption)
		}
		c.urlModel = name
		return nil
	}
}

// WithBeta speaks the older beta shape, as speaches does: the URL carries
// ?intent=transcription&model=MODEL, and session.update sets
// input_audio_transcription and turn_detection at the top level of the
// session. Such servers send no deltas, so partial results stay empty until
// a segment is complete. Audio is 24 kHz PCM (WithFormat is refused).
func WithBeta() Option {
	return func(c *config) error { c.beta = true; return nil }
}

// Dialects (WithDialect).
const (
	DialectOpenAI   = "openai"
	DialectLocalAI  = "localai"
	DialectSpeaches = "speaches"
)

// WithDialect selects what the server speaks by name, for programs that
// take it from configuration: DialectOpenAI (the default), DialectLocalAI
// (the GA shape with the transcription model in the URL, as WithURLModel
// with the WithModel name) or DialectSpeaches (WithBeta).
func WithDialect(name string) Option {
	return func(c *config) error {
		switch name {
		case DialectOpenAI, "":
		case DialectLocalAI:
			c.dialect = name
		case DialectSpeaches:
			c.beta = true
		default:
			return fmt.Errorf("%w: dialect %q (want %s, %s or %s)", ErrInvalidOption, name, DialectOpenAI, DialectLocalAI, DialectSpeaches)
		}
		return nil
	}
}

// WithTimeout bounds the wait for a connection and, after Close, for the
// final transcript (default 10 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout %v", ErrInvalidOption, d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetries sets how many times a stream connects again after its
// connection could not be made or dropped (default 1; 0 never retries).
// Refusals (HTTP 4xx) and error events are not retried.
func WithRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: retries %d", ErrInvalidOption, n)
		}
		c.retries = n
		return nil
	}
}

// WithCommitEvery commits the audio every d of speech while the user is
// still talking, so that words come back before the utterance ends (the
// server transcribes only committed audio). Each piece is transcribed on
// its own, so a word cut at a boundary may be heard wrongly; 0 (the
// default) commits only at Commit and Close.
func WithCommitEvery(d time.Duration) Option {
	return func(c *config) error {
		if d != 0 && d < 500*time.Millisecond {
			return fmt.Errorf("%w: commit interval %v (at least 500ms)", ErrInvalidOption, d)
		}
		c.commitEvery = d
		return nil
	}
}

// WithDialer sets the WebSocket dialer (proxy, TLS configuration).
func WithDialer(d *websocket.Dialer) Option {
	return func(c *config) error {
		if d == nil {
			return fmt.Errorf("%w: nil dialer", ErrInvalidOption)
		}
		c.dialer = d
		return nil
	}
}
