package device

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/internal/wstest"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

// Reply levels of the fake session: the reply before a barge-in is loud,
// the one after it quiet, so the client can tell them apart even through
// Opus.
const (
	loudAmp  = 0.5
	quietAmp = 0.02
)

// fakeSession is a minimal turn-taker: it replies after the user's speech
// ends and, while replying, treats new speech as a barge-in: it stops the
// reply, flushes the transport, reports the interruption and speaks a
// short quiet reply.
type fakeSession struct {
	conn *Conn

	mu     sync.Mutex
	texts  []string
	images []pipeline.Image
	stops  int
	played []string   // marks reported played
	ran    chan error // receives Run's result
}

func (s *fakeSession) heard() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.played...)
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
	s.stops++
}

func (s *fakeSession) Run(ctx context.Context) error {
	err := s.run(ctx)
	if s.ran != nil {
		s.ran <- err
	}
	return err
}

func (s *fakeSession) run(ctx context.Context) error {
	const (
		listening = iota
		replying
		done
	)
	state := listening
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
		switch state {
		case listening:
			if loud {
				speech += fr.Duration()
				silence = 0
				continue
			}
			silence += fr.Duration()
			if speech > 300*time.Millisecond && silence > 200*time.Millisecond {
				_ = s.conn.SendEvent(agent.Event{Type: agent.EventState, State: agent.StateSpeaking})
				rctx, cancel := context.WithCancel(ctx)
				stopReply = cancel
				replyDone = make(chan struct{})
				go func() {
					defer close(replyDone)
					s.speak(rctx, loudAmp, 1000)
				}()
				state, speech = replying, 0
			}
		case replying:
			if !loud {
				speech = 0
				continue
			}
			if speech += fr.Duration(); speech < 100*time.Millisecond {
				continue
			}
			stopReply()
			<-replyDone
			stopReply = nil
			if err := s.conn.Flush(ctx); err != nil {
				return err
			}
			_ = s.conn.SendEvent(agent.Event{Type: agent.EventInterruption, Interruption: &agent.Interruption{Heard: "loud", Cancelled: true}})
			s.speak(ctx, quietAmp, 10)
			state = done
		}
	}
}

// speak writes n paced 20 ms frames of a 440 Hz tone at amplitude amp.
func (s *fakeSession) speak(ctx context.Context, amp float64, n int) {
	f := s.conn.OutputFormat()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	size := f.Samples(20 * time.Millisecond)
	var pos int
	for i := range n {
		fr := pcm.Frame{Format: f, Samples: make([]int16, size)}
		for i := range fr.Samples {
			fr.Samples[i] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(pos)/float64(f.Rate)))
			pos++
		}
		if s.conn.WriteAudio(ctx, fr) != nil {
			return
		}
		if i%5 == 4 {
			mark := fmt.Sprintf("a%g-%d", amp, i/5)
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

// serve starts a test server on 127.0.0.1 running fake sessions; the
// returned channel yields each session as it is created.
func serve(t *testing.T, opts ...Option) (url string, sessions chan *fakeSession) {
	t.Helper()
	sessions = make(chan *fakeSession, 4)
	h, err := NewHandler(func(r *http.Request, c *Conn) (Session, error) {
		s := &fakeSession{conn: c, ran: make(chan error, 1)}
		sessions <- s
		return s, nil
	}, append([]Option{WithLogger(discardLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), sessions
}

// message is one message the device received.
type message struct {
	kind int
	data []byte
	typ  string // "type" of a JSON message
	code string // "code" of an error message
}

// device is a test client speaking the device protocol.
type device struct {
	*wstest.Client[message]
	t *testing.T
}

func dial(t *testing.T, url string) *device {
	t.Helper()
	return &device{Client: wstest.Dial(t, url, nil, decodeMessage), t: t}
}

// decodeMessage reads a JSON message's type and code.
func decodeMessage(kind int, data []byte) (message, error) {
	m := message{kind: kind, data: data}
	if kind == websocket.TextMessage {
		var v struct{ Type, Code string }
		_ = json.Unmarshal(data, &v)
		m.typ, m.code = v.Type, v.Code
	}
	return m, nil
}

func (d *device) sendText(s string) {
	d.t.Helper()
	d.Send(websocket.TextMessage, []byte(s))
}

func (d *device) sendBinary(b []byte) {
	d.t.Helper()
	d.Send(websocket.BinaryMessage, b)
}

// sendFast sends audio messages at four times real time: fast, but slow
// enough that a busy machine does not overrun the server's 2 s input queue.
func (d *device) sendFast(frames [][]byte) {
	d.t.Helper()
	for _, f := range frames {
		d.sendBinary(f)
		time.Sleep(5 * time.Millisecond)
	}
}

// startMic streams the microphone in real time: a 20 ms message every
// 20 ms, queued speech (see Say) or silence, until the test ends.
func (d *device) startMic(snd *audioSender) {
	d.StartMic(snd.rate/50, func(frame []int16) error {
		return d.Write(websocket.BinaryMessage, snd.frames(d.t, frame)[0])
	})
}

// expect skips messages until one of type typ arrives and returns it.
func (d *device) expect(typ string) message {
	d.t.Helper()
	for {
		if m := d.Next(); m.typ == typ {
			return m
		}
	}
}

// expectError returns the code of the next error message, skipping others.
func (d *device) expectError() string {
	d.t.Helper()
	return d.expect(TypeError).code
}

func hello(encoding string, rate int) map[string]any {
	return map[string]any{"type": "hello", "version": 1, "language": "en", "device": "test",
		"audio": map[string]any{"encoding": encoding, "sample_rate": rate}}
}

// speech loads a test clip resampled to rate.
func speech(t testing.TB, name string, rate int) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Format != pcm.Mono16k {
		t.Fatalf("%s is %v", name, fr.Format)
	}
	if fr, err = resample.Frame(fr, pcm.Format{Rate: rate, Channels: 1}); err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}

// audioSender turns samples into the binary messages of one encoding.
type audioSender struct {
	enc  *opus.Encoder
	rate int
}

func newAudioSender(t testing.TB, encoding string, rate int) *audioSender {
	t.Helper()
	a := &audioSender{rate: rate}
	if encoding == EncodingOpus {
		var err error
		if a.enc, err = opus.NewEncoder(rate, 1); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// frames splits samples into 20 ms messages.
func (a *audioSender) frames(t testing.TB, samples []int16) [][]byte {
	t.Helper()
	n := a.rate / 50
	var out [][]byte
	for i := 0; i+n <= len(samples); i += n {
		if a.enc == nil {
			b := make([]byte, 2*n)
			for j, s := range samples[i : i+n] {
				binary.LittleEndian.PutUint16(b[2*j:], uint16(s))
			}
			out = append(out, b)
			continue
		}
		pkt, err := a.enc.Encode(samples[i:i+n], nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), pkt...))
	}
	return out
}

// audioLevel decodes a server audio message and returns its level in dBFS.
type audioReceiver struct {
	dec *opus.Decoder
}

func newAudioReceiver(t testing.TB, encoding string, rate int) *audioReceiver {
	t.Helper()
	if encoding != EncodingOpus {
		return &audioReceiver{}
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &audioReceiver{dec: dec}
}

func (a *audioReceiver) level(t testing.TB, b []byte) float64 {
	t.Helper()
	if a.dec == nil {
		s := make([]int16, len(b)/2)
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return pcm.DBFS(s)
	}
	s, err := a.dec.Decode(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pcm.DBFS(s)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
