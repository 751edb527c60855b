package twilio

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Session is the conversation a Handler runs for each call. *agent.Session
// implements it.
type Session interface {
	// Run runs the conversation until ctx is done or the transport's
	// ReadAudio returns io.EOF.
	Run(ctx context.Context) error
	// SendText adds a typed user turn.
	SendText(text string)
	// Interrupt cancels the reply being spoken.
	Interrupt()
}

// NewSessionFunc creates the session for a call whose stream started; conn
// is its transport (conn.Start() has the call SID and custom parameters).
// An error hangs up.
type NewSessionFunc func(r *http.Request, conn *Conn) (Session, error)

// Option configures a Handler.
type Option func(*config) error

type config struct {
	token        string
	dtmf         func(s Session, digit string)
	maxMessage   int
	maxErrors    int
	startTimeout time.Duration
	readTimeout  time.Duration
	writeTimeout time.Duration
	log          *slog.Logger
}

// TokenParameter is the <Stream> custom parameter that carries the stream
// token (see WithToken and WithTwiMLToken).
const TokenParameter = "token"

// WithToken accepts only streams whose start message carries token in the
// custom parameter "token" (compared in constant time). Give the TwiML
// handler the same token with WithTwiMLToken.
func WithToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return fmt.Errorf("%w: empty token", ErrOption)
		}
		c.token = token
		return nil
	}
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
	return func(c *config) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message %d bytes is under 1024", ErrOption, n)
		}
		c.maxMessage = n
		return nil
	}
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
		c.startTimeout, c.readTimeout, c.writeTimeout = start, read, write
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

// Handler accepts Twilio Media Streams WebSocket connections (the URL of
// the TwiML <Stream>) and runs a session on each call.
type Handler struct {
	newSession NewSessionFunc
	cfg        config
	upgrader   websocket.Upgrader
}

// NewHandler returns a handler that runs newSession's session for every
// stream Twilio opens. Mount it on the path of the TwiML stream URL
// ("/twilio/stream" by default). The session's context is the request's
// (cancel http.Server.BaseContext's context to end calls on shutdown). When
// the stream ends, ReadAudio returns io.EOF; a session that has not returned
// 2 s later has its context cancelled.
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
		c.maxMessage = 64 << 10
	}
	if c.maxErrors == 0 {
		c.maxErrors = 20
	}
	if c.startTimeout == 0 {
		c.startTimeout, c.readTimeout, c.writeTimeout = 10*time.Second, 30*time.Second, 5*time.Second
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	h.upgrader = websocket.Upgrader{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	return h, nil
}

// ServeHTTP upgrades the request, waits for the start message, runs the
// session and closes the stream, leaving no goroutine behind.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.cfg.log.Debug("twilio upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	defer ws.Close()
	ws.SetReadLimit(int64(h.cfg.maxMessage))
	start, err := h.awaitStart(ws)
	if err != nil {
		h.cfg.log.Warn("twilio stream refused", "remote", r.RemoteAddr, "err", err)
		h.closeWith(ws, websocket.ClosePolicyViolation, err.Error())
		return
	}
	c := &Conn{
		ws:          ws,
		cfg:         &h.cfg,
		start:       start,
		mediaPrefix: mediaPrefix(start.StreamSid),
		log:         h.cfg.log.With("call", start.CallSid, "stream", start.StreamSid),
		frames:      make(chan pcm.Frame, inQueue),
		ctrl:        make(chan []byte, ctrlQueue),
		audio:       make(chan outItem, audioQueue),
		done:        make(chan struct{}),
		marks:       make(map[string]func()),
	}
	sess, err := h.newSession(r, c)
	if err == nil && sess == nil {
		err = errors.New("the session constructor returned no session")
	}
	if err != nil {
		c.log.Error("session not created", "err", err)
		h.closeWith(ws, websocket.CloseInternalServerErr, "session failed")
		return
	}
	c.sess = sess
	c.log.Info("call connected", "parameters", len(start.CustomParameters))

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
	cancel(errSessionEnded)
	wg.Wait()
	select {
	case <-readDone:
	case <-time.After(time.Second):
	}
	_ = ws.Close()
	<-readDone
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, errGone):
		c.log.Error("call ended", "err", runErr)
	case c.err != nil:
		c.log.Info("call ended", "reason", c.err)
	default:
		c.log.Info("call ended")
	}
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
			if h.cfg.token != "" && subtle.ConstantTimeCompare([]byte(m.Start.CustomParameters[TokenParameter]), []byte(h.cfg.token)) != 1 {
				return Start{}, fmt.Errorf("%w: stream token refused", ErrUnauthorized)
			}
			return *m.Start, nil
		default:
			return Start{}, fmt.Errorf("%w: %q before start", ErrNoStart, m.Event)
		}
	}
	return Start{}, fmt.Errorf("%w: too many messages before start", ErrNoStart)
}

func (h *Handler) closeWith(ws *websocket.Conn, code int, reason string) {
	if len(reason) > 120 {
		n := 120
		for n > 0 && !utf8.RuneStart(reason[n]) {
			n--
		}
		reason = reason[:n]
	}
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(h.cfg.writeTimeout))
}

// grace is how long a session may take to notice, by itself, that its
// connection ended before its context is cancelled.
const grace = 2 * time.Second

// endWhenGone cancels ctx with errGone once done has been closed for
// grace: a session busy elsewhere (a slow LLM call) still ends when the
// caller hangs up. It returns when ctx is done.
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
