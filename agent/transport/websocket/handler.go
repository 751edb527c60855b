package websocket

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Session is the conversation a Handler runs for each device.
// *agent.Session implements it.
type Session interface {
	// Run runs the conversation until ctx is done or the transport's
	// ReadAudio returns io.EOF.
	Run(ctx context.Context) error
	// SendText adds a typed user turn.
	SendText(text string)
	// SendImage attaches a picture to the next user turn.
	SendImage(img pipeline.Image)
	// Interrupt cancels the reply being spoken.
	Interrupt()
}

// NewSessionFunc creates the session for a device that sent a valid hello;
// conn is its transport (conn.Hello() tells the language and audio format).
// An error is reported to the device, which is then disconnected.
type NewSessionFunc func(r *http.Request, conn *Conn) (Session, error)

// Option configures a Handler.
type Option func(*config) error

type config struct {
	auth         func(token string) error
	maxMessage   int
	rate         float64
	burst        int
	errRate      float64
	errBurst     int
	pingInterval time.Duration
	writeTimeout time.Duration
	helloTimeout time.Duration
	checkOrigin  func(*http.Request) bool
	log          *slog.Logger
}

// pongWait is how long the reader waits for any message or pong.
func (c *config) pongWait() time.Duration { return 2*c.pingInterval + c.writeTimeout }

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
	return func(c *config) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message %d bytes is under 1024", ErrOption, n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithRateLimit sets the sustained message rate and burst a device may use
// (default 200 per second, burst 250: five seconds of 20 ms packets, so a
// device catching up after a network or server stall is not refused).
// Messages over it are discarded with a "rate_limited" error.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("%w: rate %g/s burst %d", ErrOption, perSecond, burst)
		}
		c.rate, c.burst = perSecond, burst
		return nil
	}
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

// WithPingInterval sets how often the server pings (default 15 s); a device
// silent for two intervals is disconnected.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: ping interval %v", ErrOption, d)
		}
		c.pingInterval = d
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
		c.writeTimeout = d
		return nil
	}
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
		c.checkOrigin = fn
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		c.log = l
		return nil
	}
}

// Handler upgrades HTTP requests to device WebSocket connections and runs a
// session on each. ServeHTTP returns when the session ends.
type Handler struct {
	newSession NewSessionFunc
	cfg        config
	upgrader   websocket.Upgrader
}

// NewHandler returns a handler that runs newSession's session for every
// device that connects and sends a valid hello. Mount it on a path such as
// "/device". The session's context is the request's: cancel
// http.Server.BaseContext's context to end sessions on shutdown (devices get
// close code 1001). When the device goes away, ReadAudio returns io.EOF; a
// session that has not returned 2 s later has its context cancelled.
func NewHandler(newSession NewSessionFunc, opts ...Option) (*Handler, error) {
	if newSession == nil {
		return nil, fmt.Errorf("%w: nil session constructor", ErrOption)
	}
	h := &Handler{newSession: newSession}
	for _, o := range opts {
		if err := o(&h.cfg); err != nil {
			return nil, err
		}
	}
	c := &h.cfg
	if c.maxMessage == 0 {
		c.maxMessage = 1 << 20
	}
	if c.rate == 0 {
		c.rate, c.burst = 200, 250
	}
	if c.errRate == 0 {
		c.errRate, c.errBurst = 10, 50
	}
	if c.pingInterval == 0 {
		c.pingInterval = 15 * time.Second
	}
	if c.writeTimeout == 0 {
		c.writeTimeout = 5 * time.Second
	}
	if c.helloTimeout == 0 {
		c.helloTimeout = 10 * time.Second
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		CheckOrigin:      c.checkOrigin,
	}
	return h, nil
}

// ServeHTTP upgrades the request, waits for the hello, runs the session and
// closes the connection, leaving no goroutine behind.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.cfg.log.Debug("device upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered with an HTTP error
	}
	defer ws.Close()
	ws.SetReadLimit(int64(4 * h.cfg.maxMessage))

	c, err := h.handshake(ws)
	if err != nil {
		h.cfg.log.Info("device refused", "remote", r.RemoteAddr, "err", err)
		h.reject(ws, err)
		return
	}
	c.log = h.cfg.log.With("session", c.id, "device", c.hello.Device)
	sess, err := h.newSession(r, c)
	if err == nil && sess == nil {
		err = errors.New("the session constructor returned no session")
	}
	if err != nil {
		c.log.Error("session not created", "err", err)
		h.reject(ws, protoErr(CodeSessionFailed, "the server could not start a session"))
		return
	}
	c.sess = sess
	if err := h.sendHello(c); err != nil {
		c.log.Debug("server hello failed", "err", err)
		return
	}
	c.log.Info("device connected", "remote", r.RemoteAddr, "audio", c.hello.Audio.Encoding, "rate", c.hello.Audio.SampleRate, "language", c.hello.Language)

	ctx, cancel := context.WithCancelCause(r.Context())
	var wg sync.WaitGroup
	readDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.writeLoop(ctx)
	}()
	go func() {
		defer close(readDone)
		c.readLoop()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		endWhenGone(ctx, cancel, c.done)
	}()
	runErr := sess.Run(ctx)
	if runErr != nil && ctx.Err() == nil {
		// The session failed on its own: tell the device before closing.
		c.closeWith(CodeSessionFailed, "the session ended with an error")
	}
	cancel(errSessionEnded)
	wg.Wait() // the writer has sent the close frame
	select {
	case <-readDone: // the device answered the close
	case <-time.After(time.Second):
	}
	_ = ws.Close()
	<-readDone
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, errGone):
		c.log.Error("session ended", "err", runErr)
	case c.err != nil:
		c.log.Info("device disconnected", "reason", c.err)
	default:
		c.log.Info("device disconnected")
	}
}

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
			return nil, fmt.Errorf("websocket: waiting for hello: %w", err)
		}
		data, err := readLimited(r, h.cfg.maxMessage)
		var m ClientMessage
		switch {
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
			if err := h.writeNow(ws, errorJSON(pe.Code, pe.Reason)); err != nil {
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
	c := &Conn{
		ws:      ws,
		cfg:     &h.cfg,
		hello:   hello,
		id:      newID(),
		log:     h.cfg.log,
		frames:  make(chan pcm.Frame, inQueue),
		ctrl:    make(chan []byte, ctrlQueue),
		audio:   make(chan audioItem, audioQueue),
		done:    make(chan struct{}),
		marks:   make(map[string]func()),
		limiter: rate.NewLimiter(rate.Limit(h.cfg.rate), h.cfg.burst),
		errs:    rate.NewLimiter(rate.Limit(h.cfg.errRate), h.cfg.errBurst),
	}
	if hello.Audio.Encoding == EncodingOpus {
		var err error
		if c.enc, err = opus.NewEncoder(hello.Audio.SampleRate, 1); err != nil {
			return nil, protoErr(CodeSessionFailed, "opus encoder: %v", err)
		}
		if c.dec, err = opus.NewDecoder(hello.Audio.SampleRate, 1); err != nil {
			return nil, protoErr(CodeSessionFailed, "opus decoder: %v", err)
		}
		c.encBuf = make([]byte, 0, 1500)
		c.decBuf = make([]int16, 0, hello.Audio.SampleRate*120/1000)
	}
	return c, nil
}

// sendHello answers the device's hello and arms the keepalive.
func (h *Handler) sendHello(c *Conn) error {
	out := c.hello.Audio
	out.FrameMs = int(frameDuration / time.Millisecond)
	b, err := json.Marshal(ServerHello{
		Type:    TypeHello,
		Version: ProtocolVersion,
		Session: c.id,
		Audio:   out,
		Limits:  Limits{MaxMessageBytes: h.cfg.maxMessage, MaxMessagesPerSecond: h.cfg.rate, Burst: h.cfg.burst},
	})
	if err != nil {
		return err
	}
	if err := h.writeNow(c.ws, b); err != nil {
		return err
	}
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(h.cfg.pongWait()))
	})
	return c.ws.SetReadDeadline(time.Now().Add(h.cfg.pongWait()))
}

// reject tells the device why it is refused and closes.
func (h *Handler) reject(ws *websocket.Conn, err error) {
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		return // the connection itself failed
	}
	if h.writeNow(ws, errorJSON(pe.Code, pe.Reason)) != nil {
		return
	}
	_ = ws.WriteControl(websocket.CloseMessage, closeFrame(pe), time.Now().Add(h.cfg.writeTimeout))
}

// writeNow writes a text message before the writer goroutine runs.
func (h *Handler) writeNow(ws *websocket.Conn, msg []byte) error {
	if err := ws.SetWriteDeadline(time.Now().Add(h.cfg.writeTimeout)); err != nil {
		return err
	}
	return ws.WriteMessage(websocket.TextMessage, msg)
}

// newID returns a random 16-hex-digit session identifier.
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// grace is how long a session may take to notice, by itself, that its
// connection ended before its context is cancelled.
const grace = 2 * time.Second

// endWhenGone cancels ctx with errGone once done has been closed for
// grace: a session busy elsewhere (a slow LLM call) still ends when the
// device goes away. It returns when ctx is done.
func endWhenGone(ctx context.Context, cancel context.CancelCauseFunc, done <-chan struct{}) {
	select {
	case <-ctx.Done():
		return
	case <-done:
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		cancel(errGone)
	}
}
