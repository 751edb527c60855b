package webrtc

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/rtp"
)

const (
	// rtpRate is the RTP clock rate of Opus.
	rtpRate = 48000
	// frameDuration is the length of every outgoing packet.
	frameDuration = 20 * time.Millisecond
	// frameSamples is frameDuration at rtpRate.
	frameSamples = rtpRate / 50
	// paceLead is how far ahead of real time a writer may run before
	// WriteAudio blocks; the receiver's jitter buffer absorbs it.
	paceLead = 40 * time.Millisecond
	// paceMaxLag is how far behind schedule a talkspurt may fall before
	// the next packet starts a new talkspurt at the wall-clock timestamp.
	paceMaxLag = 100 * time.Millisecond
)

// rtpWriter sends one RTP packet; *pion.TrackLocalStaticRTP implements it.
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

// pacer sends encoded 20 ms frames at real-time speed on a continuous RTP
// clock. Within a talkspurt, timestamps advance by one frame per packet;
// a talkspurt starts after a flush or an underrun, with the marker bit set
// and the timestamp of the wall clock, so timestamps never restart or run
// backwards. send calls must not overlap; flush may be called any time.
type pacer struct {
	w     rtpWriter
	start time.Time
	ts0   uint32

	// Guarded by the caller's serialisation of send.
	seq         uint16
	sent        bool // a packet has gone out
	inSpurt     bool
	due         time.Time // when the next packet of the talkspurt is due
	nextTS      uint32
	lastFlushed chan struct{}

	mu      sync.Mutex
	flushed chan struct{} // closed by flush, then replaced
}

func newPacer(w rtpWriter) *pacer {
	return &pacer{
		w:       w,
		start:   time.Now(),
		ts0:     rand.Uint32(),
		seq:     uint16(rand.Uint32()),
		flushed: make(chan struct{}),
	}
}

// flushSignal returns the channel the next flush closes.
func (p *pacer) flushSignal() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushed
}

// flush drops any frame waiting to be sent and makes the next one start a
// talkspurt.
func (p *pacer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.flushed)
	p.flushed = make(chan struct{})
}

// send waits until payload is due and writes it. It returns false without
// sending if flushed is closed first. done ends the wait with ErrClosed. A
// write the network refused returns true and a *writeError.
func (p *pacer) send(ctx context.Context, done, flushed <-chan struct{}, payload []byte) (bool, error) {
	select {
	case <-flushed:
		return false, nil
	default:
	}
	now := time.Now()
	p.mu.Lock()
	current := p.flushed
	p.mu.Unlock()
	if current != p.lastFlushed || (p.inSpurt && now.Sub(p.due) > paceMaxLag) {
		p.inSpurt = false
		p.lastFlushed = current
	}
	marker := false
	if !p.inSpurt {
		ts := p.ts0 + uint32(int64(now.Sub(p.start))*rtpRate/int64(time.Second))
		if p.sent && int32(ts-p.nextTS) < 0 {
			// The last talkspurt ran ahead of the wall clock.
			ts = p.nextTS
		}
		p.nextTS, p.due, p.inSpurt, marker = ts, now, true, true
	}
	if wait := p.due.Sub(now) - paceLead; wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-flushed:
			return false, nil
		case <-done:
			return false, ErrClosed
		case <-ctx.Done():
			return false, context.Cause(ctx)
		}
	}
	err := p.w.WriteRTP(&rtp.Packet{
		Header: rtp.Header{
			Version:        2,
			Marker:         marker,
			SequenceNumber: p.seq,
			Timestamp:      p.nextTS,
		},
		Payload: payload,
	})
	p.seq++
	p.nextTS += frameSamples
	p.due = p.due.Add(frameDuration)
	p.sent = true
	if err != nil {
		return true, &writeError{err: err}
	}
	return true, nil
}

// writeError is a packet the network layer refused; the packet's time
// passed as if it had been sent.
type writeError struct{ err error }

func (e *writeError) Error() string { return "webrtc: write RTP: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
