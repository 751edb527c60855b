package wscore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
)

// Setup checks a transport handler's session constructor and applies its
// options to its configuration in order, returning the first error; a nil
// constructor is an error wrapping errOption, the transport's ErrOption.
func Setup[T transport.Transport, C any, O ~func(*C) error](newSession transport.NewSessionFunc[T], cfg *C, opts []O, errOption error) error {
	if newSession == nil {
		return fmt.Errorf("%w: nil session constructor", errOption)
	}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return err
		}
	}
	return nil
}

// The setters below check and set the options every WebSocket transport
// offers; a transport wraps their errors in its own ErrOption.

// SetLogger sets Log.
func (cfg *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		return errors.New("nil logger")
	}
	cfg.Log = l
	return nil
}

// SetSendQueue sets MaxDelay and MaxQueueBytes.
func (cfg *Config) SetSendQueue(maxDelay time.Duration, maxBytes int) error {
	if maxDelay <= 0 || maxBytes < 4096 {
		return fmt.Errorf("send queue %v, %d bytes (at least 4096)", maxDelay, maxBytes)
	}
	cfg.MaxDelay, cfg.MaxQueueBytes = maxDelay, maxBytes
	return nil
}

// SetMaxMessage sets MaxMessage.
func (cfg *Config) SetMaxMessage(n int) error {
	if n < 1024 {
		return fmt.Errorf("max message %d bytes is under 1024", n)
	}
	cfg.MaxMessage = n
	return nil
}

// SetRate sets Rate and Burst.
func (cfg *Config) SetRate(perSecond float64, burst int) error {
	if perSecond <= 0 || burst < 1 {
		return fmt.Errorf("rate %g/s burst %d", perSecond, burst)
	}
	cfg.Rate, cfg.Burst = perSecond, burst
	return nil
}

// Limiter returns a limiter of Rate and Burst for one connection.
func (cfg *Config) Limiter() *rate.Limiter { return rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst) }

// SetMaxSessions sets MaxSessions.
func (cfg *Config) SetMaxSessions(n int) error {
	if n < 1 {
		return fmt.Errorf("max sessions %d", n)
	}
	cfg.MaxSessions = n
	return nil
}

// Accept takes a session slot and upgrades the request to a WebSocket. When
// every slot is taken it answers 503 Service Unavailable; when the upgrade
// fails the upgrader has answered with an HTTP error. Either way it logs
// why and returns nil. Otherwise the caller must call done once the
// connection has ended: it closes the socket and frees the slot.
func (cfg *Config) Accept(w http.ResponseWriter, r *http.Request) (ws *websocket.Conn, done func()) {
	if cfg.live.Add(1) > int64(cfg.MaxSessions) {
		cfg.live.Add(-1)
		cfg.Log.Warn("session refused: every slot is taken", "path", r.URL.Path, "remote", r.RemoteAddr, "max_sessions", cfg.MaxSessions)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many sessions; try again later", http.StatusServiceUnavailable)
		return nil, nil
	}
	ws, err := cfg.upgrader.Upgrade(w, r, nil)
	if err != nil {
		cfg.live.Add(-1)
		cfg.Log.Debug("websocket upgrade failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return nil, nil
	}
	return ws, func() {
		_ = ws.Close()
		cfg.live.Add(-1)
	}
}

// Sessions returns how many connections hold a slot.
func (cfg *Config) Sessions() int { return int(cfg.live.Load()) }

// NewSession calls a transport handler's session constructor, turning a nil
// session into an error.
func NewSession[C transport.Transport](newSession transport.NewSessionFunc[C], r *http.Request, conn C) (transport.Session, error) {
	sess, err := newSession(r, conn)
	if err == nil && sess == nil {
		err = errors.New("the session constructor returned no session")
	}
	return sess, err
}
