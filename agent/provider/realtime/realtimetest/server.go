package realtimetest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/realtimeapi"
)

// Reply scripts the transcription of one commit.
type Reply struct {
	// Text is the transcript.
	Text string
	// Deltas are the pieces streamed before the completed event; nil
	// splits Text after each space. The beta mode sends none.
	Deltas []string
	// FirstDelay is the wait after the commit before the first delta (or
	// the completed event); DeltaDelay the wait before each later event.
	FirstDelay time.Duration
	DeltaDelay time.Duration
	// Fail sends conversation.item.input_audio_transcription.failed with
	// this error in place of the completed event.
	Fail *realtimeapi.APIError
	// Error sends an error event with this error in place of the
	// transcript.
	Error *realtimeapi.APIError
	// Drop cuts the connection after DropAfter deltas.
	Drop      bool
	DropAfter int
	// Release, when not nil, holds the completed (or failed) event until
	// it is closed, so a test can look at the partial result first.
	Release <-chan struct{}
}

// Commit is one committed audio buffer.
type Commit struct {
	Format string // realtimeapi.FormatPCM, ...
	Audio  []byte // as sent: 16-bit little-endian PCM or G.711 bytes
	// Duration is the length of Audio.
	Duration time.Duration
}

// Connection is what one client connection sent.
type Connection struct {
	Query    url.Values
	Header   http.Header
	Events   []string              // types of the client events, in order
	Sessions []realtimeapi.Session // the session of each session.update
	Commits  []Commit
}

// Server is a fake Realtime API on 127.0.0.1. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the API base URL, ending in "/v1"; the WebSocket endpoint is
	// URL + "/realtime".
	URL string

	srv      *httptest.Server
	upgrader websocket.Upgrader
	done     chan struct{}
	once     sync.Once
	handlers sync.WaitGroup // httptest does not wait for hijacked connections

	mu      sync.Mutex
	key     string
	beta    bool
	refuse  []int
	replies []Reply
	def     Reply
	conns   []*Connection
	items   int
}

// NewServer starts a server. Close it when done.
func NewServer() *Server {
	s := &Server{done: make(chan struct{}), def: Reply{Text: "hello"}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server, ending every connection and delayed reply.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
		s.handlers.Wait()
	})
}

// RequireAPIKey refuses connections without "Authorization: Bearer key"
// (HTTP 401). An empty key accepts every connection.
func (s *Server) RequireAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// Beta switches to the older beta shape, as speaches speaks it: the
// session is configured with input_audio_transcription and a top-level
// turn_detection, audio is 24 kHz PCM only (an audio format in the session
// is refused with an error event), and transcripts come without deltas.
func (s *Server) Beta(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beta = on
}

// Refuse makes the next connections fail the upgrade, one HTTP status
// each.
func (s *Server) Refuse(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = append(s.refuse, statuses...)
}

// Transcription queues replies for the next commits, one each.
func (s *Server) Transcription(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

// SetDefault sets the reply used when the queue is empty (initially
// Reply{Text: "hello"}).
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = r
}

// Connections returns copies of the connections made so far.
func (s *Server) Connections() []Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Connection, len(s.conns))
	for i, c := range s.conns {
		out[i] = *c
		out[i].Events = append([]string(nil), c.Events...)
		out[i].Sessions = append([]realtimeapi.Session(nil), c.Sessions...)
		out[i].Commits = append([]Commit(nil), c.Commits...)
	}
	return out
}

// Commits returns every commit of every connection, in order.
func (s *Server) Commits() []Commit {
	var out []Commit
	for _, c := range s.Connections() {
		out = append(out, c.Commits...)
	}
	return out
}

func (s *Server) nextReply() Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.replies) == 0 {
		return s.def
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	if !strings.HasSuffix(r.URL.Path, "/v1/realtime") {
		http.Error(w, `{"error":{"type":"invalid_request_error","message":"not found"}}`, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	key, beta := s.key, s.beta
	status := 0
	if len(s.refuse) > 0 {
		status, s.refuse = s.refuse[0], s.refuse[1:]
	}
	s.mu.Unlock()
	if key != "" && r.Header.Get("Authorization") != "Bearer "+key {
		status = http.StatusUnauthorized
	}
	if status != 0 {
		http.Error(w, fmt.Sprintf(`{"error":{"type":"invalid_request_error","message":"refused with %d"}}`, status), status)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	rec := &Connection{Query: r.URL.Query(), Header: r.Header.Clone()}
	s.mu.Lock()
	s.conns = append(s.conns, rec)
	s.mu.Unlock()
	c := &conn{s: s, ws: ws, rec: rec, beta: beta, format: realtimeapi.FormatPCM, gone: make(chan struct{})}
	c.run()
}

// conn is one client connection.
type conn struct {
	s    *Server
	ws   *websocket.Conn
	rec  *Connection
	beta bool
	gone chan struct{} // closed when the connection is done
	wg   sync.WaitGroup

	wmu sync.Mutex // serialises writes

	// Owned by the read loop.
	format string
	buf    []byte
	last   string // the previous item id
}

func (c *conn) run() {
	defer func() {
		close(c.gone)
		_ = c.ws.Close()
		c.wg.Wait()
	}()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-c.s.done:
			_ = c.ws.Close()
		case <-stop:
		}
	}()
	session := realtimeapi.Session{Type: realtimeapi.SessionTranscription, ID: "sess_test", Object: "realtime.transcription_session"}
	if c.beta {
		session = realtimeapi.Session{ID: "sess_test", Object: "realtime.transcription_session"}
	}
	c.send(realtimeapi.SessionCreated{EventID: "event_0", Session: session})
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		ev, err := realtimeapi.DecodeClient(data)
		if err != nil {
			var de *realtimeapi.DecodeError
			id := ""
			if errors.As(err, &de) {
				id = de.EventID
			}
			c.fail("invalid_event", err.Error(), id)
			continue
		}
		c.s.mu.Lock()
		c.rec.Events = append(c.rec.Events, ev.EventType())
		c.s.mu.Unlock()
		c.handle(ev, data)
	}
}

func (c *conn) handle(ev realtimeapi.Event, data []byte) {
	switch ev := ev.(type) {
	case *realtimeapi.SessionUpdate:
		c.s.mu.Lock()
		c.rec.Sessions = append(c.rec.Sessions, ev.Session)
		c.s.mu.Unlock()
		c.update(ev)
	case *realtimeapi.InputAudioBufferAppend:
		b, err := base64.StdEncoding.DecodeString(ev.Audio)
		if err != nil {
			c.fail("invalid_value", "audio is not base64: "+err.Error(), ev.EventID)
			return
		}
		c.buf = append(c.buf, b...)
	case *realtimeapi.InputAudioBufferClear:
		c.buf = nil
		c.send(realtimeapi.InputAudioBufferCleared{})
	case *realtimeapi.InputAudioBufferCommit:
		c.commit(ev)
	default:
		var head struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal(data, &head)
		c.fail("invalid_value", ev.EventType()+" is not supported in a transcription session", head.EventID)
	}
}

// update applies a session.update.
func (c *conn) update(ev *realtimeapi.SessionUpdate) {
	ss := ev.Session
	if c.beta {
		if ss.Audio != nil || ss.InputAudioFormat != "" {
			c.fail("invalid_value", "Specifying the audio format is not supported.", ev.EventID)
			return
		}
		c.send(realtimeapi.SessionUpdated{Session: realtimeapi.Session{ID: "sess_test", InputAudioTranscription: ss.InputAudioTranscription, TurnDetection: ss.TurnDetection}})
		return
	}
	if ss.Type != realtimeapi.SessionTranscription {
		c.failParam("invalid_value", fmt.Sprintf("session.type must be %q in a transcription session, not %q", realtimeapi.SessionTranscription, ss.Type), "session.type", ev.EventID)
		return
	}
	if ss.Audio != nil && ss.Audio.Input != nil && ss.Audio.Input.Format != nil {
		f := ss.Audio.Input.Format
		switch {
		case f.Type == realtimeapi.FormatPCM && (f.Rate == 0 || f.Rate == 24000), f.Type == realtimeapi.FormatPCMU, f.Type == realtimeapi.FormatPCMA:
			c.format = f.Type
		default:
			c.failParam("invalid_value", fmt.Sprintf("unsupported audio format %+v", *f), "session.audio.input.format", ev.EventID)
			return
		}
	}
	out := ss
	out.ID, out.Object = "sess_test", "realtime.transcription_session"
	c.send(realtimeapi.SessionUpdated{Session: out})
}

// commit makes the buffer an item and transcribes it.
func (c *conn) commit(ev *realtimeapi.InputAudioBufferCommit) {
	bytesPerSecond := 8000
	if c.format == realtimeapi.FormatPCM {
		bytesPerSecond = 48000
	}
	d := time.Duration(len(c.buf)) * time.Second / time.Duration(bytesPerSecond)
	if d < 100*time.Millisecond {
		c.send(realtimeapi.ErrorEvent{Error: realtimeapi.APIError{
			Type: realtimeapi.ErrorInvalidRequest, Code: "input_audio_buffer_commit_empty", EventID: ev.EventID,
			Message: fmt.Sprintf("Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has %.2fms of audio.", float64(d)/float64(time.Millisecond)),
		}})
		return
	}
	c.s.mu.Lock()
	c.s.items++
	item := fmt.Sprintf("item_%d", c.s.items)
	c.rec.Commits = append(c.rec.Commits, Commit{Format: c.format, Audio: c.buf, Duration: d})
	c.s.mu.Unlock()
	c.buf = nil
	c.send(realtimeapi.InputAudioBufferCommitted{PreviousItemID: c.last, ItemID: item})
	c.last = item
	reply := c.s.nextReply()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.transcribe(item, reply)
	}()
}

// transcribe plays a scripted reply for an item.
func (c *conn) transcribe(item string, r Reply) {
	if !c.wait(r.FirstDelay) {
		return
	}
	if r.Error != nil {
		c.send(realtimeapi.ErrorEvent{Error: *r.Error})
		return
	}
	deltas := r.Deltas
	if deltas == nil && r.Text != "" {
		deltas = strings.SplitAfter(r.Text, " ")
	}
	if c.beta {
		deltas = nil
	}
	for i, d := range deltas {
		if r.Drop && i == r.DropAfter {
			_ = c.ws.UnderlyingConn().Close()
			return
		}
		if i > 0 && !c.wait(r.DeltaDelay) {
			return
		}
		c.send(realtimeapi.InputAudioTranscriptionDelta{ItemID: item, Delta: d})
	}
	if r.Drop {
		_ = c.ws.UnderlyingConn().Close()
		return
	}
	if len(deltas) > 0 && !c.wait(r.DeltaDelay) {
		return
	}
	if r.Release != nil {
		select {
		case <-r.Release:
		case <-c.gone:
			return
		case <-c.s.done:
			return
		}
	}
	if r.Fail != nil {
		c.send(realtimeapi.InputAudioTranscriptionFailed{ItemID: item, Error: *r.Fail})
		return
	}
	c.send(realtimeapi.InputAudioTranscriptionCompleted{ItemID: item, Transcript: r.Text,
		Usage: &realtimeapi.TranscriptionUsage{Type: "duration", Seconds: 1}})
}

// wait sleeps for d unless the connection or the server ends first.
func (c *conn) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.gone:
	case <-c.s.done:
	}
	return false
}

func (c *conn) send(ev realtimeapi.Event) {
	msg, err := realtimeapi.Marshal(ev)
	if err != nil {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_ = c.ws.WriteMessage(websocket.TextMessage, msg)
}

func (c *conn) fail(code, msg, eventID string) { c.failParam(code, msg, "", eventID) }

func (c *conn) failParam(code, msg, param, eventID string) {
	c.send(realtimeapi.ErrorEvent{Error: realtimeapi.APIError{Type: realtimeapi.ErrorInvalidRequest, Code: code, Message: msg, Param: param, EventID: eventID}})
}
