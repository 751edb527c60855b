package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/harkvoice/hark/codecs/pcm"
)

// FrameDuration is the playout clock's period.
const FrameDuration = 20 * time.Millisecond

// DefaultMarkLatency is the assumed delay between sending audio and the
// listener hearing it on a Marker sink, until marks coming back measure it.
const DefaultMarkLatency = 200 * time.Millisecond

// Errors returned by the playout.
var (
	// ErrStale reports audio or text of a generation that is no longer
	// current; the caller should stop producing it.
	ErrStale = errors.New("pipeline: stale generation")
	// ErrUnknownChunk reports audio for a chunk that was never begun.
	ErrUnknownChunk = errors.New("pipeline: unknown chunk")
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("pipeline: invalid option")
)

// Sink receives the paced output frames. agent.Transport satisfies it.
type Sink interface {
	WriteAudio(ctx context.Context, frame pcm.Frame) error
}

// Marker is a sink whose far end reports playback: played is called once
// everything written before the mark has been played to the listener.
type Marker interface {
	Mark(ctx context.Context, name string, played func()) error
}

// Segment describes one chunk of a reply: a piece of text and, once
// synthesised, its audio.
type Segment struct {
	Gen uint64 // generation of the reply
	Seq int    // position of the chunk in the reply, from 0
	// Message tells which assistant message of the reply the chunk belongs
	// to (a reply with tool calls has several), from 0.
	Message int
	Text    string
	// Uninterruptible chunks (disclaimers) are not paused by barge-in.
	Uninterruptible bool
}

// ChunkRecord is what the playout knows about one chunk: the source of truth
// for what the listener heard.
type ChunkRecord struct {
	Segment
	Samples  int  // samples of audio received for the chunk so far
	Complete bool // all of the chunk's audio was received
	Sent     int  // samples sent to the sink
	Played   bool // the far end confirmed playback (Marker sinks only)
	// HeardSamples is the estimate of samples the listener heard: Sent, or
	// with a Marker sink, Sent less the audio still in flight.
	HeardSamples int
}

// speechRate estimates how many characters of text one second of speech
// carries, for chunks whose audio length is not known yet.
const speechRate = 14

// Heard returns the words of the chunk the listener heard: all of them when
// the chunk played to the end, otherwise the whole words that fit in the
// fraction of its audio that played (estimated by position). rate is the
// number of samples (all channels) per second of the chunk's audio.
func (r ChunkRecord) Heard(rate int) string {
	if r.HeardSamples <= 0 || r.Text == "" {
		return ""
	}
	total := r.Samples
	if !r.Complete && rate > 0 {
		total = max(total, rate*utf8.RuneCountInString(r.Text)/speechRate)
	}
	if r.HeardSamples >= total {
		return r.Text
	}
	runes := []rune(r.Text)
	cut := len(runes) * r.HeardSamples / total
	head := string(runes[:cut])
	if cut < len(runes) && !unicode.IsSpace(runes[cut]) {
		// Keep whole words only, unless the text has no spaces (Chinese,
		// Japanese), where every character is a word.
		if i := strings.LastIndexFunc(head, unicode.IsSpace); i >= 0 {
			head = head[:i]
		} else if strings.ContainsFunc(r.Text, unicode.IsSpace) {
			head = ""
		}
	}
	return strings.TrimSpace(head)
}

// PlayoutEventType tells what the playout did.
type PlayoutEventType int

// Playout events.
const (
	// ChunkStarted: the first audio of a chunk was sent.
	ChunkStarted PlayoutEventType = iota + 1
	// ChunkDone: the last audio of a chunk was sent.
	ChunkDone
	// Drained: the reply was finished and all of its audio was sent.
	Drained
)

// PlayoutEvent reports playout progress; Segment is zero for Drained.
type PlayoutEvent struct {
	Type PlayoutEventType
	Gen  uint64
	Segment
	At time.Time // when the frame was sent
}

// PlayoutOption configures a Playout.
type PlayoutOption func(*Playout) error

// WithNotify sets a function called, from the playout goroutine, after each
// frame that started or finished a chunk or drained a reply. It must not
// block.
func WithNotify(f func(PlayoutEvent)) PlayoutOption {
	return func(p *Playout) error { p.notify = f; return nil }
}

// WithTap sets a function called on every clock tick with the frame sent,
// or a frame with nil Samples when the tick sent nothing (the echo guard's
// reference signal). It must not block.
func WithTap(f func(pcm.Frame)) PlayoutOption {
	return func(p *Playout) error { p.tap = f; return nil }
}

// WithMarker sets a Marker: the playout marks the end of every chunk and
// counts a chunk as heard once its mark is played.
func WithMarker(m Marker) PlayoutOption {
	return func(p *Playout) error { p.marker = m; return nil }
}

// WithFrameDuration changes the clock period (default 20 ms).
func WithFrameDuration(d time.Duration) PlayoutOption {
	return func(p *Playout) error {
		if d < time.Millisecond || d > time.Second {
			return fmt.Errorf("%w: frame duration %v", ErrOption, d)
		}
		p.frameDur = d
		return nil
	}
}

type chunk struct {
	seg      Segment
	audio    []int16
	complete bool
	sent     int
	played   bool
	doneAt   time.Time // when its last audio was sent
}

// Playout is the paced output clock. Every FrameDuration it sends one frame
// of the current reply to the sink, drops audio of stale generations, sends
// silence while paused or starved (so timing stays continuous after a
// flush), and records per chunk the audio actually sent.
type Playout struct {
	sink     Sink
	format   pcm.Format
	gens     *Generations
	notify   func(PlayoutEvent)
	tap      func(pcm.Frame)
	marker   Marker
	frameDur time.Duration

	mu          sync.Mutex
	gen         uint64 // generation of chunks
	chunks      []*chunk
	next        int    // index of the chunk being sent
	finished    bool   // no more chunks for gen
	active      bool   // a reply is in progress (sending or paused)
	paused      uint64 // the generation paused, 0 for none
	held        uint64 // generation whose audio waits for Release (0: none)
	lastAudible time.Time
	markLatency time.Duration // smoothed mark round trip
}

// chunkPool holds the chunks that reset or Stop dropped, with their audio
// storage, for the next ones: replies reuse it, across the playouts of a
// process, so that a new session's first reply does not grow its audio
// sample by sample, and a session that is not speaking holds none.
var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// maxPooledChunk bounds the audio storage of a chunk kept for another (10
// s at 48 kHz): a rare long one's is left to the collector.
const maxPooledChunk = 480000

// NewPlayout makes a playout that sends frames in format to sink and drops
// items that gens reports stale.
func NewPlayout(sink Sink, format pcm.Format, gens *Generations, opts ...PlayoutOption) (*Playout, error) {
	if err := format.Validate(); err != nil {
		return nil, err
	}
	if sink == nil || gens == nil {
		return nil, fmt.Errorf("%w: nil sink or generations", ErrOption)
	}
	p := &Playout{sink: sink, format: format, gens: gens, markLatency: DefaultMarkLatency}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	if p.frameDur == 0 {
		p.frameDur = FrameDuration
	}
	return p, nil
}

// Format returns the output format.
func (p *Playout) Format() pcm.Format { return p.format }

// Begin adds a chunk to the reply of generation seg.Gen. A newer generation
// replaces whatever older reply the playout held.
func (p *Playout) Begin(seg Segment) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gens.Stale(seg.Gen) {
		return ErrStale
	}
	if seg.Gen != p.gen {
		p.reset(seg.Gen)
	}
	c := chunkPool.Get().(*chunk)
	*c = chunk{seg: seg, audio: c.audio[:0]}
	p.chunks = append(p.chunks, c)
	p.active = true
	return nil
}

// Write appends audio, in the playout's format, to chunk seq of gen.
func (p *Playout) Write(gen uint64, seq int, samples []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.find(gen, seq)
	if err != nil {
		return err
	}
	c.audio = pcm.Append(c.audio, samples)
	return nil
}

// End marks chunk seq of gen as complete: all its audio was written.
func (p *Playout) End(gen uint64, seq int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, err := p.find(gen, seq)
	if err != nil {
		return err
	}
	c.complete = true
	return nil
}

// Finish tells the playout that the reply of gen has no more chunks; a
// Drained event follows once all of its audio was sent.
func (p *Playout) Finish(gen uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gens.Stale(gen) {
		return ErrStale
	}
	if gen != p.gen {
		p.reset(gen)
	}
	p.finished = true
	p.active = true
	return nil
}

// Pause stops sending the reply of the current generation, also one whose
// first chunk has not begun yet: from the next tick the playout sends
// silence and keeps its position, so Resume continues where the listener
// stopped hearing. It returns when the last frame carrying reply audio was
// sent; no later frame carries any until Resume.
func (p *Playout) Pause() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = p.gens.Current()
	return p.lastAudible
}

// Hold keeps the reply of gen from being sent until Release: its chunks and
// audio are accepted as usual while the playout stays as silent as when idle
// (no frames, no events). A reply prepared before the user's turn is over
// (a preemptive reply) is held so that nothing plays before the turn ends.
func (p *Playout) Hold(gen uint64) {
	p.mu.Lock()
	p.held = gen
	p.mu.Unlock()
}

// Release lets the held reply of gen play from its start.
func (p *Playout) Release(gen uint64) {
	p.mu.Lock()
	if p.held == gen {
		p.held = 0
	}
	p.mu.Unlock()
}

// Resume continues a paused reply.
func (p *Playout) Resume() {
	p.mu.Lock()
	p.paused = 0
	p.mu.Unlock()
}

// Paused reports whether the playout is paused.
func (p *Playout) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused != 0 && p.paused == p.gens.Current()
}

// Uninterruptible reports whether the chunk being sent is marked
// uninterruptible.
func (p *Playout) Uninterruptible() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gens.Stale(p.gen) || p.next >= len(p.chunks) {
		return false
	}
	c := p.chunks[p.next]
	return c.seg.Uninterruptible && c.sent > 0
}

// LastAudible returns when the last frame carrying reply audio was sent.
func (p *Playout) LastAudible() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAudible
}

// Records returns what was sent of each chunk of gen's reply.
func (p *Playout) Records(gen uint64) []ChunkRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	if gen != p.gen {
		return nil
	}
	inflight := p.format.SamplesPerChannel(p.markLatency) * p.format.Channels
	out := make([]ChunkRecord, 0, len(p.chunks))
	for _, c := range p.chunks {
		r := ChunkRecord{Segment: c.seg, Samples: len(c.audio), Complete: c.complete, Sent: c.sent, Played: c.played, HeardSamples: c.sent}
		if p.marker != nil && !c.played {
			r.HeardSamples = max(0, c.sent-inflight)
		}
		out = append(out, r)
	}
	return out
}

// Stop ends the reply of gen at once: its remaining audio is dropped and
// the playout goes idle. It returns the records of the reply's chunks.
func (p *Playout) Stop(gen uint64) []ChunkRecord {
	recs := p.Records(gen)
	p.mu.Lock()
	if gen == p.gen {
		p.active = false
		p.dropChunks()
		p.next = 0
		p.finished = false
		p.paused = 0
	}
	p.mu.Unlock()
	return recs
}

// Clear drops every chunk held, of any generation, and goes idle: their
// audio storage serves the next replies of any playout in the process. A
// session clears its playout when it ends.
func (p *Playout) Clear() {
	p.mu.Lock()
	p.reset(p.gen)
	p.paused, p.held = 0, 0
	p.mu.Unlock()
}

func (p *Playout) reset(gen uint64) {
	p.gen = gen
	p.dropChunks()
	p.next = 0
	p.finished = false
	p.active = false
}

// dropChunks forgets the reply's chunks, giving them and their audio
// storage to chunkPool.
func (p *Playout) dropChunks() {
	for _, c := range p.chunks {
		if cap(c.audio) <= maxPooledChunk {
			chunkPool.Put(c)
		}
	}
	clear(p.chunks)
	p.chunks = p.chunks[:0]
}

func (p *Playout) find(gen uint64, seq int) (*chunk, error) {
	if p.gens.Stale(gen) || gen != p.gen {
		return nil, ErrStale
	}
	for i := len(p.chunks) - 1; i >= 0; i-- {
		if p.chunks[i].seg.Seq == seq {
			return p.chunks[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %d", ErrUnknownChunk, seq)
}

// maxLag is how far the clock may fall behind (a stalled goroutine, a slow
// sink) before it gives up catching up and starts afresh.
const maxLag = 200 * time.Millisecond

// Run drives the clock until ctx is done, then returns ctx's cause. A sink
// error is returned at once. Ticks follow an absolute schedule: a late tick
// is followed by quicker ones until the clock has caught up, so the output
// keeps real time (a ticker would drop ticks instead).
func (p *Playout) Run(ctx context.Context) error {
	t := time.NewTimer(p.frameDur)
	defer t.Stop()
	n := p.format.Samples(p.frameDur)
	buf := make([]int16, n)
	var tick int64
	var events []PlayoutEvent
	var marks []Segment
	next := time.Now()
	for {
		next = next.Add(p.frameDur)
		if wait := time.Until(next); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return context.Cause(ctx)
		} else if -wait > maxLag {
			next = time.Now()
		}
		now := time.Now()
		events, marks = events[:0], marks[:0]
		send, audible := p.fill(buf, now, &events, &marks)
		fr := pcm.Frame{Format: p.format, Timestamp: time.Duration(tick) * p.frameDur}
		tick++
		if send {
			fr.Samples = buf
			if err := p.sink.WriteAudio(ctx, fr); err != nil {
				return err
			}
		}
		if p.tap != nil {
			tapped := fr
			if !audible {
				tapped.Samples = nil
			}
			p.tap(tapped)
		}
		for _, seg := range marks {
			p.mark(ctx, seg)
		}
		if p.notify != nil {
			for _, ev := range events {
				p.notify(ev)
			}
		}
	}
}

// fill builds the next frame in buf. It reports whether a frame is to be
// sent (a reply is active) and whether it carries reply audio.
func (p *Playout) fill(buf []int16, now time.Time, events *[]PlayoutEvent, marks *[]Segment) (send, audible bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active && p.gens.Stale(p.gen) {
		p.reset(p.gen)
	}
	if !p.active || p.held == p.gen {
		return false, false
	}
	clear(buf)
	if p.paused != 0 && p.paused == p.gen {
		return true, false
	}
	got := 0
	for got < len(buf) && p.next < len(p.chunks) {
		c := p.chunks[p.next]
		if c.sent == 0 && len(c.audio) > 0 {
			*events = append(*events, PlayoutEvent{Type: ChunkStarted, Gen: p.gen, Segment: c.seg, At: now})
		}
		k := copy(buf[got:], c.audio[c.sent:])
		c.sent += k
		got += k
		if c.sent < len(c.audio) || !c.complete {
			break // the frame is full, or the chunk's audio is late
		}
		c.doneAt = now
		*events = append(*events, PlayoutEvent{Type: ChunkDone, Gen: p.gen, Segment: c.seg, At: now})
		*marks = append(*marks, c.seg)
		p.next++
	}
	if got > 0 {
		p.lastAudible = now
	}
	if p.finished && p.next >= len(p.chunks) {
		*events = append(*events, PlayoutEvent{Type: Drained, Gen: p.gen, At: now})
		p.active = false
	}
	return true, got > 0
}

func (p *Playout) mark(ctx context.Context, seg Segment) {
	if p.marker == nil {
		return
	}
	name := fmt.Sprintf("g%d-c%d", seg.Gen, seg.Seq)
	_ = p.marker.Mark(ctx, name, func() {
		now := time.Now()
		p.mu.Lock()
		defer p.mu.Unlock()
		if seg.Gen != p.gen {
			return
		}
		for _, c := range p.chunks {
			if c.seg.Seq == seg.Seq && !c.played {
				c.played = true
				if rtt := now.Sub(c.doneAt); rtt > 0 {
					p.markLatency = (3*p.markLatency + rtt) / 4
				}
			}
		}
	})
}
