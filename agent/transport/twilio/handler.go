package twilio

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
)

// Session is the conversation a Handler runs for each call; *agent.Session
// implements it.
type Session = transport.Session

// NewSessionFunc creates the session for a call whose stream started; conn
// is its transport (conn.Start() has the call SID and custom parameters).
// An error hangs up. It is the constructor shape every transport handler
// takes.
type NewSessionFunc = transport.NewSessionFunc[*Conn]

// Option configures a Handler.
type Option func(*config) error

type config struct {
	auth         *StreamAuth
	dtmf         func(s Session, digit string)
	maxErrors    int
	startTimeout time.Duration
	core         wscore.Config // the connection lifecycle's settings
}

// optErr wraps the error of a shared option in ErrOption.
func optErr(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOption, err)
	}
	return nil
}

// TokenParameter is the <Stream> custom parameter that carries the stream
// credential (see StreamAuth).
const TokenParameter = "token"

// WithStreamAuth accepts only streams whose start message carries, in the
// custom parameter "token", a credential a issued for the stream's call
// (give the TwiML handler WithStreamCredentials(a)). Without it every
// stream is accepted.
func WithStreamAuth(a *StreamAuth) Option {
	return func(c *config) error {
		if a == nil {
			return fmt.Errorf("%w: nil StreamAuth", ErrOption)
		}
		c.auth = a
		return nil
	}
}

// WithRateLimit sets the sustained message rate and burst a stream may use
// (default 200 per second, burst 400; Twilio sends 50 media messages a
// second). Messages over it are discarded and count as malformed
// (WithMaxErrors).
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error { return optErr(c.core.SetRate(perSecond, burst)) }
}

// WithDTMF calls fn (on the stream's reader goroutine; keep it short) for
// every key the caller presses. Without it key presses are logged.
func WithDTMF(fn func(s Session, digit string)) Option {
	return func(c *config) error {
		c.dtmf = fn
		return nil
	}
}

// WithMaxMessageBytes sets the largest message read (default 64 KiB); a
// larger one closes the stream.
func WithMaxMessageBytes(n int) Option {
	return func(c *config) error { return optErr(c.core.SetMaxMessage(n)) }
}

// WithMaxErrors sets how many malformed messages end the stream (default
// 20).
func WithMaxErrors(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: max errors %d", ErrOption, n)
		}
		c.maxErrors = n
		return nil
	}
}

// WithTimeouts sets the wait for the start message (default 10 s), the
// longest silence on the socket (default 30 s; Twilio sends media every
// 20 ms) and the bound on each write (default 5 s).
func WithTimeouts(start, read, write time.Duration) Option {
	return func(c *config) error {
		if start <= 0 || read <= 0 || write <= 0 {
			return fmt.Errorf("%w: timeouts %v %v %v", ErrOption, start, read, write)
		}
		c.startTimeout, c.core.ReadTimeout, c.core.WriteTimeout = start, read, write
		return nil
	}
}

// WithMaxSessions bounds the streams served at once (default 256); more are
// refused with 503 Service Unavailable before the WebSocket upgrade.
func WithMaxSessions(n int) Option {
	return func(c *config) error { return optErr(c.core.SetMaxSessions(n)) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return optErr(c.core.SetLogger(l)) }
}

// WithSendQueue bounds the agent audio and marks waiting to be sent
// (defaults 2 s and 256 KiB): a stream on which a write stayed blocked
// longer than maxDelay while more waited, or whose queue outgrew maxBytes,
// has stopped reading and is disconnected, so the session never waits for
// it.
func WithSendQueue(maxDelay time.Duration, maxBytes int) Option {
	return func(c *config) error { return optErr(c.core.SetSendQueue(maxDelay, maxBytes)) }
}

// Handler accepts Twilio Media Streams WebSocket connections (the URL of
// the TwiML <Stream>) and runs a session on each call.
type Handler struct {
	newSession NewSessionFunc
	cfg        config
}

// NewHandler returns a handler that runs newSession's session for every
// stream Twilio opens. Mount it on the path of the TwiML stream URL
// ("/twilio/stream" by default). The session's context is the request's
// (cancel http.Server.BaseContext's context to end calls on shutdown; the
// stream gets close 1001). When the stream ends, ReadAudio returns io.EOF; a
// session that has not returned 2 s later has its context cancelled.
func NewHandler(newSession NewSessionFunc, opts ...Option) (*Handler, error) {
	var c config
	if err := wscore.Setup(newSession, &c, opts, ErrOption); err != nil {
		return nil, err
	}
	if c.core.MaxMessage == 0 {
		c.core.MaxMessage = 64 << 10
	}
	if c.maxErrors == 0 {
		c.maxErrors = 20
	}
	if c.core.Rate == 0 {
		c.core.Rate, c.core.Burst = 200, 400
	}
	if c.startTimeout == 0 {
		c.startTimeout, c.core.ReadTimeout, c.core.WriteTimeout = 10*time.Second, 30*time.Second, 5*time.Second
	}
	c.core.CloseCode = closeCode
	c.core.SetDefaults()
	return &Handler{newSession: newSession, cfg: c}, nil
}

// ServeHTTP upgrades the request, waits for the start message, runs the
// session and closes the stream, leaving no goroutine behind.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, done := h.cfg.core.Accept(w, r)
	if ws == nil {
		return
	}
	defer done()
	ws.SetReadLimit(int64(h.cfg.core.MaxMessage))
	start, err := h.awaitStart(ws)
	if err != nil {
		h.cfg.core.Log.Warn("twilio stream refused", "remote", r.RemoteAddr, "err", err)
		wscore.Reject(ws, h.cfg.core.WriteTimeout, nil, websocket.ClosePolicyViolation, err.Error())
		return
	}
	log := h.cfg.core.Log.With("call", start.CallSid, "stream", start.StreamSid)
	c := &Conn{
		core:        wscore.New(ws, &h.cfg.core, log),
		limiter:     h.cfg.core.Limiter(),
		cfg:         &h.cfg,
		start:       start,
		mediaPrefix: mediaPrefix(start.StreamSid),
		log:         log,
	}
	sess, err := wscore.NewSession(h.newSession, r, c)
	if err != nil {
		c.log.Error("session not created", "err", err)
		wscore.Reject(ws, h.cfg.core.WriteTimeout, nil, websocket.CloseInternalServerErr, "session failed")
		return
	}
	c.sess = sess
	c.log.Info("call connected", "parameters", len(start.CustomParameters))
	c.core.Serve(r.Context(), sess.Run, c.read)
}

// Sessions returns how many streams are being served.
func (h *Handler) Sessions() int { return h.cfg.core.Sessions() }

// closeCode returns the close frame for a stream refused for malformed
// messages: 1008 with the reason.
func closeCode(reason error) (int, string, bool) {
	if errors.Is(reason, ErrProtocol) {
		return websocket.ClosePolicyViolation, reason.Error(), true
	}
	return 0, "", false
}

// awaitStart reads until the start message, skipping connected.
func (h *Handler) awaitStart(ws *websocket.Conn) (Start, error) {
	if err := ws.SetReadDeadline(time.Now().Add(h.cfg.startTimeout)); err != nil {
		return Start{}, err
	}
	for range 8 {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return Start{}, fmt.Errorf("%w: %v", ErrNoStart, err)
		}
		m, err := ParseMessage(data)
		if err != nil {
			return Start{}, err
		}
		switch m.Event {
		case EventConnected:
			continue
		case EventStart:
			if h.cfg.auth != nil {
				if err := h.cfg.auth.Check(m.Start.CallSid, m.Start.CustomParameters[TokenParameter]); err != nil {
					return Start{}, err
				}
			}
			return *m.Start, nil
		default:
			return Start{}, fmt.Errorf("%w: %q before start", ErrNoStart, m.Event)
		}
	}
	return Start{}, fmt.Errorf("%w: too many messages before start", ErrNoStart)
}
