package agenttest

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
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
	echo    *echoPath
}

// echoPath is a loudspeaker-to-microphone path: what the session sends
// comes back into its microphone through a room's impulse response.
type echoPath struct {
	ir       []float32 // at rate; leading zeros are the bulk delay
	first    int       // the first tap that is not zero
	rate     int
	down, up *resample.Converter
	// acc holds the echo still to be heard, at rate, from the microphone's
	// next sample on; wpos is where the next frame sent starts in acc
	// (the playout runs on its own clock, a frame or so ahead or behind).
	acc  []float32
	wpos int
	x, y []int16
}

// NewTransport returns a transport whose microphone speaks in and whose
// speaker takes out.
func NewTransport(in, out pcm.Format) *Transport {
	return &Transport{in: in, out: out, changed: make(chan struct{})}
}

// SetEcho makes the frames the session sends come back into its
// microphone, as a loudspeaker's sound does in a room: convolved with ir
// (an impulse response at rate, its leading zeros the echo's delay) and
// added to the microphone from the moment they are sent, whatever the
// microphone plays. A reply paused or flushed stops echoing. Call it
// before the session starts.
func (t *Transport) SetEcho(ir []float32, rate int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := 0
	for first < len(ir) && ir[first] == 0 {
		first++
	}
	f := pcm.Format{Rate: rate, Channels: 1}
	t.echo = &echoPath{ir: ir, first: first, rate: rate, down: resample.NewConverter(f), up: resample.NewConverter(pcm.Format{Rate: t.in.Rate, Channels: 1})}
}

// sent adds the echo of a frame the session sent.
func (e *echoPath) sent(fr pcm.Frame) {
	var err error
	if e.x, err = e.down.Convert(e.x[:0], fr); err != nil {
		return // a frame of another format: not played
	}
	if need := e.wpos + len(e.x) + len(e.ir); len(e.acc) < need {
		e.acc = append(e.acc, make([]float32, need-len(e.acc))...)
	}
	ir := e.ir[e.first:]
	for i, v := range e.x {
		if v == 0 {
			continue
		}
		acc := e.acc[e.wpos+i+e.first:]
		acc = acc[:len(ir)]
		x := float32(v)
		for j, h := range ir {
			acc[j] += x * h
		}
	}
	e.wpos += len(e.x)
}

// heard adds the echo due in the microphone's next n samples (at the
// input rate, mono) to mic.
func (e *echoPath) heard(mic []int16, inRate int) {
	n := len(mic) * e.rate / inRate
	if len(e.acc) < n {
		e.acc = append(e.acc, make([]float32, n-len(e.acc))...)
	}
	e.y = e.y[:0]
	for _, v := range e.acc[:n] {
		e.y = append(e.y, int16(max(-32768, min(32767, math.Round(float64(v))))))
	}
	e.acc = e.acc[:copy(e.acc, e.acc[n:])]
	e.wpos = max(e.wpos-n, 0)
	var err error
	if e.y, err = e.up.Convert(e.y[:0], pcm.Frame{Samples: e.y, Format: pcm.Format{Rate: e.rate, Channels: 1}}); err != nil {
		return
	}
	for i := range min(len(mic), len(e.y)) {
		mic[i] = int16(max(-32768, min(32767, int32(mic[i])+int32(e.y[i]))))
	}
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
	if t.echo != nil && t.in.Channels == 1 {
		t.echo.heard(fr.Samples, t.in.Rate)
	}
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
	if t.echo != nil {
		t.echo.sent(fr)
	}
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
