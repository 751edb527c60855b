package wscore

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

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

// Upgrade upgrades the request to a WebSocket. On failure the upgrader has
// answered with an HTTP error; Upgrade logs it and returns nil.
func (cfg *Config) Upgrade(w http.ResponseWriter, r *http.Request) *websocket.Conn {
	ws, err := cfg.upgrader.Upgrade(w, r, nil)
	if err != nil {
		cfg.Log.Debug("websocket upgrade failed", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return nil
	}
	return ws
}

// NewSession calls a transport handler's session constructor, turning a nil
// session into an error.
func NewSession[C transport.Transport](newSession transport.NewSessionFunc[C], r *http.Request, conn C) (transport.Session, error) {
	sess, err := newSession(r, conn)
	if err == nil && sess == nil {
		err = errors.New("the session constructor returned no session")
	}
	return sess, err
}
