package rtserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakes are the scripted engines of a test session.
type fakes struct {
	stt *agenttest.STT
	llm *agenttest.LLM
	tts *agenttest.TTS
}

// server runs a Handler on 127.0.0.1 whose sessions use f; sessions
// records them.
type server struct {
	*httptest.Server
	url      string
	cert     *tls.Certificate
	mu       sync.Mutex
	sessions []*agent.Session
}

func newServer(t *testing.T, f fakes, opts ...Option) *server {
	t.Helper()
	return newServerWith(t, func(c *Conn) []agent.Option {
		return []agent.Option{agent.WithSTT(f.stt), agent.WithLLM(c.LLM(f.llm)), agent.WithTTS(c.TTS(f.tts)),
			agent.WithVAD(agenttest.NewLevelModel())}
	}, opts...)
}

// newServerWith runs a Handler whose sessions take the options sessOpts
// returns for their connection.
func newServerWith(t *testing.T, sessOpts func(c *Conn) []agent.Option, opts ...Option) *server {
	t.Helper()
	return startServer(t, &server{}, sessOpts, opts...)
}

// startServer starts s, over TLS when s.cert is set.
func startServer(t *testing.T, s *server, sessOpts func(c *Conn) []agent.Option, opts ...Option) *server {
	t.Helper()
	h, err := NewHandler(func(r *http.Request, c *Conn) (Session, error) {
		sess, err := agent.New(c, sessOpts(c)...)
		if err == nil {
			s.mu.Lock()
			s.sessions = append(s.sessions, sess)
			s.mu.Unlock()
		}
		return sess, err
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/realtime", h)
	s.Server = httptest.NewUnstartedServer(mux)
	if s.cert != nil {
		s.TLS = &tls.Config{Certificates: []tls.Certificate{*s.cert}}
		s.StartTLS()
	} else {
		s.Start()
	}
	s.url = "ws" + strings.TrimPrefix(s.Server.URL, "http") + "/v1/realtime?model=gpt-realtime"
	t.Cleanup(s.Close)
	return s
}

// session returns the i-th session made.
func (s *server) session(i int) *agent.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[i]
}

// client is a test client of the protocol.
type client struct {
	t   *testing.T
	wmu sync.Mutex // serialises writes
	ws  *websocket.Conn
	evs chan realtimeapi.Event
	raw chan []byte
}

func dial(t *testing.T, url string, header http.Header) *client {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	c := &client{t: t, ws: ws, evs: make(chan realtimeapi.Event, 4096), raw: make(chan []byte, 4096)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(c.evs)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			ev, err := realtimeapi.DecodeServer(data)
			if err != nil {
				t.Errorf("server event does not decode: %v: %s", err, data)
				continue
			}
			c.raw <- data
			c.evs <- ev
		}
	}()
	t.Cleanup(func() {
		_ = ws.Close()
		<-done
	})
	return c
}

// send sends a client event.
func (c *client) send(ev realtimeapi.Event) {
	c.t.Helper()
	b, err := realtimeapi.Marshal(ev)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.write(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

// sendRaw sends a text message as is.
func (c *client) sendRaw(s string) {
	c.t.Helper()
	if err := c.write(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) write(kind int, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(kind, b)
}

// errTimeout reports an event that did not come.
var errTimeout = errors.New("no such event within the deadline")

// until reads events until one of type typ, returning it and the types of
// all events read (typ included).
func (c *client) until(typ string) (realtimeapi.Event, []string) {
	c.t.Helper()
	var seen []string
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-c.evs:
			if !ok {
				c.t.Fatalf("connection closed waiting for %s; saw %v", typ, seen)
			}
			<-c.raw
			seen = append(seen, ev.EventType())
			if ev.EventType() == typ {
				return ev, seen
			}
		case <-deadline:
			c.t.Fatalf("%v: %s; saw %v", errTimeout, typ, seen)
		}
	}
}

// speak appends d of speech then silence, as 20 ms events of 24 kHz PCM.
func (c *client) speak(speech, silence time.Duration) {
	c.t.Helper()
	audio := append(agenttest.Speech(speech, 24000, 7), agenttest.Silence(silence, 24000)...)
	for i := 0; i < len(audio); i += 480 {
		c.send(&realtimeapi.InputAudioBufferAppend{Audio: realtimeapi.EncodePCM16(audio[i:min(i+480, len(audio))])})
	}
}

// jsonOf returns ev's JSON.
func jsonOf(t *testing.T, ev realtimeapi.Event) string {
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runCtx is a context for a test's sessions.
func runCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// text is a scripted reply.
func text(s string) []pipeline.Delta { return agenttest.Text(s) }

// mic streams 20 ms of 24 kHz audio every 20 ms, as a microphone: what
// say queued, else silence. It stops when the test ends.
type mic struct {
	mu    sync.Mutex
	queue []int16
}

func (c *client) mic() *mic {
	m := &mic{}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		silence := make([]int16, 480)
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			m.mu.Lock()
			frame := silence
			if len(m.queue) > 0 {
				frame = m.queue[:min(480, len(m.queue))]
				m.queue = m.queue[len(frame):]
			}
			m.mu.Unlock()
			b, _ := realtimeapi.Marshal(&realtimeapi.InputAudioBufferAppend{Audio: realtimeapi.EncodePCM16(frame)})
			if c.write(websocket.TextMessage, b) != nil {
				return
			}
		}
	}()
	c.t.Cleanup(func() {
		close(stop)
		<-done
	})
	return m
}

// say queues samples (24 kHz) after what is queued.
func (m *mic) say(samples []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queue = append(m.queue, samples...)
}
