package robustness

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/energy"
)

// clip loads a flite test clip (16 kHz mono) at rate 16000 or 8000.
func clip(t testing.TB, name string, rate int) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Format != pcm.Mono16k {
		t.Fatalf("%s is %v, want 16 kHz mono", name, fr.Format)
	}
	if rate == 16000 {
		return fr.Samples
	}
	r, err := resample.New(16000, rate)
	if err != nil {
		t.Fatal(err)
	}
	return r.Process(nil, fr.Samples)
}

// discard is the handlers' logger: the tests check behaviour, not logs.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// energyVAD is the session's voice-activity model in these tests.
func energyVAD() (vad.Model, error) { return energy.New(16000) }

// tracked wraps a handler so a test can wait until every ServeHTTP call
// has returned: httptest.Server.Close does not wait for hijacked
// (WebSocket) connections.
type tracked struct {
	h  http.Handler
	wg sync.WaitGroup

	mu     sync.Mutex
	active int
}

func (t *tracked) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.wg.Add(1)
	defer t.wg.Done()
	t.mu.Lock()
	t.active++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.active--
		t.mu.Unlock()
	}()
	t.h.ServeHTTP(w, r)
}

// Active returns how many requests are being served.
func (t *tracked) Active() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.active
}

// wait waits until every request has been served, failing after d.
func (t *tracked) wait(tb testing.TB, d time.Duration) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		tb.Fatalf("%d handlers still running after %v", t.Active(), d)
	}
}

// serve starts h on 127.0.0.1 and returns its ws:// URL. The cleanup closes
// the server and waits for every handler to return.
func serve(t *testing.T, h http.Handler) (string, *tracked) {
	t.Helper()
	tr := &tracked{h: h}
	srv := httptest.NewServer(tr)
	t.Cleanup(func() {
		srv.Close()
		tr.wait(t, 10*time.Second)
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http"), tr
}

// message is one message a client received.
type message struct {
	binary bool
	data   []byte
	typ    string // "type" (device) or "event" (Twilio) of a JSON message
}

// client is the WebSocket side shared by the device and Twilio clients: a
// reader goroutine feeding msgs, and serialised writes.
type client struct {
	ws   *websocket.Conn
	msgs chan message
	done chan struct{} // closed when the reader has stopped
	err  error         // why the reader stopped; read after done

	writeMu sync.Mutex
}

// dialClient connects to url; typeField is the JSON key that names a
// message's type ("type" for devices, "event" for Twilio).
func dialClient(ctx context.Context, url, typeField string) (*client, error) {
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	c := &client{ws: ws, msgs: make(chan message, 8192), done: make(chan struct{})}
	go c.read(typeField)
	return c, nil
}

func (c *client) read(typeField string) {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		m := message{binary: kind == websocket.BinaryMessage, data: data}
		if !m.binary {
			var v map[string]any
			if err := json.Unmarshal(data, &v); err != nil {
				c.err = fmt.Errorf("server sent bad JSON %q: %w", data, err)
				return
			}
			m.typ, _ = v[typeField].(string)
		}
		select {
		case c.msgs <- m:
		default:
			c.err = errors.New("client message queue overflowed")
			return
		}
	}
}

func (c *client) write(kind int, b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	return c.ws.WriteMessage(kind, b)
}

func (c *client) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, b)
}

// drop cuts the TCP connection without a close frame, as a device losing
// power or network would.
func (c *client) drop() {
	_ = c.ws.NetConn().Close()
	<-c.done
}

// closeNormally sends a close frame and waits for the server to end the
// connection (or 5 s).
func (c *client) closeNormally() {
	c.writeMu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.writeMu.Unlock()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
	_ = c.ws.Close()
	<-c.done
}

// next returns the next message, or an error if none comes within d or the
// connection ends.
func (c *client) next(d time.Duration) (message, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case m := <-c.msgs:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m, nil
		default:
		}
		return message{}, fmt.Errorf("connection ended: %w", c.err)
	case <-t.C:
		return message{}, fmt.Errorf("no message within %v", d)
	}
}

// pcmBytes encodes samples as little-endian PCM16.
func pcmBytes(samples []int16) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	return b
}

// deviceAudio turns microphone samples into device binary messages.
type deviceAudio struct {
	enc *opus.Encoder // nil for pcm16
}

func newDeviceAudio(encoding string, rate int) (*deviceAudio, error) {
	if encoding != "opus" {
		return &deviceAudio{}, nil
	}
	enc, err := opus.NewEncoder(rate, 1)
	if err != nil {
		return nil, err
	}
	return &deviceAudio{enc: enc}, nil
}

// opusPacket is the duration of the Opus packets devices send.
const opusPacket = 40 * time.Millisecond

// messages returns the binary messages for samples: one for pcm16, one
// Opus packet per opusPacket for opus (len(samples) must be a multiple of
// it).
func (a *deviceAudio) messages(samples []int16, rate int) ([][]byte, error) {
	if a.enc == nil {
		return [][]byte{pcmBytes(samples)}, nil
	}
	n := rate * int(opusPacket/time.Millisecond) / 1000
	var out [][]byte
	for i := 0; i+n <= len(samples); i += n {
		pkt, err := a.enc.Encode(samples[i:i+n], nil)
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), pkt...))
	}
	return out, nil
}

// eventLog collects a session's events (from agent.WithEventHandler) for a
// test to wait on.
type eventLog struct {
	mu     sync.Mutex
	events []agent.Event
	signal chan struct{}
}

func newEventLog() *eventLog { return &eventLog{signal: make(chan struct{}, 1)} }

func (l *eventLog) add(ev agent.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// all returns the events so far.
func (l *eventLog) all() []agent.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]agent.Event(nil), l.events...)
}

// wait returns the first event at or after index from that match accepts,
// with its index, or an error after d.
func (l *eventLog) wait(from int, d time.Duration, match func(agent.Event) bool) (agent.Event, int, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		evs := l.all()
		for i := from; i < len(evs); i++ {
			if match(evs[i]) {
				return evs[i], i, nil
			}
		}
		select {
		case <-l.signal:
		case <-deadline.C:
			return agent.Event{}, 0, fmt.Errorf("no matching event within %v; got %s", d, summary(evs))
		}
	}
}

// summary lists event types compactly for failure messages.
func summary(evs []agent.Event) string {
	var b strings.Builder
	for i, ev := range evs {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(string(ev.Type))
		switch {
		case ev.Type == agent.EventState:
			b.WriteString("=" + string(ev.State))
		case ev.Text != "":
			fmt.Fprintf(&b, "=%q", ev.Text)
		}
	}
	return b.String()
}

func isType(t agent.EventType) func(agent.Event) bool {
	return func(ev agent.Event) bool { return ev.Type == t }
}
