package webrtc

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pion/rtp"

	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

// sentPacket is a packet a fakeWriter saw, with the fake clock's time.
type sentPacket struct {
	at  time.Duration
	hdr rtp.Header
}

type fakeWriter struct {
	start time.Time
	mu    sync.Mutex
	got   []sentPacket
}

func (w *fakeWriter) WriteRTP(p *rtp.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, sentPacket{at: time.Since(w.start), hdr: p.Header})
	return nil
}

func (w *fakeWriter) packets() []sentPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sentPacket(nil), w.got...)
}

// sendN sends n frames back to back as a bursty writer would.
func sendN(t *testing.T, p *pacer, n int) {
	t.Helper()
	flushed := p.flushSignal()
	for range n {
		sent, err := p.send(context.Background(), nil, flushed, []byte{1})
		if err != nil || !sent {
			t.Fatalf("send = %v, %v", sent, err)
		}
	}
}

func TestPacerPacesBursts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWriter{start: time.Now()}
		p := newPacer(w)
		sendN(t, p, 10)
		got := w.packets()
		if len(got) != 10 {
			t.Fatalf("sent %d packets, want 10", len(got))
		}
		for i, pk := range got {
			// The first frames may run paceLead ahead of real time.
			want := max(0, time.Duration(i)*frameDuration-paceLead)
			if pk.at != want {
				t.Errorf("packet %d sent at %v, want %v", i, pk.at, want)
			}
			if i > 0 {
				if d := pk.hdr.Timestamp - got[i-1].hdr.Timestamp; d != frameSamples {
					t.Errorf("packet %d: timestamp step %d, want %d", i, d, frameSamples)
				}
				if d := pk.hdr.SequenceNumber - got[i-1].hdr.SequenceNumber; d != 1 {
					t.Errorf("packet %d: sequence step %d", i, d)
				}
			}
			if pk.hdr.Marker != (i == 0) {
				t.Errorf("packet %d: marker %v", i, pk.hdr.Marker)
			}
		}
	})
}

func TestPacerKeepsClockAcrossSilenceAndFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWriter{start: time.Now()}
		p := newPacer(w)
		sendN(t, p, 3)
		time.Sleep(time.Second) // silence: nothing written
		sendN(t, p, 2)
		p.flush()
		sendN(t, p, 2)
		got := w.packets()
		if len(got) != 7 {
			t.Fatalf("sent %d packets, want 7", len(got))
		}
		// After a second of silence the timestamp follows the wall clock.
		step := got[3].hdr.Timestamp - got[0].hdr.Timestamp
		if want := uint32(time.Duration(got[3].at-got[0].at) * rtpRate / time.Second); step != want {
			t.Errorf("timestamp step over silence %d, want %d", step, want)
		}
		for _, i := range []int{3, 5} {
			if !got[i].hdr.Marker {
				t.Errorf("packet %d starts a talkspurt but has no marker", i)
			}
			if d := int32(got[i].hdr.Timestamp - got[i-1].hdr.Timestamp); d < frameSamples {
				t.Errorf("packet %d: timestamp went from %d to %d", i, got[i-1].hdr.Timestamp, got[i].hdr.Timestamp)
			}
		}
		for i := 1; i < len(got); i++ {
			if d := got[i].hdr.SequenceNumber - got[i-1].hdr.SequenceNumber; d != 1 {
				t.Errorf("packet %d: sequence step %d", i, d)
			}
		}
	})
}

func TestPacerFlushDropsWaitingFrame(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &fakeWriter{start: time.Now()}
		p := newPacer(w)
		sendN(t, p, 3) // frame 3 would have to wait 20 ms
		flushed := p.flushSignal()
		res := make(chan bool)
		go func() {
			sent, _ := p.send(context.Background(), nil, flushed, []byte{1})
			res <- sent
		}()
		synctest.Wait()
		p.flush()
		if <-res {
			t.Error("a frame waiting when Flush was called was sent")
		}
		if n := len(w.packets()); n != 3 {
			t.Errorf("sent %d packets, want 3", n)
		}
	})
}

func TestPacerStopsOnDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(&fakeWriter{start: time.Now()})
		sendN(t, p, 3)
		done := make(chan struct{})
		close(done)
		if _, err := p.send(context.Background(), done, p.flushSignal(), []byte{1}); err != ErrClosed {
			t.Errorf("send after done: %v, want ErrClosed", err)
		}
	})
}

type discardWriter struct{}

func (discardWriter) WriteRTP(*rtp.Packet) error { return nil }

func BenchmarkPacerSend(b *testing.B) {
	p := newPacer(discardWriter{})
	payload := make([]byte, 80)
	ctx := context.Background()
	for b.Loop() {
		// Flushing before each send starts a talkspurt, so nothing waits.
		p.flush()
		if _, err := p.send(ctx, nil, p.flushSignal(), payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteAudio measures encoding and sending one 20 ms frame.
func BenchmarkWriteAudio(b *testing.B) {
	enc, err := opus.NewEncoder(rtpRate, 1, opus.WithFEC(5))
	if err != nil {
		b.Fatal(err)
	}
	c := &Conn{enc: enc, pace: newPacer(discardWriter{}), done: make(chan struct{})}
	fr := pcm.Frame{Samples: tone(frameSamples), Format: pcm.Mono48k}
	ctx := context.Background()
	for b.Loop() {
		c.pace.flush() // start a talkspurt so nothing waits
		if err := c.WriteAudio(ctx, fr); err != nil {
			b.Fatal(err)
		}
	}
}
