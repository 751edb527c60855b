package wscore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// queueConn is a connection without a socket, to look at its queues.
func queueConn() *Conn {
	cfg := &Config{Log: discard()}
	cfg.SetDefaults()
	return New(nil, cfg, discard())
}

// drain takes every queued message, in the order the writer would send
// them.
func drain(c *Conn) []string {
	var out []string
	for {
		it, ok := c.next()
		if !ok {
			return out
		}
		out = append(out, string(it.data))
	}
}

// TestLanes checks the order of the two lanes and what Flush does to
// them: control messages go out before queued audio, Flush drops the
// audio and marks of the old generation and forgets their callbacks, and
// output of the old generation written after the Flush never reaches the
// peer.
func TestLanes(t *testing.T) {
	c := queueConn()
	played := map[string]int{}
	mark := func(name string) string {
		var wire string
		err := c.Mark(name, func(w string) ([]byte, error) {
			wire = w
			return []byte("mark " + w), nil
		}, func() { played[name]++ })
		if err != nil {
			t.Fatal(err)
		}
		return wire
	}
	old := c.Gen()
	for _, s := range []string{"a1", "a2"} {
		if err := c.Send(old, websocket.BinaryMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	m1 := mark("m1")
	if err := c.Control([]byte("event")); err != nil {
		t.Fatal(err)
	}
	if got, want := drain(c), []string{"event", "a1", "a2", "mark " + m1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sent %q, want %q", got, want)
	}
	c.Played(m1)
	c.Played(m1) // a repeated echo counts once
	if played["m1"] != 1 {
		t.Fatalf("m1 played %d times", played["m1"])
	}

	if err := c.Send(old, websocket.BinaryMessage, []byte("a3")); err != nil {
		t.Fatal(err)
	}
	m2 := mark("m2")
	if err := c.Flush([]byte("clear")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(old, websocket.BinaryMessage, []byte("late")); err != nil { // encoded before the flush
		t.Fatal(err)
	}
	if err := c.Send(c.Gen(), websocket.BinaryMessage, []byte("b1")); err != nil {
		t.Fatal(err)
	}
	if got, want := drain(c), []string{"clear", "b1"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after Flush sent %q, want %q", got, want)
	}
	c.Played(m2) // Twilio echoes the marks a clear discarded
	if played["m2"] != 0 {
		t.Fatal("a flushed mark counted as played")
	}
	if c.queued != 0 {
		t.Fatalf("%d bytes counted as queued in empty queues", c.queued)
	}
}

// TestPacketReuse checks that a sent message's storage comes back for
// Packet once written or flushed, a control message's never, and that
// steady output allocates nothing.
func TestPacketReuse(t *testing.T) {
	c := queueConn()
	send := func(kind int, n int) []byte {
		p := c.Packet(n)[:n]
		if err := c.Send(c.Gen(), kind, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func() { // what the writer does with a message
		it, ok := c.next()
		if !ok {
			t.Fatal("nothing queued")
		}
		c.recycle(it)
	}
	written := send(websocket.BinaryMessage, 100)
	write()
	if p := c.Packet(60); &p[:1][0] != &written[0] {
		t.Fatal("a written message's storage did not come back")
	}
	flushed := send(websocket.BinaryMessage, 80)
	if err := c.Flush([]byte("clear")); err != nil {
		t.Fatal(err)
	}
	if p := c.Packet(80); &p[:1][0] != &flushed[0] {
		t.Fatal("a flushed message's storage did not come back")
	}
	write() // the clear
	event := []byte("event")
	if err := c.Control(event); err != nil {
		t.Fatal(err)
	}
	write()
	if p := c.Packet(5); &p[:1][0] == &event[0] {
		t.Fatal("a control message's storage was reused")
	}
	if n := testing.AllocsPerRun(100, func() {
		send(websocket.BinaryMessage, 70)
		write()
	}); n != 0 {
		t.Errorf("steady output allocates %.1f times per message", n)
	}
}

// TestQueueBounds checks that a peer whose queue outgrows its bounds in
// bytes or in time is disconnected, and that the call that found out
// returns at once with ErrStalled.
func TestQueueBounds(t *testing.T) {
	c := queueConn()
	c.cfg.MaxQueueBytes = 1000
	var err error
	for i := 0; err == nil && i < 100; i++ {
		err = c.Send(0, websocket.BinaryMessage, make([]byte, 100))
	}
	if !errors.Is(err, ErrStalled) || !errors.Is(c.Err(), ErrStalled) {
		t.Fatalf("bytes: Send %v, connection %v; want ErrStalled", err, c.Err())
	}
	if err := c.Control([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the stall: %v, want ErrClosed", err)
	}

	c = queueConn()
	c.cfg.MaxDelay = time.Millisecond
	if err := c.Control([]byte("first")); err != nil {
		t.Fatal(err)
	}
	c.writing.Store(time.Now().Add(-time.Second).UnixNano()) // a write blocked for a second
	if err := c.Send(0, websocket.BinaryMessage, []byte("a")); !errors.Is(err, ErrStalled) {
		t.Fatalf("time: Send %v, want ErrStalled", err)
	}
}

func TestCloseFrame(t *testing.T) {
	c := queueConn()
	for _, tc := range []struct {
		reason error
		code   int
	}{
		{nil, websocket.CloseNormalClosure},
		{ErrShutdown, websocket.CloseGoingAway},
		{fmt.Errorf("%w: x", ErrStalled), websocket.ClosePolicyViolation},
		{fmt.Errorf("%w: boom", ErrSessionFailed), websocket.CloseInternalServerErr},
		{errors.New("write: broken pipe"), websocket.CloseInternalServerErr},
	} {
		msg := c.closeFrame(tc.reason)
		if code := int(msg[0])<<8 | int(msg[1]); code != tc.code {
			t.Errorf("%v: close %d, want %d", tc.reason, code, tc.code)
		}
	}
	if n := len(CloseMessage(websocket.CloseGoingAway, strings.Repeat("é", 200))); n > 125 {
		t.Errorf("close frame of %d bytes; the limit is 125", n)
	}
}

// served is one connection of a test server, as a session sees it.
type served struct {
	c       *Conn
	handled chan struct{} // closed when Serve has returned
}

// serveOne starts a server whose single connection runs run; the peer
// reads nothing unless the test does. The returned client's socket has a
// small receive buffer, so a peer that stops reading backs up quickly.
func serveOne(t *testing.T, base context.Context, cfg *Config, run func(context.Context, *Conn) error) (*websocket.Conn, chan served) {
	t.Helper()
	cfg.Log = discard()
	cfg.SetDefaults()
	conns := make(chan served, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, done := cfg.Accept(w, r)
		if ws == nil {
			return
		}
		defer done()
		c := New(ws, cfg, discard())
		s := served{c: c, handled: make(chan struct{})}
		defer close(s.handled)
		conns <- s
		c.Serve(r.Context(), func(ctx context.Context) error { return run(ctx, c) }, func(int, io.Reader) error { return nil })
	}))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	t.Cleanup(srv.Close)
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return nc, err
	}}
	ws, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { ws.Close() })
	return ws, conns
}

// TestStalledPeer runs a session loop as fast as it can against a peer
// that stops reading, with a write timeout of an hour: every call on the
// session's side (audio, events, flushes) returns, the peer is
// disconnected once its queue outgrows a bound, and Serve returns. Before
// the queues were bounded, the loop blocked for the write timeout.
func TestStalledPeer(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		// pace is how long the loop waits between frames.
		pace time.Duration
		// why is part of the stall's reason.
		why string
	}{
		{"bytes", Config{MaxQueueBytes: 64 << 10, MaxDelay: time.Hour}, 0, "bytes queued"},
		{"time", Config{MaxQueueBytes: 1 << 30, MaxDelay: 100 * time.Millisecond}, time.Millisecond, "blocked over"},
		{"ping", Config{MaxQueueBytes: 1 << 30, MaxDelay: time.Hour, PingInterval: 20 * time.Millisecond}, time.Millisecond, "ping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.WriteTimeout, cfg.SendBuffer = time.Hour, 4096
			loopErr := make(chan error, 1)
			_, conns := serveOne(t, context.Background(), &cfg, func(ctx context.Context, c *Conn) error {
				frame := make([]byte, 640) // 20 ms of 16 kHz PCM
				for i := 0; ; i++ {
					err := c.Send(c.Gen(), websocket.BinaryMessage, frame)
					if err == nil && i%50 == 49 {
						err = c.Control([]byte(`{"type":"state","state":"speaking"}`))
					}
					if err == nil && i%200 == 199 {
						err = c.Flush([]byte(`{"type":"clear"}`))
					}
					if err != nil {
						loopErr <- err
						return nil
					}
					if tc.pace > 0 {
						time.Sleep(tc.pace)
					}
				}
			})
			s := <-conns
			select {
			case err := <-loopErr:
				if !errors.Is(err, ErrStalled) && !errors.Is(err, ErrClosed) {
					t.Fatalf("the loop ended with %v, want ErrStalled", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the session loop is stuck behind a peer that does not read")
			}
			if !errors.Is(s.c.Err(), ErrStalled) || !strings.Contains(s.c.Err().Error(), tc.why) {
				t.Fatalf("connection ended with %v, want ErrStalled (%s)", s.c.Err(), tc.why)
			}
			select {
			case <-s.handled:
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return after the stall")
			}
		})
	}
}

// TestShutdown cancels the server's base context: the peer gets the
// farewell, then close 1001.
func TestShutdown(t *testing.T) {
	cfg := Config{Farewell: func(reason error) []byte {
		if errors.Is(reason, ErrShutdown) {
			return []byte("goodbye")
		}
		return nil
	}}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws, conns := serveOne(t, base, &cfg, func(ctx context.Context, _ *Conn) error {
		<-ctx.Done()
		return context.Cause(ctx)
	})
	s := <-conns
	cancel()
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "goodbye" {
		t.Fatalf("read %q, %v; want the farewell", msg, err)
	}
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("read %v, want close 1001", err)
	}
	<-s.handled
	if !errors.Is(s.c.Err(), ErrShutdown) {
		t.Fatalf("connection ended with %v", s.c.Err())
	}
}

// TestMaxSessions fills every slot: the next client is refused with 503
// before the upgrade, and gets a slot once one is free.
func TestMaxSessions(t *testing.T) {
	cfg := Config{MaxSessions: 1}
	release := make(chan struct{})
	first, conns := serveOne(t, context.Background(), &cfg, func(ctx context.Context, _ *Conn) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	s := <-conns
	url := "ws://" + first.RemoteAddr().String()
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second client: %v, %v; want 503", resp, err)
	}
	resp.Body.Close()
	close(release)
	<-s.handled
	ws, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("a client after the first left: %v", err)
	}
	resp.Body.Close()
	ws.Close()
	<-(<-conns).handled
}
