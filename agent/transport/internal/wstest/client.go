package wstest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Wait is how long Next and Closed wait before failing the test.
const Wait = 5 * time.Second

// Decoder turns one received message into the test's message type; an
// error ends the read loop (and becomes Err).
type Decoder[M any] func(kind int, data []byte) (M, error)

// Client is a WebSocket peer for a transport's tests. Its read loop and
// microphone end with the test.
type Client[M any] struct {
	t    testing.TB
	ws   *websocket.Conn
	msgs chan M
	done chan struct{}
	err  error // what ended the read loop; read after done

	writeMu sync.Mutex // gorilla allows one writer at a time
	micMu   sync.Mutex
	mic     []int16 // queued for the paced microphone
}

// Dial connects to url with header and starts the read loop.
func Dial[M any](t testing.TB, url string, header http.Header, decode Decoder[M]) *Client[M] {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	resp.Body.Close()
	c := &Client[M]{t: t, ws: ws, msgs: make(chan M, 4096), done: make(chan struct{})}
	go c.read(decode)
	t.Cleanup(func() {
		ws.Close()
		<-c.done
	})
	return c
}

func (c *Client[M]) read(decode Decoder[M]) {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err == nil {
			var m M
			if m, err = decode(kind, data); err == nil {
				c.msgs <- m
				continue
			}
		}
		c.err = err
		return
	}
}

// Conn is the underlying connection, for tests that misbehave on purpose.
func (c *Client[M]) Conn() *websocket.Conn { return c.ws }

// Messages is the channel of decoded messages.
func (c *Client[M]) Messages() <-chan M { return c.msgs }

// Done is closed when the read loop has ended; Err then tells why.
func (c *Client[M]) Done() <-chan struct{} { return c.done }

// Err is what ended the read loop; call it only after Done is closed.
func (c *Client[M]) Err() error { return c.err }

// Write sends one message, serialised with the microphone's.
func (c *Client[M]) Write(kind int, b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.ws.WriteMessage(kind, b)
}

// Send writes a message of kind, failing the test on an error.
func (c *Client[M]) Send(kind int, b []byte) {
	c.t.Helper()
	if err := c.Write(kind, b); err != nil {
		c.t.Fatal(err)
	}
}

// SendJSON writes v as a text message, failing the test on an error.
func (c *Client[M]) SendJSON(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.Send(websocket.TextMessage, b)
}

// Next returns the next message; messages received before the connection
// ended are still returned. It fails the test after Wait or once the
// connection has ended with nothing left.
func (c *Client[M]) Next() M {
	c.t.Helper()
	var zero M
	select {
	case m := <-c.msgs:
		return m
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatalf("connection ended: %v", c.err)
	case <-time.After(Wait):
		c.t.Fatalf("no message within %v", Wait)
	}
	return zero
}

// Closed waits for the server to end the connection and returns its close
// frame, failing the test if none came.
func (c *Client[M]) Closed() *websocket.CloseError {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(Wait):
		c.t.Fatal("server did not close")
	}
	var ce *websocket.CloseError
	if !errors.As(c.err, &ce) {
		c.t.Fatalf("connection ended without a close frame: %v", c.err)
	}
	return ce
}

// StartMic streams a microphone until the test ends: every 20 ms it takes
// n samples, queued by Say or else silence, and hands them to send, which
// writes them in the protocol's own form (through Write). A send error
// stops the microphone.
func (c *Client[M]) StartMic(n int, send func(frame []int16) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	c.t.Cleanup(func() {
		cancel()
		<-done
	})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			frame := make([]int16, n)
			c.micMu.Lock()
			k := copy(frame, c.mic)
			c.mic = c.mic[k:]
			c.micMu.Unlock()
			if send(frame) != nil {
				return
			}
		}
	}()
}

// Say queues samples for the microphone after what is queued.
func (c *Client[M]) Say(samples []int16) {
	c.micMu.Lock()
	defer c.micMu.Unlock()
	c.mic = append(c.mic, samples...)
}
