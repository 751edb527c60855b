package wscore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/transport/internal/frameq"
	"github.com/harkvoice/hark/codecs/pcm"
)

// Why a connection ended, besides the transport's own protocol errors.
var (
	// ErrClosed reports a write to a connection that has ended.
	ErrClosed = errors.New("connection closed")
	// ErrStalled reports a peer that stopped reading: its queued output
	// outgrew the bounds in time or bytes, or it left a ping unanswered.
	ErrStalled = errors.New("peer stopped reading")
	// ErrShutdown reports that the server's context ended (close 1001).
	ErrShutdown = errors.New("server shutting down")
	// ErrSessionFailed reports a session that returned an error by itself
	// (close 1011).
	ErrSessionFailed = errors.New("session failed")

	// ErrGone is the cause of a session's context cancelled Grace after
	// its peer went away, for a session too busy to notice by itself.
	ErrGone = errors.New("peer gone")

	errSessionEnded = errors.New("session ended")
)

// Defaults of the Config fields left zero.
const (
	DefaultWriteTimeout  = 5 * time.Second
	DefaultMaxDelay      = 2 * time.Second
	DefaultMaxQueueBytes = 256 << 10
	DefaultSendBuffer    = 64 << 10
	DefaultInQueue       = 100 // 2 s of 20 ms frames
	DefaultMaxSessions   = 256
	// Grace is how long a session may take to notice by itself that its
	// peer has gone before its context is cancelled.
	Grace = 2 * time.Second
	// closeWait is how long Serve waits for the peer to answer its close
	// frame.
	closeWait = time.Second
	// reportEvery is how often input overruns are reported.
	reportEvery = time.Second
	// sparePackets is how many sent messages' storage a connection keeps
	// for Packet.
	sparePackets = 4
	// minPacket is the least capacity of new Packet storage, so that
	// storage serves packets of varying size.
	minPacket = 256
	// maxMarkName bounds the name part of a mark on the wire.
	maxMarkName = 96
)

// Config is one handler's settings for all its connections. Set it up once
// (SetDefaults) and do not change it while connections use it.
type Config struct {
	// WriteTimeout bounds each write.
	WriteTimeout time.Duration
	// ReadTimeout is the longest the peer may stay silent (no message,
	// no pong) before the connection is dropped.
	ReadTimeout time.Duration
	// PingInterval is how often to ping; zero sends no pings. A peer that
	// has not answered a ping when the next one is due has stopped
	// reading.
	PingInterval time.Duration
	// MaxDelay bounds how long one write may stay blocked on a peer that
	// does not read while more output waits.
	MaxDelay time.Duration
	// MaxQueueBytes bounds the bytes queued for the peer.
	MaxQueueBytes int
	// SendBuffer caps the kernel's send buffer for the connection (the
	// kernel may double it); negative leaves the system default.
	SendBuffer int
	// InQueue is how many decoded input frames wait for ReadAudio.
	InQueue int
	// CloseCode maps a reason the connection ended to its close frame;
	// ok false falls back to the defaults (nil: 1000, ErrShutdown: 1001,
	// ErrStalled: 1008, anything else: 1011).
	CloseCode func(reason error) (code int, text string, ok bool)
	// SessionFailed ends a connection whose session returned an error by
	// itself (it may queue a message for the peer first); nil ends it
	// with ErrSessionFailed.
	SessionFailed func(c *Conn, err error)
	// Farewell, if set, returns a last text message sent before the close
	// frame (nil for none).
	Farewell func(reason error) []byte
	// Log receives the connection's debug and end lines.
	Log *slog.Logger
	// MaxMessage is the largest message a peer may send; the transport
	// decides what a larger one costs.
	MaxMessage int
	// Rate and Burst are the message rate a peer may use (see Limiter);
	// the transport decides what a message over it costs.
	Rate  float64
	Burst int
	// CheckOrigin is the upgrade's origin check; nil keeps gorilla's
	// default (no Origin header, or the request's own host).
	CheckOrigin func(r *http.Request) bool
	// Subprotocols are the WebSocket subprotocols the server speaks, in
	// order of preference; the upgrade picks the first the client offers.
	Subprotocols []string

	// MaxSessions bounds the connections served at once; more are
	// refused with 503 Service Unavailable before the upgrade.
	MaxSessions int

	upgrader *websocket.Upgrader
	live     *atomic.Int64 // connections holding a slot
}

// SetDefaults fills the fields left zero.
func (cfg *Config) SetDefaults() {
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxQueueBytes == 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if cfg.SendBuffer == 0 {
		cfg.SendBuffer = DefaultSendBuffer
	}
	if cfg.InQueue == 0 {
		cfg.InQueue = DefaultInQueue
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.live = new(atomic.Int64)
	cfg.upgrader = &websocket.Upgrader{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096, CheckOrigin: cfg.CheckOrigin, Subprotocols: cfg.Subprotocols}
}

// Conn is one connection after its handshake.
type Conn struct {
	ws  *websocket.Conn
	cfg *Config
	log *slog.Logger
	in  *frameq.Queue

	done chan struct{} // closed when the connection ends
	once sync.Once
	err  error // why it ended; read after done is closed

	wake       chan struct{}       // the writer has something to send
	spare      frameq.Spares[byte] // sent messages' storage, for Packet
	pingUnseen atomic.Bool         // a ping went out and no pong came back yet
	// writing is when the write in progress began (Unix ns), zero between
	// writes: a write that stays blocked means the peer stopped reading.
	writing atomic.Int64

	// mu guards the queues, the generation and the marks: Flush bumps the
	// generation, drops the old generation's output and forgets its marks
	// in one step, so a flushed mark never counts as played.
	mu      sync.Mutex
	gen     uint64
	ctrl    []item
	data    []item
	queued  int // bytes in ctrl and data
	marks   map[string]func()
	markSeq uint64
}

// item is one queued message.
type item struct {
	kind int // websocket.TextMessage or BinaryMessage
	data []byte
	sent bool // queued by Send: its storage is reused once written
}

// New wraps ws, whose handshake is done, for cfg (already SetDefaults).
// log carries the connection's attributes.
func New(ws *websocket.Conn, cfg *Config, log *slog.Logger) *Conn {
	if cfg.SendBuffer > 0 && ws != nil {
		if tc, ok := rawConn(ws.NetConn()).(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(cfg.SendBuffer) // best effort: a cap, not a need
		}
	}
	return &Conn{
		ws:    ws,
		cfg:   cfg,
		log:   log,
		in:    frameq.New(cfg.InQueue, reportEvery),
		done:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
		spare: frameq.NewSpares[byte](sparePackets),
		marks: make(map[string]func()),
	}
}

// rawConn unwraps TLS and similar wrappers down to the network connection.
func rawConn(c net.Conn) net.Conn {
	for {
		w, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = w.NetConn()
	}
}

// Log returns the connection's logger.
func (c *Conn) Log() *slog.Logger { return c.log }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended (nil: normally); call it after Done
// is closed.
func (c *Conn) Err() error { return c.err }

// Finish ends the connection once, recording why; later calls do nothing.
func (c *Conn) Finish(reason error) {
	c.once.Do(func() {
		c.err = reason
		close(c.done)
		c.signal()
	})
}

// ended reports whether the connection has ended.
func (c *Conn) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Deliver queues a decoded input frame for ReadAudio without blocking; the
// oldest frame is dropped when the session is behind. It returns the drops
// when they are due to be reported.
func (c *Conn) Deliver(fr pcm.Frame) (frameq.Overrun, bool) { return c.in.Push(fr) }

// Buffer returns empty storage for n samples of a frame to Deliver: the
// storage of a frame the session has done with when there is one, so that
// steady input allocates nothing (see frameq).
func (c *Conn) Buffer(n int) []int16 { return c.in.Buffer(n) }

// ReadAudio returns the next input frame; io.EOF once the connection has
// ended and the frames received before are read.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) { return c.in.Pop(ctx, c.done) }

// Gen returns the current output generation.
func (c *Conn) Gen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Packet returns empty storage for a message of n bytes to Send: the
// storage of a message already written when there is one, so that steady
// output allocates nothing.
func (c *Conn) Packet(n int) []byte { return c.spare.Get(n, minPacket) }

// recycle keeps a sent message's storage for Packet once the message is
// written or dropped, unless enough is spare.
func (c *Conn) recycle(it item) {
	if !it.sent {
		return
	}
	c.spare.Put(it.data)
}

// Send queues a message of generation gen on the data lane (audio and
// marks, in order). A message of an old generation is dropped silently.
// The message's storage is the connection's from then on: it is reused
// (see Packet) once written or dropped.
func (c *Conn) Send(gen uint64, kind int, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	it := item{kind: kind, data: data, sent: true}
	if gen != c.gen && !c.ended() {
		c.recycle(it)
		return nil
	}
	return c.pushLocked(&c.data, it)
}

// Control queues a text message on the control lane, which the writer
// empties before sending any more of the data lane.
func (c *Conn) Control(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pushLocked(&c.ctrl, item{kind: websocket.TextMessage, data: msg})
}

// Flush starts a new generation: the data lane is emptied, pending marks
// are forgotten, and clear (the transport's clear message) is queued on the
// control lane, so the peer receives it before any later audio.
func (c *Conn) Flush(clearMsg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for i, it := range c.data {
		c.queued -= len(it.data)
		c.recycle(it)
		c.data[i] = item{}
	}
	c.data = c.data[:0]
	clear(c.marks)
	return c.pushLocked(&c.ctrl, item{kind: websocket.TextMessage, data: clearMsg})
}

// Mark queues a mark after the output queued so far. encode builds the
// transport's mark message for the name on the wire (name plus a
// sequence number); played runs when Played reports that name, unless a
// Flush came first.
func (c *Conn) Mark(name string, encode func(wire string) ([]byte, error), played func()) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markSeq++
	wire := Truncate(name, maxMarkName) + "#" + strconv.FormatUint(c.markSeq, 10)
	msg, err := encode(wire)
	if err != nil {
		return err
	}
	if err := c.pushLocked(&c.data, item{kind: websocket.TextMessage, data: msg}); err != nil {
		return err
	}
	c.marks[wire] = played
	return nil
}

// Played runs the callback of the mark named wire, once; unknown or
// flushed names are ignored.
func (c *Conn) Played(wire string) {
	c.mu.Lock()
	fn := c.marks[wire]
	delete(c.marks, wire)
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
}

// pushLocked appends a message to a lane unless the connection has ended
// or the peer has stalled, which it then disconnects.
func (c *Conn) pushLocked(lane *[]item, it item) error {
	if c.ended() {
		return ErrClosed
	}
	now := time.Now()
	var stalled error
	switch {
	case c.queued+len(it.data) > c.cfg.MaxQueueBytes:
		stalled = fmt.Errorf("%w: over %d bytes queued", ErrStalled, c.cfg.MaxQueueBytes)
	case c.blocked(now):
		stalled = fmt.Errorf("%w: a write blocked over %v", ErrStalled, c.cfg.MaxDelay)
	}
	if stalled != nil {
		c.stall(stalled)
		return stalled
	}
	*lane = append(*lane, it)
	c.queued += len(it.data)
	c.signal()
	return nil
}

// blocked reports whether the write in progress has been blocked longer
// than MaxDelay. (A writer merely waiting for the CPU is not in a write.)
func (c *Conn) blocked(now time.Time) bool {
	start := c.writing.Load()
	return start != 0 && now.Sub(time.Unix(0, start)) > c.cfg.MaxDelay
}

// stall ends the connection of a peer that stopped reading and closes its
// socket, which also aborts a write blocked on it: nothing more can reach
// such a peer, not even a close frame.
func (c *Conn) stall(reason error) {
	c.Finish(reason)
	if c.ws != nil {
		_ = rawConn(c.ws.NetConn()).Close()
	}
}

// signal wakes the writer.
func (c *Conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// next takes the next message to send, control first.
func (c *Conn) next() (item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lane := &c.ctrl
	if len(*lane) == 0 {
		lane = &c.data
	}
	if len(*lane) == 0 {
		return item{}, false
	}
	return c.takeLocked(lane), true
}

// takeLocked removes the first message of a lane, which keeps its
// storage (a lane that advanced through its array would outgrow it every
// few messages).
func (c *Conn) takeLocked(lane *[]item) item {
	it := (*lane)[0]
	n := copy(*lane, (*lane)[1:])
	(*lane)[n] = item{}
	*lane = (*lane)[:n]
	c.queued -= len(it.data)
	return it
}

// nextControl takes the next control message.
func (c *Conn) nextControl() (item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ctrl) == 0 {
		return item{}, false
	}
	return c.takeLocked(&c.ctrl), true
}

// KeptMessage is the largest storage a transport keeps for reading the
// next message into (see ReadInto): enough for audio and control
// messages, not for an image a peer sends once.
const KeptMessage = 4 << 10

// ReadInto reads a message to its end, or to its first limit+1 bytes, into
// buf's storage (grown as needed) and returns it: a transport that keeps
// the storage for the next message reads steady audio without allocating.
func ReadInto(r io.Reader, limit int, buf []byte) ([]byte, error) {
	data := buf[:0]
	if cap(data) == 0 {
		data = make([]byte, 0, 512)
	}
	for len(data) <= limit {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):min(cap(data), limit+1)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return data, nil
}

// Handler handles one message from the peer: kind is
// websocket.TextMessage or BinaryMessage, r its payload. io.EOF ends the
// connection normally (the peer said goodbye); another error ends it with
// that reason.
type Handler func(kind int, r io.Reader) error

// Serve runs the session (run) over the connection and closes it: the
// writer, the reader (which passes each message to handle) and the
// watchdog that cancels run's context Grace after the peer has gone. ctx
// is the request's: when it ends, the peer gets close 1001. Serve returns
// once every goroutine it started has returned.
func (c *Conn) Serve(ctx context.Context, run func(context.Context) error, handle Handler) {
	if c.cfg.PingInterval > 0 {
		c.ws.SetPongHandler(func(string) error {
			c.pingUnseen.Store(false)
			return c.ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
		})
	}
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	readDone := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.writeLoop(ctx)
	}()
	go func() {
		defer close(readDone)
		c.readLoop(handle)
	}()
	go func() {
		defer wg.Done()
		c.endWhenGone(ctx, cancel)
	}()
	runErr := run(ctx)
	if runErr != nil && ctx.Err() == nil {
		if c.cfg.SessionFailed != nil {
			c.cfg.SessionFailed(c, runErr)
		}
		c.Finish(fmt.Errorf("%w: %w", ErrSessionFailed, runErr))
	}
	cancel(errSessionEnded)
	wg.Wait() // the writer has sent the close frame
	select {
	case <-readDone: // the peer answered the close
	case <-time.After(closeWait):
	}
	_ = c.ws.Close()
	<-readDone
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, ErrGone):
		c.log.Error("session ended", "err", runErr)
	case c.err != nil:
		c.log.Info("connection ended", "reason", c.err)
	default:
		c.log.Info("connection ended")
	}
}

// endWhenGone cancels ctx Grace after the connection ended: a session busy
// elsewhere (a slow LLM call) still ends when its peer goes away. It
// returns when ctx is done.
func (c *Conn) endWhenGone(ctx context.Context, cancel context.CancelCauseFunc) {
	select {
	case <-ctx.Done():
		return
	case <-c.done:
	}
	t := time.NewTimer(Grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		cancel(ErrGone)
	}
}

// writeLoop sends queued messages, control first, and pings, until the
// connection ends; then it says goodbye.
func (c *Conn) writeLoop(ctx context.Context) {
	var tick <-chan time.Time
	if c.cfg.PingInterval > 0 {
		t := time.NewTicker(c.cfg.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		if ctx.Err() != nil && !c.ended() {
			c.finishCtx(ctx)
		}
		if c.ended() {
			c.goodbye()
			return
		}
		var err error
		if it, ok := c.next(); ok {
			err = c.write(it)
			c.recycle(it)
		} else {
			select {
			case <-c.wake:
			case <-c.done:
			case <-ctx.Done():
				c.finishCtx(ctx)
			case <-tick:
				if c.pingUnseen.Swap(true) {
					c.stall(fmt.Errorf("%w: a ping went unanswered for %v", ErrStalled, c.cfg.PingInterval))
					return
				}
				err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.WriteTimeout))
			}
		}
		if err != nil {
			if !c.ended() {
				c.log.Debug("write failed", "err", err)
				c.Finish(fmt.Errorf("write: %w", err))
			}
			return
		}
	}
}

// finishCtx ends the connection because ctx ended: normally when the
// session returned, with ErrShutdown when the server's context ended.
func (c *Conn) finishCtx(ctx context.Context) {
	if errors.Is(context.Cause(ctx), errSessionEnded) {
		c.Finish(nil)
		return
	}
	c.Finish(ErrShutdown)
}

// goodbye sends the queued control messages, the farewell and a close
// frame that gives the end reason. Write errors no longer matter here.
func (c *Conn) goodbye() {
	if errors.Is(c.err, ErrStalled) {
		return // nothing reaches a peer that does not read
	}
	for {
		it, ok := c.nextControl()
		if !ok {
			break
		}
		if c.write(it) != nil {
			return
		}
	}
	if c.cfg.Farewell != nil {
		if msg := c.cfg.Farewell(c.err); msg != nil && c.write(item{kind: websocket.TextMessage, data: msg}) != nil {
			return
		}
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, c.closeFrame(c.err), time.Now().Add(c.cfg.WriteTimeout))
}

// closeFrame returns the close message for an end reason.
func (c *Conn) closeFrame(reason error) []byte {
	if c.cfg.CloseCode != nil {
		if code, text, ok := c.cfg.CloseCode(reason); ok {
			return CloseMessage(code, text)
		}
	}
	switch {
	case reason == nil:
		return CloseMessage(websocket.CloseNormalClosure, "")
	case errors.Is(reason, ErrShutdown):
		return CloseMessage(websocket.CloseGoingAway, "server shutting down")
	case errors.Is(reason, ErrStalled):
		return CloseMessage(websocket.ClosePolicyViolation, reason.Error())
	case errors.Is(reason, ErrSessionFailed):
		return CloseMessage(websocket.CloseInternalServerErr, "session failed")
	}
	return CloseMessage(websocket.CloseInternalServerErr, reason.Error())
}

func (c *Conn) write(it item) error {
	now := time.Now()
	if err := c.ws.SetWriteDeadline(now.Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	c.writing.Store(now.UnixNano())
	defer c.writing.Store(0)
	return c.ws.WriteMessage(it.kind, it.data)
}

// readLoop passes the peer's messages to handle until the connection ends.
func (c *Conn) readLoop(handle Handler) {
	for {
		if c.cfg.ReadTimeout > 0 {
			_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
		}
		kind, r, err := c.ws.NextReader()
		if err != nil {
			c.Finish(readError(err))
			return
		}
		if err := handle(kind, r); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			c.Finish(err)
			c.drain()
			return
		}
	}
}

// drain reads and discards what the peer still sends once the end of the
// connection is decided, until the peer answers the close frame or Serve
// closes the connection (closeWait): a socket closed with unread data
// resets the connection, and the reset can destroy the close frame on
// its way to the peer.
func (c *Conn) drain() {
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			return
		}
	}
}

// readError maps the end of reading to the connection's end reason: a
// normal close by the peer is no error.
func readError(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return nil
	}
	return fmt.Errorf("read: %w", err)
}

// CloseMessage formats a close frame, its text cut to fit the 123 bytes a
// close frame allows.
func CloseMessage(code int, text string) []byte {
	return websocket.FormatCloseMessage(code, Truncate(text, 120))
}

// Reject refuses a peer during its handshake: it writes msg (if any) and a
// close frame, each bounded by timeout.
func Reject(ws *websocket.Conn, timeout time.Duration, msg []byte, code int, text string) {
	if msg != nil {
		if WriteNow(ws, timeout, msg) != nil {
			return
		}
	}
	_ = ws.WriteControl(websocket.CloseMessage, CloseMessage(code, text), time.Now().Add(timeout))
}

// WriteNow writes a text message during the handshake, before the writer
// runs.
func WriteNow(ws *websocket.Conn, timeout time.Duration, msg []byte) error {
	if err := ws.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	return ws.WriteMessage(websocket.TextMessage, msg)
}

// Truncate shortens s to at most n bytes on a rune boundary, marking the
// cut with an ellipsis.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
