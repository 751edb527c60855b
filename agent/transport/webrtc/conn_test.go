package webrtc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/internal/frameq"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

// countingWriter counts packets and keeps their payload sizes; it fails
// when err is set.
type countingWriter struct {
	mu    sync.Mutex
	sizes []int
	err   error
}

func (w *countingWriter) WriteRTP(p *rtp.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.sizes = append(w.sizes, len(p.Payload))
	return w.err
}

// bareConn is a Conn without a peer connection, for the parts that need
// none.
func bareConn(t *testing.T, w rtpWriter) *Conn {
	t.Helper()
	enc, err := opus.NewEncoder(rtpRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return &Conn{
		enc: enc, pace: newPacer(w), log: slog.New(slog.DiscardHandler), maxMessage: 1024,
		msgs: rate.NewLimiter(10, 20), refusals: rate.NewLimiter(1, 5),
		in: frameq.New(inQueue, overrunReport), done: make(chan struct{}),
	}
}

func TestWriteAudio(t *testing.T) {
	w := &countingWriter{}
	c := bareConn(t, w)
	ctx := context.Background()
	if err := c.WriteAudio(ctx, pcm.Frame{Samples: tone(960), Format: pcm.Mono16k}); !errors.Is(err, pcm.ErrFormat) {
		t.Errorf("16 kHz frame: %v, want pcm.ErrFormat", err)
	}
	// 50 ms: two full packets and a padded one.
	if err := c.WriteAudio(ctx, pcm.Frame{Samples: tone(2400), Format: pcm.Mono48k}); err != nil {
		t.Fatal(err)
	}
	if len(w.sizes) != 3 {
		t.Fatalf("sent %d packets, want 3", len(w.sizes))
	}
	for i, n := range w.sizes {
		if n == 0 {
			t.Errorf("packet %d is empty", i)
		}
	}
	// A refused packet is dropped, not fatal.
	w.err = errors.New("no route")
	c.pace.flush()
	if err := c.WriteAudio(ctx, pcm.Frame{Samples: tone(960), Format: pcm.Mono48k}); err != nil {
		t.Errorf("refused packet: %v, want it dropped", err)
	}
	c.end(io.EOF)
	// The next packets are due in the future; the closed connection ends
	// the wait.
	if err := c.WriteAudio(ctx, pcm.Frame{Samples: tone(5 * 960), Format: pcm.Mono48k}); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v, want ErrClosed", err)
	}
}

func TestSendEventQueuesUntilOpen(t *testing.T) {
	c := bareConn(t, &countingWriter{})
	for i := range pendingEvents {
		if err := c.SendEvent(agent.Event{Type: agent.EventState, State: agent.StateListening}); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if err := c.SendEvent(agent.Event{Type: agent.EventState}); !errors.Is(err, ErrBackpressure) {
		t.Errorf("event over the queue: %v, want ErrBackpressure", err)
	}
	c.end(io.EOF)
	if err := c.SendEvent(agent.Event{Type: agent.EventState}); !errors.Is(err, ErrClosed) {
		t.Errorf("event after close: %v, want ErrClosed", err)
	}
}

func TestReadAudio(t *testing.T) {
	c := bareConn(t, &countingWriter{})
	for i := range inQueue + 5 {
		c.push(pcm.Frame{Samples: []int16{int16(i)}, Format: pcm.Mono48k})
	}
	ctx := context.Background()
	// The reader fell behind: the oldest frames were dropped.
	fr, err := c.ReadAudio(ctx)
	if err != nil || fr.Samples[0] != 5 {
		t.Errorf("first frame %v, %v; want the sixth pushed", fr.Samples, err)
	}
	c.end(&ConnectError{Timeout: 1})
	// Frames received before the end are still delivered.
	for i := range inQueue - 1 {
		if _, err := c.ReadAudio(ctx); err != nil {
			t.Fatalf("frame %d after the end: %v", i, err)
		}
	}
	if _, err := c.ReadAudio(ctx); !errors.Is(err, ErrConnectTimeout) {
		t.Errorf("ReadAudio after a connect timeout: %v", err)
	}
	cctx, cancel := context.WithCancelCause(ctx)
	cancel(errors.New("gone"))
	c2 := bareConn(t, &countingWriter{})
	if _, err := c2.ReadAudio(cctx); err == nil || err.Error() != "gone" {
		t.Errorf("ReadAudio with a cancelled context: %v", err)
	}
	c2.end(io.EOF)
	if _, err := c2.ReadAudio(ctx); err != io.EOF {
		t.Errorf("ReadAudio after the peer left: %v, want io.EOF", err)
	}
}

func TestHandleMessageLimits(t *testing.T) {
	c := bareConn(t, &countingWriter{})
	s := &fakeSession{}
	c.setSession(s)
	var me *MessageError
	if err := c.handleMessage(pion.DataChannelMessage{Data: []byte{1, 2}}); !errors.As(err, &me) {
		t.Errorf("binary message: %v", err)
	}
	big := append([]byte(`{"type":"text","text":"`), make([]byte, 2000)...)
	if err := c.handleMessage(pion.DataChannelMessage{IsString: true, Data: big}); !errors.As(err, &me) {
		t.Errorf("oversized message: %v", err)
	}
	if err := c.handleMessage(pion.DataChannelMessage{IsString: true, Data: []byte(`{"type":"stop"}`)}); err != nil || s.interrupts != 1 {
		t.Errorf("stop: %v, %d interrupts", err, s.interrupts)
	}
	// A flood: past the burst, messages are refused.
	refused := 0
	for range 100 {
		if err := c.handleMessage(pion.DataChannelMessage{IsString: true, Data: []byte(`{"type":"stop"}`)}); err != nil {
			refused++
		}
	}
	if s.interrupts > 25 || refused < 75 {
		t.Errorf("a flood of 100 messages: %d went through, %d refused; want at most the burst through", s.interrupts-1, refused)
	}
	c.end(io.EOF)
	before := s.interrupts
	if err := c.handleMessage(pion.DataChannelMessage{IsString: true, Data: []byte(`{"type":"stop"}`)}); err != nil || s.interrupts != before {
		t.Errorf("stop after close: %v, %d interrupts", err, s.interrupts-before)
	}
}
