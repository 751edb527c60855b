package webrtc

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSession records what the client sent; RunFn is its conversation.
type fakeSession struct {
	RunFn func(ctx context.Context) error

	mu         sync.Mutex
	texts      []string
	images     []pipeline.Image
	interrupts int
	done       chan error // Run's result
}

func (s *fakeSession) Run(ctx context.Context) error {
	err := s.RunFn(ctx)
	s.done <- err
	return err
}

func (s *fakeSession) SendText(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, text)
}

func (s *fakeSession) SendImage(img pipeline.Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.images = append(s.images, img)
}

func (s *fakeSession) Interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interrupts++
}

// echoRun returns a Run that sends a state event, then writes every frame it
// reads back to the peer until ReadAudio fails.
func echoRun(c *Conn) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := c.SendEvent(agent.Event{Type: agent.EventState, State: agent.StateListening}); err != nil {
			return err
		}
		for {
			fr, err := c.ReadAudio(ctx)
			if err != nil {
				return err
			}
			if fr.Format != pcm.Mono48k || len(fr.Samples)%frameSamples != 0 {
				return errors.New("unexpected frame " + fr.Format.String())
			}
			if err := c.WriteAudio(ctx, fr); err != nil {
				return err
			}
		}
	}
}

// startServer runs a Handler with loopback ICE behind an httptest server.
func startServer(t *testing.T, run func(c *Conn) func(context.Context) error, opts ...Option) (*Handler, string, chan *fakeSession) {
	t.Helper()
	sessions := make(chan *fakeSession, 4)
	h, err := NewHandler(func(_ *http.Request, c *Conn) (Session, error) {
		s := &fakeSession{RunFn: run(c), done: make(chan error, 1)}
		sessions <- s
		return s, nil
	}, append([]Option{WithLoopbackOnly()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webrtc", h)
	mux.Handle("/webrtc/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h, srv.URL + "/webrtc", sessions
}

func tone(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rtpRate))
	}
	return s
}

func TestEchoConversation(t *testing.T) {
	h, url, sessions := startServer(t, echoRun)
	// Goroutines from here on must be gone once the session is deleted and
	// the client closed.
	before := goleak.IgnoreCurrent()
	c := newTestClient(t)
	defer c.close() // again, harmless, if the test stops early
	c.post(url)
	sess := <-sessions

	c.waitEvent(5*time.Second, "state", func(ev agent.Event) bool {
		return ev.Type == agent.EventState && ev.State == agent.StateListening
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := c.speak(ctx, tone(rtpRate/2)); err != nil {
		t.Fatal(err)
	}
	c.waitAudio(5*time.Second, 15)
	loud := 0
	for _, fr := range c.audio() {
		if pcm.DBFS(fr.samples) > -30 {
			loud++
		}
	}
	if loud < 10 {
		t.Errorf("only %d of the echoed frames carry the tone", loud)
	}
	c.mu.Lock()
	if c.markers < 1 {
		t.Error("no packet carried the RTP marker of a talkspurt start")
	}
	c.mu.Unlock()

	c.send(map[string]string{"type": "text", "text": "hello there"})
	c.send(map[string]any{"type": "image", "mime_type": "image/png", "data": []byte("\x89PNG fake")})
	c.send(map[string]string{"type": "stop"})
	c.send(map[string]string{"type": "dance"})
	ev := c.waitEvent(5*time.Second, "error", func(ev agent.Event) bool { return ev.Type == agent.EventError })
	if !strings.Contains(ev.Text, `unknown message type "dance"`) {
		t.Errorf("error event %q does not name the bad type", ev.Text)
	}
	sess.mu.Lock()
	if len(sess.texts) != 1 || sess.texts[0] != "hello there" {
		t.Errorf("texts = %q", sess.texts)
	}
	if len(sess.images) != 1 || sess.images[0].MIMEType != "image/png" || string(sess.images[0].Data) != "\x89PNG fake" {
		t.Errorf("images = %+v", sess.images)
	}
	if sess.interrupts != 1 {
		t.Errorf("interrupts = %d, want 1", sess.interrupts)
	}
	sess.mu.Unlock()

	if code := c.delete(); code != http.StatusOK {
		t.Fatalf("DELETE: %d", code)
	}
	if err := <-sess.done; !errors.Is(err, io.EOF) {
		t.Errorf("Run ended with %v, want io.EOF from ReadAudio", err)
	}
	if n := h.Sessions(); n != 0 {
		t.Errorf("%d sessions after DELETE", n)
	}
	if code := c.delete(); code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", code)
	}
	if err := h.Delete(path.Base(c.location)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Delete(unknown) = %v, want ErrNoSession", err)
	}
	c.close()
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}

func TestPeerCloseEndsSession(t *testing.T) {
	h, url, sessions := startServer(t, echoRun)
	before := goleak.IgnoreCurrent()
	c := newTestClient(t)
	c.post(url)
	sess := <-sessions
	c.close()
	select {
	case err := <-sess.done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Run ended with %v, want io.EOF", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("session still running after the peer closed")
	}
	for h.Sessions() != 0 {
		time.Sleep(10 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, before)
}

func TestConnectTimeout(t *testing.T) {
	_, url, sessions := startServer(t, echoRun, WithConnectTimeout(300*time.Millisecond))
	c := newTestClient(t)
	defer c.close()
	// Post the offer but never apply the answer: ICE cannot complete.
	res, err := http.Post(url, "application/sdp", strings.NewReader(c.offer()))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST: %s", res.Status)
	}
	err = <-(<-sessions).done
	var ce *ConnectError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConnectTimeout) {
		t.Fatalf("Run ended with %v, want a ConnectError", err)
	}
	if ce.Timeout != 300*time.Millisecond || !strings.Contains(ce.Error(), "did not connect within 300ms") {
		t.Errorf("unclear error: %v", ce)
	}
}

func TestSignallingErrors(t *testing.T) {
	_, url, sessions := startServer(t, echoRun, WithMaxSessions(1))
	post := func(ct, body string) *http.Response {
		res, err := http.Post(url, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	tests := []struct {
		name string
		do   func() *http.Response
		want int
	}{
		{"wrong content type", func() *http.Response { return post("application/json", "{}") }, http.StatusUnsupportedMediaType},
		{"not SDP", func() *http.Response { return post("application/sdp", "hello") }, http.StatusBadRequest},
		{"too large", func() *http.Response {
			return post("application/sdp", strings.Repeat("a", maxOfferSize+1))
		}, http.StatusRequestEntityTooLarge},
		{"GET", func() *http.Response {
			res, err := http.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}, http.StatusMethodNotAllowed},
		{"DELETE unknown", func() *http.Response {
			req, _ := http.NewRequest(http.MethodDelete, url+"/nosuchsession", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.do().StatusCode; got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("session limit", func(t *testing.T) {
		first := newTestClient(t)
		defer first.close()
		first.post(url)
		<-sessions
		second := newTestClient(t)
		defer second.close()
		if got := post("application/sdp", second.offer()).StatusCode; got != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", got)
		}
	})
}

// TestRepeatedOffers: a client that posts offers and never connects holds
// at most its pending slots; a client at another address still gets a
// session.
func TestRepeatedOffers(t *testing.T) {
	_, url, sessions := startServer(t, echoRun, WithMaxSessions(4), WithMaxPending(2), WithConnectTimeout(time.Minute))
	// The flood comes from 127.0.0.2 (loopback too).
	from := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}
	defer from.CloseIdleConnections()
	refused := 0
	for range 6 {
		flood := newTestClient(t)
		defer flood.close()
		res, err := from.Post(url, "application/sdp", strings.NewReader(flood.offer()))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			refused++
		}
	}
	if refused != 4 {
		t.Fatalf("%d of 6 unconnected offers refused, want 4 (2 pending slots)", refused)
	}
	<-sessions
	<-sessions
	honest := newTestClient(t)
	defer honest.close()
	honest.post(url)
	<-sessions
}

func TestNewSessionError(t *testing.T) {
	h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return nil, errors.New("no engines") }, WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	c := newTestClient(t)
	defer c.close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/webrtc", strings.NewReader(c.offer()))
	req.Header.Set("Content-Type", "application/sdp")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "no engines") {
		t.Errorf("got %d %q", rec.Code, rec.Body.String())
	}
	if h.Sessions() != 0 {
		t.Error("a failed session was registered")
	}
}

func TestOptionsValidate(t *testing.T) {
	run := func(*http.Request, *Conn) (Session, error) { return nil, nil }
	for _, o := range []Option{
		WithConnectTimeout(0), WithMaxSessions(0), WithMaxMessageSize(10), WithLogger(nil), WithICEServers(pionICEServer()),
		WithPublicIPs(), WithPublicIPs("example.org"), WithUDPPortRange(0, 10), WithUDPPortRange(20000, 10000),
	} {
		if _, err := NewHandler(run, o); !errors.Is(err, ErrOption) {
			t.Errorf("NewHandler: %v, want ErrOption", err)
		}
	}
	if _, err := NewHandler(run, WithLoopbackOnly(), WithPublicIPs("203.0.113.7")); !errors.Is(err, ErrOption) {
		t.Errorf("loopback with a public IP: %v, want ErrOption", err)
	}
	h, err := NewHandler(run, WithPublicIPs("203.0.113.7"), WithUDPPortRange(40000, 40100),
		WithICEServers(pion.ICEServer{URLs: []string{"stun:stun.example.org:3478"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Error(err)
	}
	if _, err := NewHandler(nil); !errors.Is(err, ErrOption) {
		t.Errorf("NewHandler(nil): %v, want ErrOption", err)
	}
}
