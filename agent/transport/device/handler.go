package device

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/opus"
)

// Session is the conversation a Handler runs for each device;
// *agent.Session implements it.
type Session = transport.Session

// NewSessionFunc creates the session for a device that sent a valid hello;
// conn is its transport (conn.Hello() tells the language and audio format).
// An error is reported to the device, which is then disconnected. It is
// the constructor shape every transport handler takes.
type NewSessionFunc = transport.NewSessionFunc[*Conn]

// Option configures a Handler.
type Option func(*config) error

type config struct {
	auth         func(token string) error
	errRate      float64
	errBurst     int
	helloTimeout time.Duration
	core         wscore.Config // the connection lifecycle's settings
}

// optErr wraps the error of a shared option in ErrOption.
func optErr(err error) error {
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOption, err)
	}
	return nil
}

// WithToken accepts only devices whose hello carries token (compared in
// constant time). Without WithToken or WithAuthenticator every device is
// accepted.
func WithToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return fmt.Errorf("%w: empty token", ErrOption)
		}
		want := []byte(token)
		c.auth = func(got string) error {
			if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
				return ErrUnauthorized
			}
			return nil
		}
		return nil
	}
}

// WithAuthenticator checks each hello's token with fn; an error refuses the
// device, which receives an "unauthorized" error and a close frame.
func WithAuthenticator(fn func(token string) error) Option {
	return func(c *config) error {
		if fn == nil {
			return fmt.Errorf("%w: nil authenticator", ErrOption)
		}
		c.auth = fn
		return nil
	}
}

// WithMaxMessageBytes sets the largest message accepted (default 1 MiB, which
// leaves room for an image). A larger message is discarded with a
// "too_large" error; one over four times the limit closes the connection
// (close code 1009).
func WithMaxMessageBytes(n int) Option {
	return func(c *config) error { return optErr(c.core.SetMaxMessage(n)) }
}

// WithRateLimit sets the sustained message rate and burst a device may use
// (default 200 per second, burst 250: five seconds of 20 ms packets, so a
// device catching up after a network or server stall is not refused).
// Messages over it are discarded with a "rate_limited" error.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error { return optErr(c.core.SetRate(perSecond, burst)) }
}

// WithErrorBudget sets how many refused messages a device may cause: a
// sustained rate and a burst (default 10 per second, burst 50). Past it the
// server closes with "too_many_errors" (close code 1008).
func WithErrorBudget(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("%w: error budget %g/s burst %d", ErrOption, perSecond, burst)
		}
		c.errRate, c.errBurst = perSecond, burst
		return nil
	}
}

// WithPingInterval sets how often the server pings (default 15 s). A device
// that has not answered a ping when the next one is due has stopped reading
// and is disconnected; so is one that sends nothing for two intervals.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: ping interval %v", ErrOption, d)
		}
		c.core.PingInterval = d
		return nil
	}
}

// WithWriteTimeout bounds each write to the device (default 5 s); a write
// that times out ends the connection.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: write timeout %v", ErrOption, d)
		}
		c.core.WriteTimeout = d
		return nil
	}
}

// WithSendQueue bounds the agent audio and messages waiting to be sent to
// a device (defaults 2 s and 256 KiB): a device on which a write stayed
// blocked longer than maxDelay while more waited, or whose queue outgrew
// maxBytes, has stopped reading and is disconnected, so the session never
// waits for it.
func WithSendQueue(maxDelay time.Duration, maxBytes int) Option {
	return func(c *config) error { return optErr(c.core.SetSendQueue(maxDelay, maxBytes)) }
}

// WithHelloTimeout bounds the wait for a valid hello (default 10 s).
func WithHelloTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: hello timeout %v", ErrOption, d)
		}
		c.helloTimeout = d
		return nil
	}
}

// WithCheckOrigin sets the upgrade's origin check. The default accepts
// requests without an Origin header (devices) and same-host browser
// requests.
func WithCheckOrigin(fn func(r *http.Request) bool) Option {
	return func(c *config) error {
		c.core.CheckOrigin = fn
		return nil
	}
}

// WithMaxSessions bounds the devices served at once (default 256); more are
// refused with 503 Service Unavailable before the WebSocket upgrade.
func WithMaxSessions(n int) Option {
	return func(c *config) error { return optErr(c.core.SetMaxSessions(n)) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return optErr(c.core.SetLogger(l)) }
}

// Handler upgrades HTTP requests to device WebSocket connections and runs a
// session on each. ServeHTTP returns when the session ends.
type Handler struct {
	newSession NewSessionFunc
	cfg        config
}

// NewHandler returns a handler that runs newSession's session for every
// device that connects and sends a valid hello. Mount it on a path such as
// "/device". The session's context is the request's: cancel
// http.Server.BaseContext's context to end sessions on shutdown (devices get
// a goodbye message and close code 1001). When the device goes away,
// ReadAudio returns io.EOF; a session that has not returned 2 s later has
// its context cancelled.
func NewHandler(newSession NewSessionFunc, opts ...Option) (*Handler, error) {
	h := &Handler{newSession: newSession}
	if err := wscore.Setup(newSession, &h.cfg, opts, ErrOption); err != nil {
		return nil, err
	}
	c := &h.cfg
	if c.core.MaxMessage == 0 {
		c.core.MaxMessage = 1 << 20
	}
	if c.core.Rate == 0 {
		c.core.Rate, c.core.Burst = 200, 250
	}
	if c.errRate == 0 {
		c.errRate, c.errBurst = 10, 50
	}
	if c.core.PingInterval == 0 {
		c.core.PingInterval = 15 * time.Second
	}
	if c.helloTimeout == 0 {
		c.helloTimeout = 10 * time.Second
	}
	c.core.SetDefaults()
	c.core.ReadTimeout = 2*c.core.PingInterval + c.core.WriteTimeout
	c.core.CloseCode = closeCode
	c.core.SessionFailed = func(wc *wscore.Conn, _ error) {
		_ = wc.Control(errorJSON(CodeSessionFailed, "the session ended with an error"))
		wc.Finish(&ProtocolError{Code: CodeSessionFailed, Reason: "the session ended with an error"})
	}
	c.core.Farewell = farewell
	return h, nil
}

// ServeHTTP upgrades the request, waits for the hello, runs the session and
// closes the connection, leaving no goroutine behind.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, done := h.cfg.core.Accept(w, r)
	if ws == nil {
		return
	}
	defer done()
	c, err := h.handshake(ws)
	if err != nil {
		h.cfg.core.Log.Info("device refused", "remote", r.RemoteAddr, "err", err)
		h.reject(ws, err)
		return
	}
	sess, err := wscore.NewSession(h.newSession, r, c)
	if err != nil {
		c.log.Error("session not created", "err", err)
		h.reject(ws, protoErr(CodeSessionFailed, "the server could not start a session"))
		return
	}
	c.sess = sess
	if err := h.sendHello(c, ws); err != nil {
		c.log.Debug("server hello failed", "err", err)
		return
	}
	c.log.Info("device connected", "remote", r.RemoteAddr, "audio", c.hello.Audio.Encoding, "rate", c.hello.Audio.SampleRate, "language", c.hello.Language)
	c.core.Serve(r.Context(), sess.Run, c.handle)
}

// Sessions returns how many connections are being served.
func (h *Handler) Sessions() int { return h.cfg.core.Sessions() }

// handshake waits for a valid hello, answering refused messages with error
// messages, and builds the connection.
func (h *Handler) handshake(ws *websocket.Conn) (*Conn, error) {
	deadline := time.Now().Add(h.cfg.helloTimeout)
	if err := ws.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	errs := rate.NewLimiter(rate.Limit(h.cfg.errRate), h.cfg.errBurst)
	for {
		kind, r, err := ws.NextReader()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, protoErr(CodeHelloRequired, "no valid hello within %v", h.cfg.helloTimeout)
			}
			return nil, fmt.Errorf("device: waiting for hello: %w", err)
		}
		data, err := readLimited(r, h.cfg.core.MaxMessage, nil)
		var m ClientMessage
		switch {
		case errors.Is(err, errHuge):
			return nil, protoErr(CodeTooLarge, "%v", err)
		case err != nil:
		case kind == websocket.BinaryMessage:
			err = protoErr(CodeHelloRequired, "binary audio before hello; send a hello first")
		default:
			m, err = ParseClientMessage(data)
			if err == nil && m.Type != TypeHello {
				err = protoErr(CodeHelloRequired, "%q before hello; send a hello first", m.Type)
			}
		}
		var pe *ProtocolError
		if err != nil && !errors.As(err, &pe) {
			return nil, err
		}
		if pe != nil {
			if !errs.Allow() {
				return nil, protoErr(CodeTooManyErrors, "too many refused messages before hello")
			}
			if err := wscore.WriteNow(ws, h.cfg.core.WriteTimeout, errorJSON(pe.Code, pe.Reason)); err != nil {
				return nil, err
			}
			continue
		}
		if h.cfg.auth != nil {
			if err := h.cfg.auth(m.Hello.Token); err != nil {
				return nil, protoErr(CodeUnauthorized, "the token was refused")
			}
		}
		return h.newConn(ws, m.Hello)
	}
}

// newConn builds the connection for an accepted hello.
func (h *Handler) newConn(ws *websocket.Conn, hello Hello) (*Conn, error) {
	id := newID()
	log := h.cfg.core.Log.With("session", id, "device", hello.Device)
	c := &Conn{
		core:    wscore.New(ws, &h.cfg.core, log),
		cfg:     &h.cfg,
		hello:   hello,
		id:      id,
		log:     log,
		limiter: h.cfg.core.Limiter(),
		errs:    rate.NewLimiter(rate.Limit(h.cfg.errRate), h.cfg.errBurst),
	}
	if hello.Audio.Encoding == EncodingOpus {
		var err error
		if c.enc, err = newEncoder(hello.Audio.SampleRate); err != nil {
			return nil, protoErr(CodeSessionFailed, "opus encoder: %v", err)
		}
		if c.dec, err = opus.NewDecoder(hello.Audio.SampleRate, 1); err != nil {
			return nil, protoErr(CodeSessionFailed, "opus decoder: %v", err)
		}
		c.encBuf = make([]byte, 0, 1500)
		c.decodeRoom = hello.Audio.SampleRate * 120 / 1000
	}
	return c, nil
}

// sendHello answers the device's hello.
func (h *Handler) sendHello(c *Conn, ws *websocket.Conn) error {
	out := c.hello.Audio
	out.FrameMs = int(frameDuration / time.Millisecond)
	b, err := json.Marshal(ServerHello{
		Type:    TypeHello,
		Version: ProtocolVersion,
		Session: c.id,
		Audio:   out,
		Limits:  Limits{MaxMessageBytes: h.cfg.core.MaxMessage, MaxMessagesPerSecond: h.cfg.core.Rate, Burst: h.cfg.core.Burst},
	})
	if err != nil {
		return err
	}
	return wscore.WriteNow(ws, h.cfg.core.WriteTimeout, b)
}

// reject tells the device why it is refused and closes.
func (h *Handler) reject(ws *websocket.Conn, err error) {
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		return // the connection itself failed
	}
	code, text, _ := closeCode(pe)
	wscore.Reject(ws, h.cfg.core.WriteTimeout, errorJSON(pe.Code, pe.Reason), code, text)
}

// closeCode returns the close frame for the end reasons of this protocol:
// a bye (1000 "bye") and refusals (1008, 1009 for a huge message, 1011 when
// the session failed), the reason repeating the error code and text.
func closeCode(reason error) (int, string, bool) {
	var pe *ProtocolError
	switch {
	case reason == nil:
		return websocket.CloseNormalClosure, "bye", true
	case !errors.As(reason, &pe):
		return 0, "", false
	case pe.Code == CodeSessionFailed:
		return websocket.CloseInternalServerErr, pe.Code + ": " + pe.Reason, true
	case pe.Code == CodeTooLarge:
		return websocket.CloseMessageTooBig, pe.Code + ": " + pe.Reason, true
	}
	return websocket.ClosePolicyViolation, pe.Code + ": " + pe.Reason, true
}

// farewell is the goodbye message a device gets before a close 1001.
func farewell(reason error) []byte {
	if !errors.Is(reason, wscore.ErrShutdown) {
		return nil
	}
	return []byte(`{"type":"` + TypeGoodbye + `","text":"the server is shutting down; reconnect later"}`)
}

// newID returns a random 16-hex-digit session identifier.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}
