package agenttest

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/pcm"
)

// ErrClosed is returned by a Transport's ReadAudio after Hangup.
var ErrClosed = errors.New("agenttest: transport closed")

// Output is one frame the session sent.
type Output struct {
	Frame   pcm.Frame
	At      time.Time
	Audible bool // some sample is not zero
}

// Transport is an in-memory agent.Transport and agent.EventSink. Its
// microphone delivers a frame every 20 ms of (fake or real) time: queued
// audio while there is some, silence otherwise. Its speaker records every
// frame written. All methods are safe for concurrent use.
type Transport struct {
	in, out pcm.Format

	mu      sync.Mutex
	mic     []int16
	micPos  int64 // samples per channel delivered
	next    time.Time
	closed  bool
	hangup  bool
	arrived []time.Time // delivery time of each microphone frame
	frames  []Output
	events  []agent.Event
	flushes []time.Time
	changed chan struct{}
}

// NewTransport returns a transport whose microphone speaks in and whose
// speaker takes out.
func NewTransport(in, out pcm.Format) *Transport {
	return &Transport{in: in, out: out, changed: make(chan struct{})}
}

// Play queues samples (in the input format) to be heard by the session
// after what is already queued. It returns the microphone position (in
// samples per channel) at which they start.
func (t *Transport) Play(samples []int16) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	at := t.micPos + int64(len(t.mic)/t.in.Channels)
	t.mic = append(t.mic, samples...)
	return at
}

// Delivered returns when the microphone delivered the sample at position
// pos (in samples per channel): the delivery time of its frame less the
// time from the sample to the frame's end, as a live microphone would have
// captured it.
func (t *Transport) Delivered(pos int64) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	per := int64(t.in.SamplesPerChannel(20 * time.Millisecond))
	i := pos / per
	if pos < 0 || i >= int64(len(t.arrived)) {
		return time.Time{}, false
	}
	end := (i + 1) * per
	return t.arrived[i].Add(-time.Duration((end - pos) * int64(time.Second) / int64(t.in.Rate))), true
}

// Queued returns how many input samples are still to be delivered.
func (t *Transport) Queued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.mic)
}

// MicPosition returns how many samples per channel the microphone has
// delivered.
func (t *Transport) MicPosition() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.micPos
}

// Close ends the microphone once the queued audio has been delivered:
// ReadAudio then returns io.EOF.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

// Hangup ends the microphone at once: ReadAudio returns io.EOF.
func (t *Transport) Hangup() {
	t.mu.Lock()
	t.hangup = true
	t.mu.Unlock()
}

// ReadAudio implements agent.Transport: it waits for the next 20 ms tick and
// returns the next frame.
func (t *Transport) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	t.mu.Lock()
	if t.next.IsZero() {
		t.next = time.Now()
	}
	t.next = t.next.Add(20 * time.Millisecond)
	wait := time.Until(t.next)
	t.mu.Unlock()
	if wait > 0 {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return pcm.Frame{}, ctx.Err()
		case <-timer.C:
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hangup || (t.closed && len(t.mic) == 0) {
		return pcm.Frame{}, io.EOF
	}
	n := t.in.Samples(20 * time.Millisecond)
	fr := pcm.Frame{Samples: make([]int16, n), Format: t.in, Timestamp: t.in.Duration(int(t.micPos) * t.in.Channels)}
	k := copy(fr.Samples, t.mic)
	t.mic = t.mic[k:]
	t.micPos += int64(n / t.in.Channels)
	t.arrived = append(t.arrived, time.Now())
	return fr, nil
}

// WriteAudio implements agent.Transport: it records the frame.
func (t *Transport) WriteAudio(_ context.Context, fr pcm.Frame) error {
	audible := slices.ContainsFunc(fr.Samples, func(s int16) bool { return s != 0 })
	fr.Samples = slices.Clone(fr.Samples)
	t.mu.Lock()
	t.frames = append(t.frames, Output{Frame: fr, At: time.Now(), Audible: audible})
	t.mu.Unlock()
	return nil
}

// OutputFormat implements agent.Transport.
func (t *Transport) OutputFormat() pcm.Format { return t.out }

// Flush implements agent.Transport: it records the time of the flush.
func (t *Transport) Flush(context.Context) error {
	t.mu.Lock()
	t.flushes = append(t.flushes, time.Now())
	t.mu.Unlock()
	return nil
}

// SendEvent implements agent.EventSink: it records the event.
func (t *Transport) SendEvent(ev agent.Event) error {
	t.mu.Lock()
	t.events = append(t.events, ev)
	ch := t.changed
	t.changed = make(chan struct{})
	t.mu.Unlock()
	close(ch)
	return nil
}

// Frames returns the frames written so far.
func (t *Transport) Frames() []Output {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.frames)
}

// Events returns the events received so far.
func (t *Transport) Events() []agent.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.events)
}

// Flushes returns when Flush was called.
func (t *Transport) Flushes() []time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.flushes)
}

// WaitEvent blocks until an event satisfying match has been received (at
// or after index from of the event list) and returns it with its index.
func (t *Transport) WaitEvent(ctx context.Context, from int, match func(agent.Event) bool) (agent.Event, int, error) {
	for {
		t.mu.Lock()
		for i := from; i < len(t.events); i++ {
			if match(t.events[i]) {
				ev := t.events[i]
				t.mu.Unlock()
				return ev, i, nil
			}
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return agent.Event{}, -1, ctx.Err()
		case <-ch:
		}
	}
}

// MarkTransport is a Transport that also implements agent.Marker: each mark
// is reported played Latency after it was set, unless a Flush drops it first.
type MarkTransport struct {
	*Transport
	Latency time.Duration

	mmu   sync.Mutex
	marks []*time.Timer
	names []string
}

// NewMarkTransport returns a marking transport.
func NewMarkTransport(in, out pcm.Format, latency time.Duration) *MarkTransport {
	return &MarkTransport{Transport: NewTransport(in, out), Latency: latency}
}

// Mark implements agent.Marker.
func (t *MarkTransport) Mark(_ context.Context, name string, played func()) error {
	t.mmu.Lock()
	defer t.mmu.Unlock()
	t.names = append(t.names, name)
	t.marks = append(t.marks, time.AfterFunc(t.Latency, played))
	return nil
}

// Marks returns the names of the marks set.
func (t *MarkTransport) Marks() []string {
	t.mmu.Lock()
	defer t.mmu.Unlock()
	return slices.Clone(t.names)
}

// Flush implements agent.Transport: pending marks are never reported.
func (t *MarkTransport) Flush(ctx context.Context) error {
	t.mmu.Lock()
	for _, m := range t.marks {
		m.Stop()
	}
	t.marks = nil
	t.mmu.Unlock()
	return t.Transport.Flush(ctx)
}
