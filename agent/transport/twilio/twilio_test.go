package twilio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Conn is what a session needs.
var (
	_ agent.Transport = (*Conn)(nil)
	_ agent.Marker    = (*Conn)(nil)
)

// TestTwilioStream plays Twilio's side of a call: μ-law speech in, the
// reply out with marks, a barge-in, and then: a clear before any audio of
// the next reply, no audio of the old reply after it, and only marks
// echoed before the clear counted as heard (Twilio also echoes the marks a
// clear discarded; those must not count).
func TestTwilioStream(t *testing.T) {
	auth := testAuth(t)
	u, sessions := serve(t, WithStreamAuth(auth))
	c := dial(t, u)
	c.start(map[string]string{"token": auth.Issue("CA0001"), "customer": "42"})
	s := <-sessions
	if st := s.conn.Start(); st.CallSid != "CA0001" || st.CustomParameters["customer"] != "42" {
		t.Fatalf("start %+v", st)
	}
	c.sendAudio(speech8k(t, "order_slt.wav"))
	c.sendAudio(make([]int16, 4000))

	// Play the reply: echo marks at once, as if played instantly.
	var echoed []string
	loud := 0
	for loud < 12 {
		m := c.Next()
		switch m.Event {
		case EventMedia:
			if m.StreamSid != "MZ0001" {
				t.Fatalf("media for stream %q", m.StreamSid)
			}
			if level(t, m) > -12 {
				loud++
			}
		case EventMark:
			c.send(Message{Event: EventMark, StreamSid: "MZ0001", Mark: m.Mark})
			echoed = append(echoed, m.Mark.Name)
		}
	}
	if len(echoed) == 0 {
		t.Fatal("no marks during the reply")
	}
	// Barge in; hold marks from now on, and echo them after the clear as
	// Twilio does for the audio a clear discards.
	c.sendAudio(speech8k(t, "stop_slt.wav"))
	var held []string
	cleared, quiet := false, 0
	for quiet < 5 {
		m := c.Next()
		switch m.Event {
		case EventClear:
			if m.StreamSid != "MZ0001" {
				t.Fatalf("clear for stream %q", m.StreamSid)
			}
			cleared = true
			for _, name := range held {
				c.send(Message{Event: EventMark, StreamSid: "MZ0001", Mark: &Mark{Name: name}})
			}
		case EventMark:
			if !cleared {
				held = append(held, m.Mark.Name)
			}
		case EventMedia:
			lvl := level(t, m)
			if cleared && lvl > -12 {
				t.Fatalf("old reply audio (%.1f dBFS) after clear", lvl)
			}
			if lvl < -20 && lvl > -60 {
				if !cleared {
					t.Fatalf("new reply audio (%.1f dBFS) before clear", lvl)
				}
				quiet++
			}
		}
	}
	c.send(Message{Event: EventStop, StreamSid: "MZ0001", Stop: &Stop{CallSid: "CA0001"}})
	if ce := c.Closed(); ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("close %d %q", ce.Code, ce.Text)
	}
	if err := <-s.ran; err != nil {
		t.Fatal(err)
	}
	// Heard: exactly the marks echoed while playing, by their session names.
	var want []string
	for _, w := range echoed {
		want = append(want, w[:strings.IndexByte(w, '#')])
	}
	if got := s.heard(); !slices.Equal(got, want) {
		t.Fatalf("heard %q, want %q (held and discarded: %q)", got, want, held)
	}
}

// testAuth returns a StreamAuth with a fixed test secret.
func testAuth(t *testing.T) *StreamAuth {
	t.Helper()
	a, err := NewStreamAuth([]byte("0123456789abcdef"), 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTwilioAuth opens streams with credentials that must be refused: none,
// the operator's kind of shared token, one for another call, and one used
// already.
func TestTwilioAuth(t *testing.T) {
	auth := testAuth(t)
	u, sessions := serve(t, WithStreamAuth(auth))
	good := auth.Issue("CA0001")
	c := dial(t, u)
	c.start(map[string]string{"token": good})
	<-sessions
	for name, cred := range map[string]string{
		"none":        "",
		"shared":      "s3cret",
		"other call":  auth.Issue("CA0002"),
		"used":        good,
		"tampered":    good[:len(good)-2] + "xx",
		"wrong order": strings.Replace(good, "v1.", "v2.", 1),
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, u)
			c.start(map[string]string{"token": cred})
			ce := c.Closed()
			if ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "unauthorized") {
				t.Fatalf("close %d %q", ce.Code, ce.Text)
			}
		})
	}
}

// TestStreamAuthExpiry checks the credential's lifetime on a fake clock.
func TestStreamAuthExpiry(t *testing.T) {
	a := testAuth(t)
	now := time.Unix(1_700_000_000, 0)
	a.now = func() time.Time { return now }
	cred := a.Issue("CA1")
	now = now.Add(31 * time.Second)
	if err := a.Check("CA1", cred); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired credential: %v", err)
	}
	if len(a.used) != 0 {
		t.Fatal("an expired credential was remembered")
	}
	cred = a.Issue("CA1")
	if err := a.Check("CA1", cred); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	_ = a.Check("CA2", a.Issue("CA2"))
	if _, ok := a.used[cred]; ok || len(a.used) != 1 {
		t.Fatalf("used credentials kept past their expiry: %d", len(a.used))
	}
	for _, secret := range [][]byte{nil, []byte("short")} {
		if _, err := NewStreamAuth(secret, time.Second); !errors.Is(err, ErrOption) {
			t.Errorf("secret %q: %v, want ErrOption", secret, err)
		}
	}
}

func TestTwilioNoStart(t *testing.T) {
	u, _ := serve(t, WithTimeouts(50*time.Millisecond, time.Second, time.Second))
	c := dial(t, u)
	c.send(Message{Event: EventConnected, Protocol: "Call", Version: "1.0.0"})
	if ce := c.Closed(); ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "no start") {
		t.Fatalf("close %d %q", ce.Code, ce.Text)
	}
}

// TestTwilioMalformed checks that malformed messages are survived until
// the error budget runs out, which ends the call.
func TestTwilioMalformed(t *testing.T) {
	u, sessions := serve(t, WithMaxErrors(3))
	c := dial(t, u)
	c.start(nil)
	s := <-sessions
	for _, bad := range []string{`{"event":`, `{"event":"dance"}`, `{"event":"media","media":{"payload":"!!"}}`} {
		c.sendRaw(bad)
	}
	// Still alive: a DTMF and audio go through.
	c.send(Message{Event: EventDTMF, DTMF: &DTMF{Track: "inbound_track", Digit: "5"}})
	c.sendRaw(`{"event":"mark"}`)
	select {
	case err := <-s.ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call not ended after too many malformed messages")
	}
	if ce := c.Closed(); ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "malformed") {
		t.Fatalf("close %d %q, want 1008 with the reason", ce.Code, ce.Text)
	}
}

func TestTwilioDTMF(t *testing.T) {
	digits := make(chan string, 4)
	u, sessions := serve(t, WithDTMF(func(s Session, digit string) {
		s.SendText("pressed " + digit)
		digits <- digit
	}))
	c := dial(t, u)
	c.start(nil)
	s := <-sessions
	c.send(Message{Event: EventDTMF, SequenceNumber: "5", DTMF: &DTMF{Track: "inbound_track", Digit: "0"}})
	select {
	case d := <-digits:
		if d != "0" {
			t.Fatalf("digit %q", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no DTMF")
	}
	c.send(Message{Event: EventStop, Stop: &Stop{}})
	if err := <-s.ran; err != nil {
		t.Fatal(err)
	}
	if s.texts[0] != "pressed 0" {
		t.Fatalf("texts %q", s.texts)
	}
}

// TestTwiML checks the TwiML: the configured stream URL whatever the Host
// header says, a credential for the call, the custom parameters, and no
// TwiML without a stream URL or, with credentials, without a CallSid.
func TestTwiML(t *testing.T) {
	auth := testAuth(t)
	h, err := NewTwiMLHandler(WithStreamURL("wss://hark.example/twilio/stream"), WithStreamCredentials(auth),
		WithParameter("line", "support & returns"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "http://attacker.example/twilio/voice", strings.NewReader("CallSid=CA9&From=%2B15550001"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Fatalf("content type %q", ct)
	}
	var resp struct {
		Connect struct {
			Stream struct {
				URL    string      `xml:"url,attr"`
				Params []Parameter `xml:"Parameter"`
			}
		}
	}
	body := rec.Body.String()
	if err := xml.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if resp.Connect.Stream.URL != "wss://hark.example/twilio/stream" || strings.Contains(body, "attacker") {
		t.Errorf("stream URL %q", resp.Connect.Stream.URL)
	}
	params := resp.Connect.Stream.Params
	if len(params) != 2 || params[0].Name != TokenParameter || params[1] != (Parameter{"line", "support & returns"}) {
		t.Fatalf("params %+v", params)
	}
	if err := auth.Check("CA9", params[0].Value); err != nil {
		t.Errorf("the TwiML's credential: %v", err)
	}
	if !strings.Contains(body, "<Response><Connect><Stream url=") {
		t.Errorf("body %s", body)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://hark.example/twilio/voice", nil))
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "Stream") {
		t.Errorf("no CallSid: %d %s", rec.Code, rec.Body.String())
	}

	for _, opts := range [][]TwiMLOption{
		{},
		{WithStreamURL("http://x")},
		{WithStreamURL("wss://x/s"), WithParameter("", "v")},
		{WithStreamURL("wss://x/s"), WithParameter(TokenParameter, "s3cret")},
		{WithStreamURL("wss://x/s"), WithSignatureValidation("", "https://x/v")},
		{WithStreamURL("wss://x/s"), WithSignatureValidation("tok", "")},
		{WithStreamURL("wss://x/s"), WithStreamCredentials(nil)},
	} {
		if _, err := NewTwiMLHandler(opts...); !errors.Is(err, ErrOption) {
			t.Errorf("%d options: err %v, want ErrOption", len(opts), err)
		}
	}
}

func TestTwiMLSignature(t *testing.T) {
	const token, public = "authtok", "https://hark.example/twilio/voice"
	h, err := NewTwiMLHandler(WithStreamURL("wss://hark.example/twilio/stream"), WithSignatureValidation(token, public))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"CallSid": {"CA1"}, "From": {"+15550001"}, "To": {"+15550002"}}
	for _, tc := range []struct {
		name string
		sig  string
		code int
	}{
		{"valid", base64.StdEncoding.EncodeToString(Signature(token, public, form)), http.StatusOK},
		{"wrong token", base64.StdEncoding.EncodeToString(Signature("other", public, form)), http.StatusForbidden},
		{"missing", "", http.StatusForbidden},
		{"garbage", "%%%", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://internal:8080/twilio/voice", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", tc.sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.code {
				b, _ := io.ReadAll(rec.Body)
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.code, b)
			}
		})
	}
}

func TestNewHandlerOptions(t *testing.T) {
	if _, err := NewHandler(nil); !errors.Is(err, ErrOption) {
		t.Error("nil constructor accepted")
	}
	ns := func(*http.Request, *Conn) (Session, error) { return nil, nil }
	for _, o := range []Option{WithStreamAuth(nil), WithMaxMessageBytes(1), WithMaxErrors(-1), WithTimeouts(0, 1, 1),
		WithLogger(nil), WithRateLimit(0, 1), WithMaxSessions(0), WithSendQueue(0, 1<<20)} {
		if _, err := NewHandler(ns, o); !errors.Is(err, ErrOption) {
			t.Errorf("err %v, want ErrOption", err)
		}
	}
}

func TestTwilioSessionFailed(t *testing.T) {
	h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return nil, nil }, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c.start(nil)
	if ce := c.Closed(); ce.Code != websocket.CloseInternalServerErr {
		t.Fatalf("close %d %q", ce.Code, ce.Text)
	}
}

// TestMediaMessage checks the hand-built media JSON, with a stream SID that
// needs escaping.
func TestMediaMessage(t *testing.T) {
	c := benchConn()
	c.start.StreamSid = `MZ"\<1>`
	c.mediaPrefix = mediaPrefix(c.start.StreamSid)
	samples := []int16{0, 1000, -1000, 32767, -32768}
	data := c.media(samples)
	m, err := ParseMessage(data)
	if err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	b, err := m.Media.Audio()
	if err != nil {
		t.Fatal(err)
	}
	if m.StreamSid != c.start.StreamSid || !bytes.Equal(b, g711.EncodeUlaw(nil, samples)) {
		t.Fatalf("message %s", data)
	}
	if err := c.WriteAudio(t.Context(), pcm.Frame{Format: pcm.Mono16k, Samples: samples}); !errors.Is(err, pcm.ErrFormat) {
		t.Fatalf("16 kHz frame: err %v", err)
	}
}

// TestTwilioTracks checks that only the caller's (inbound) audio reaches
// the session when Twilio streams both tracks.
func TestTwilioTracks(t *testing.T) {
	c := benchConn()
	loud := make([]int16, 160)
	for i := range loud {
		loud[i] = 8000
	}
	for _, track := range []string{"outbound", "inbound", ""} {
		m := Message{Event: EventMedia, Media: &Media{Track: track, Timestamp: "40",
			Payload: base64.StdEncoding.EncodeToString(g711.EncodeUlaw(nil, loud))}}
		if err := c.handle(m); err != nil {
			t.Fatal(err)
		}
	}
	c.core.Finish(nil) // ReadAudio returns what is queued, then io.EOF
	for range 2 {      // "inbound" and "" (a stream of the inbound track only)
		fr, err := c.ReadAudio(t.Context())
		if err != nil || fr.Timestamp != 40*time.Millisecond || len(fr.Samples) != 160 || fr.Format != pcm.Mono8k {
			t.Fatalf("frame %v %d %v, err %v", fr.Timestamp, len(fr.Samples), fr.Format, err)
		}
	}
	if _, err := c.ReadAudio(t.Context()); !errors.Is(err, io.EOF) {
		t.Fatalf("the outbound track reached the session (err %v)", err)
	}
}

// idleSession never reads audio, as a session stuck in a slow call.
type idleSession struct {
	fakeSession
	ended chan error
}

func (s *idleSession) Run(ctx context.Context) error {
	<-ctx.Done()
	s.ended <- context.Cause(ctx)
	return context.Cause(ctx)
}

// TestTwilioHangup: a session busy elsewhere still ends when the caller
// hangs up.
func TestTwilioHangup(t *testing.T) {
	idle := &idleSession{ended: make(chan error, 1)}
	h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return idle, nil }, WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c.start(nil)
	c.send(Message{Event: EventStop, Stop: &Stop{CallSid: "CA0001"}})
	select {
	case err := <-idle.ended:
		if !errors.Is(err, ErrGone) {
			t.Fatalf("session context ended with %v", err)
		}
	case <-time.After(wscore.Grace + 5*time.Second):
		t.Fatal("the session outlived the call")
	}
}

// loopSession stands for a session loop: it writes agent audio as fast as
// it can, with a mark every 50 frames and a flush every 200, until a call
// fails, and reports that failure.
type loopSession struct {
	fakeSession
	failed chan error
}

func (s *loopSession) Run(ctx context.Context) error {
	fr := pcm.Frame{Format: pcm.Mono8k, Samples: make([]int16, 160)}
	for i := 0; ; i++ {
		err := s.conn.WriteAudio(ctx, fr)
		if err == nil && i%50 == 49 {
			err = s.conn.Mark(ctx, "chunk", func() {})
		}
		if err == nil && i%200 == 199 {
			err = s.conn.Flush(ctx)
		}
		if err != nil {
			s.failed <- err
			return nil
		}
	}
}

// TestTwilioStopsReading: a stream that keeps sending media but reads
// nothing, with a write timeout of an hour, is disconnected once its send
// queue outgrows its bound; the session's calls keep returning.
func TestTwilioStopsReading(t *testing.T) {
	loop := &loopSession{failed: make(chan error, 1)}
	h, err := NewHandler(func(_ *http.Request, c *Conn) (Session, error) {
		loop.conn = c
		return loop, nil
	}, WithLogger(slog.New(slog.DiscardHandler)), WithTimeouts(time.Second, time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	for _, m := range startMessages(nil) { // and then never read
		if err := ws.WriteJSON(m); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-loop.failed:
		if !errors.Is(err, ErrStalled) {
			t.Fatalf("the session's call failed with %v, want ErrStalled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the session loop is held up by a stream that does not read")
	}
}

// lineCounter counts log lines whose message contains a word.
type lineCounter struct {
	word string
	mu   sync.Mutex
	n    int
}

func (l *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineCounter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lineCounter) WithGroup(string) slog.Handler            { return l }
func (l *lineCounter) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, l.word) {
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
	return nil
}

func (l *lineCounter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// TestTwilioFlood sends a stream's worth of media far faster than real
// time to a session that reads nothing: the overruns are logged a few
// times, not once per message; and a stream over the message rate limit is
// closed with 1008.
func TestTwilioFlood(t *testing.T) {
	overruns := &lineCounter{word: "overrun"}
	idle := &idleSession{ended: make(chan error, 1)}
	h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return idle, nil },
		WithLogger(slog.New(overruns)), WithRateLimit(1e6, 1e6))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	c.start(nil)
	payload := base64.StdEncoding.EncodeToString(make([]byte, 8)) // 1 ms of μ-law
	start := time.Now()
	for range 5000 {
		c.send(Message{Event: EventMedia, StreamSid: "MZ0001", Media: &Media{Track: "inbound", Payload: payload}})
	}
	c.send(Message{Event: EventStop, StreamSid: "MZ0001", Stop: &Stop{}})
	c.Closed()
	<-idle.ended
	// The first overrun at once, then at most one a second.
	if n, most := overruns.count(), 2+int(time.Since(start)/time.Second); n == 0 || n > most {
		t.Fatalf("%d overrun log lines for 5000 messages in %v, want 1 to %d", n, time.Since(start), most)
	}

	u, _ := serve(t, WithRateLimit(10, 20), WithMaxErrors(5))
	c = dial(t, u)
	c.start(nil)
	for range 100 {
		if c.write(Message{Event: EventMark, StreamSid: "MZ0001", Mark: &Mark{Name: "x"}}) != nil {
			break // closed already
		}
	}
	if ce := c.Closed(); ce.Code != websocket.ClosePolicyViolation || !strings.Contains(ce.Text, "per second") {
		t.Fatalf("close %d %q, want 1008 for the rate", ce.Code, ce.Text)
	}
}
