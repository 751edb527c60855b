package rtserver

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/harkvoice/hark/agent/transport/internal/wscore"
)

// Option configures a Handler.
type Option func(*config) error

type config struct {
	keys     [][]byte
	models   []string
	voices   map[string]string
	maxMsg   int
	perSec   float64
	burst    int
	maxError int
	core     wscore.Config // the connection lifecycle's settings
}

// Defaults of the settings options change.
const (
	// DefaultModel is the model of a connection whose URL names none.
	DefaultModel = "gpt-realtime"
	// DefaultMaxMessageBytes is the largest client event handled; a larger
	// one is answered with an error event and skipped (one over four times
	// as large ends the connection).
	DefaultMaxMessageBytes = 1 << 20
	// DefaultRate and DefaultBurst bound the client events handled per
	// second; the ones over the limit are answered with an error event.
	DefaultRate  = 200
	DefaultBurst = 400
)

// optErr wraps the error of a shared option in ErrOption.
func optErr(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOption, err)
	}
	return nil
}

// WithAPIKeys accepts only connections that present one of keys, as
// "Authorization: Bearer KEY" or as the WebSocket subprotocol
// "openai-insecure-api-key.KEY" that browsers use (compared in constant
// time). Without it every key is accepted: clients insist on sending one,
// and any will do.
func WithAPIKeys(keys ...string) Option {
	return func(c *config) error {
		for _, k := range keys {
			if k == "" {
				return fmt.Errorf("%w: empty API key", ErrOption)
			}
			c.keys = append(c.keys, []byte(k))
		}
		return nil
	}
}

// WithModels accepts only connections whose ?model= is one of models, or
// one of them followed by a dated suffix ("gpt-realtime-2025-08-28");
// others are refused with HTTP 400 (code model_not_found). Without it every
// model name is accepted; the session constructor reads Conn.Model to pick
// the engines.
func WithModels(models ...string) Option {
	return func(c *config) error {
		for _, m := range models {
			if m == "" {
				return fmt.Errorf("%w: empty model name", ErrOption)
			}
		}
		c.models = append(c.models, models...)
		return nil
	}
}

// WithVoices maps the client's voice names ("alloy", "marin", ...) to the
// TTS engine's voices. A voice not in the map leaves the voice the session
// chose (its WithVoices, or the engine's default).
func WithVoices(voices map[string]string) Option {
	return func(c *config) error {
		c.voices = maps.Clone(voices)
		return nil
	}
}

// WithMaxMessageBytes sets the largest client event handled (default 1
// MiB); a larger one is answered with an error event and skipped, and one
// over four times as large ends the connection.
func WithMaxMessageBytes(n int) Option {
	return func(c *config) error {
		c.maxMsg = n
		return optErr(c.core.SetMaxMessage(4 * n))
	}
}

// WithRateLimit bounds the client events handled to perSecond on average
// with bursts of burst (defaults 200 and 400); events over the limit are
// answered with an error event (code rate_limit_exceeded) and dropped.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("%w: rate limit %v/s, burst %d", ErrOption, perSecond, burst)
		}
		c.perSec, c.burst = perSecond, burst
		return nil
	}
}

// WithMaxErrors sets how many client events may be refused (malformed,
// unknown, out of order, over the limits) before the connection is closed
// (default 1000).
func WithMaxErrors(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: max errors %d", ErrOption, n)
		}
		c.maxError = n
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return optErr(c.core.SetLogger(l)) }
}

// WithSendQueue bounds the events waiting to be sent (defaults 2 s and 256
// KiB): a client on which a write stayed blocked longer than maxDelay while
// more waited, or whose queue outgrew maxBytes, has stopped reading and is
// disconnected, so the session never waits for it.
func WithSendQueue(maxDelay time.Duration, maxBytes int) Option {
	return func(c *config) error { return optErr(c.core.SetSendQueue(maxDelay, maxBytes)) }
}

// keyOK reports whether key is accepted.
func (c *config) keyOK(key string) bool {
	if len(c.keys) == 0 {
		return true
	}
	ok := false
	for _, k := range c.keys {
		if subtle.ConstantTimeCompare([]byte(key), k) == 1 {
			ok = true
		}
	}
	return ok
}

// modelOK reports whether model is accepted.
func (c *config) modelOK(model string) bool {
	if len(c.models) == 0 {
		return true
	}
	for _, m := range c.models {
		if date, ok := strings.CutPrefix(model, m+"-"); model == m || ok && isDate(date) {
			return true
		}
	}
	return false
}

// isDate reports whether s is a YYYY-MM-DD date.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, r := range s {
		if i != 4 && i != 7 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
