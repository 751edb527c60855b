package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/transport/internal/wstest"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

const (
	loudAmp  = 0.5
	quietAmp = 0.02
)

// fakeSession replies after the caller's speech ends, marking every fifth
// frame, and treats speech during the reply as a barge-in: it stops,
// flushes and speaks a short quiet reply.
type fakeSession struct {
	conn *Conn

	mu     sync.Mutex
	played []string // marks reported heard
	texts  []string
	ran    chan error
}

func (s *fakeSession) SendText(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, text)
}

func (s *fakeSession) Interrupt() {}

func (s *fakeSession) SendImage(pipeline.Image) {}

func (s *fakeSession) heard() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.played...)
}

func (s *fakeSession) Run(ctx context.Context) error {
	err := s.run(ctx)
	s.ran <- err
	return err
}

func (s *fakeSession) run(ctx context.Context) error {
	replying := false
	var speech, silence time.Duration
	var stopReply context.CancelFunc
	var replyDone chan struct{}
	defer func() {
		if stopReply != nil {
			stopReply()
			<-replyDone
		}
	}()
	for {
		fr, err := s.conn.ReadAudio(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		loud := pcm.DBFS(fr.Samples) > -35
		switch {
		case !replying && loud:
			speech += fr.Duration()
			silence = 0
		case !replying:
			silence += fr.Duration()
			if speech > 300*time.Millisecond && silence > 200*time.Millisecond {
				rctx, cancel := context.WithCancel(ctx)
				stopReply, replyDone = cancel, make(chan struct{})
				go func() {
					defer close(replyDone)
					s.speak(rctx, loudAmp, 1000, "loud")
				}()
				replying, speech = true, 0
			}
		case stopReply != nil && loud:
			if speech += fr.Duration(); speech < 100*time.Millisecond {
				continue
			}
			stopReply()
			<-replyDone
			stopReply = nil
			if err := s.conn.Flush(ctx); err != nil {
				return err
			}
			s.speak(ctx, quietAmp, 10, "quiet")
		case !loud:
			speech = 0
		}
	}
}

// speak writes n paced 20 ms frames of a 440 Hz tone, marking every fifth.
func (s *fakeSession) speak(ctx context.Context, amp float64, n int, name string) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var pos int
	for i := range n {
		fr := pcm.Frame{Format: pcm.Mono8k, Samples: make([]int16, 160)}
		for j := range fr.Samples {
			fr.Samples[j] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(pos)/8000))
			pos++
		}
		if s.conn.WriteAudio(ctx, fr) != nil {
			return
		}
		if i%5 == 4 {
			mark := name + "-" + string(rune('a'+i/5%26))
			err := s.conn.Mark(ctx, mark, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.played = append(s.played, mark)
			})
			if err != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func serve(t *testing.T, opts ...Option) (url string, sessions chan *fakeSession) {
	t.Helper()
	sessions = make(chan *fakeSession, 4)
	h, err := NewHandler(func(r *http.Request, c *Conn) (Session, error) {
		s := &fakeSession{conn: c, ran: make(chan error, 1)}
		sessions <- s
		return s, nil
	}, append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), sessions
}

// caller is a test client playing Twilio's side of a Media Stream.
type caller struct {
	*wstest.Client[Message]
	t *testing.T

	chunkMu sync.Mutex
	chunk   int // the last media chunk's number
}

func dial(t *testing.T, url string) *caller {
	t.Helper()
	return &caller{Client: wstest.Dial(t, url, nil, decodeMessage), t: t}
}

func decodeMessage(_ int, data []byte) (Message, error) {
	var m Message
	err := json.Unmarshal(data, &m)
	return m, err
}

func (c *caller) send(v any) {
	c.t.Helper()
	if err := c.write(v); err != nil {
		c.t.Fatal(err)
	}
}

// write sends v as JSON and returns the error, for callers that expect one.
func (c *caller) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.Write(websocket.TextMessage, b)
}

// media is the next inbound media message, carrying samples as μ-law.
func (c *caller) media(samples []int16) Message {
	c.chunkMu.Lock()
	c.chunk++
	chunk := c.chunk
	c.chunkMu.Unlock()
	return Message{Event: EventMedia, StreamSid: "MZ0001", Media: &Media{
		Track: "inbound", Chunk: strconv.Itoa(chunk), Timestamp: strconv.Itoa(chunk * 20),
		Payload: base64.StdEncoding.EncodeToString(g711.EncodeUlaw(nil, samples)),
	}}
}

// startMic streams the microphone like Twilio: a 20 ms media message every
// 20 ms, queued audio (see Say, 8 kHz) or silence, until the test ends.
func (c *caller) startMic() {
	c.StartMic(160, func(frame []int16) error { return c.write(c.media(frame)) })
}

func (c *caller) sendRaw(s string) {
	c.t.Helper()
	c.Send(websocket.TextMessage, []byte(s))
}

// start sends connected and start like Twilio.
func (c *caller) start(params map[string]string) {
	c.t.Helper()
	for _, m := range startMessages(params) {
		c.send(m)
	}
}

// startMessages are Twilio's connected and start messages.
func startMessages(params map[string]string) []Message {
	return []Message{
		{Event: EventConnected, Protocol: "Call", Version: "1.0.0"},
		{Event: EventStart, SequenceNumber: "1", StreamSid: "MZ0001", Start: &Start{
			StreamSid: "MZ0001", AccountSid: "AC0001", CallSid: "CA0001", Tracks: []string{"inbound"},
			CustomParameters: params,
			MediaFormat:      MediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1},
		}},
	}
}

// sendAudio sends 8 kHz samples as 20 ms media messages at four times
// real time: fast, but slow enough that a busy machine does not overrun the
// server's 2 s input queue.
func (c *caller) sendAudio(samples []int16) {
	c.t.Helper()
	for i := 0; i+160 <= len(samples); i += 160 {
		c.send(c.media(samples[i : i+160]))
		time.Sleep(5 * time.Millisecond)
	}
}

// level decodes a media message and returns its level in dBFS.
func level(t testing.TB, m Message) float64 {
	t.Helper()
	b, err := m.Media.Audio()
	if err != nil {
		t.Fatal(err)
	}
	return pcm.DBFS(g711.DecodeUlaw(nil, b))
}

// speech8k loads a 16 kHz test clip resampled to 8 kHz.
func speech8k(t testing.TB, name string) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono8k); err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}
