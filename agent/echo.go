package agent

import (
	"fmt"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/echoguard"
)

// newEchoGuard returns the echo guard cfg describes (see package
// vad/echoguard); zero fields keep its defaults.
func newEchoGuard(cfg EchoGuard) (*echoguard.Guard, error) {
	var opts []echoguard.Option
	if cfg.Threshold != 0 {
		opts = append(opts, echoguard.WithThreshold(cfg.Threshold))
	}
	if cfg.MaxDelay != 0 {
		opts = append(opts, echoguard.WithMaxDelay(cfg.MaxDelay))
	}
	g, err := echoguard.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOption, err)
	}
	return g, nil
}

// newCanceller returns the echo canceller the options describe at rate,
// taking 1 ms frames so that microphone frames of any whole number of
// milliseconds pass without waiting.
func newCanceller(rate int, opts []aec.Option) (*aec.Canceller, error) {
	c, err := aec.New(rate, append([]aec.Option{aec.WithFrame(time.Millisecond)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("%w: echo canceller: %w", ErrOption, err)
	}
	return c, nil
}

// echoRef is what the agent played, as the playout tap hands it over: the
// one record of the reference that the echo guard and the canceller share.
// Its clock counts samples at the microphone's rate since the playout's
// first tick; silent ticks advance it too.
type echoRef struct {
	guard *echoguard.Guard // nil: no guard

	mu      sync.Mutex
	buf     []int16 // the latest reference, a power of two long
	written int64   // samples written
	tapped  bool    // the tap has run
	audible int64   // end of the last audible frame, -1 before any

	// The tap's goroutine only.
	rate   int
	conv   *resample.Converter
	tmp    []int16
	zeros  []int16
	silent int // silent ticks running
}

// refSpan is how much reference the ring keeps (at 16 kHz, 2 s), more than
// the microphone side ever reads behind the tap.
const refSpan = 1 << 15

func newEchoRef(rate int, guard *echoguard.Guard) *echoRef {
	return &echoRef{
		guard: guard, rate: rate, audible: -1,
		buf:  make([]int16, refSpan),
		conv: resample.NewConverter(pcm.Format{Rate: rate, Channels: 1}),
	}
}

// tap records one frame the playout sent (nil Samples: a silent tick). It
// runs on the playout goroutine and does not allocate once warm.
func (r *echoRef) tap(fr pcm.Frame) {
	if r.guard != nil {
		r.guard.Reference(fr)
	}
	audible := fr.Samples != nil
	var out []int16
	if audible || r.silent < 3 {
		// Through the converter, so that its filter runs out smoothly.
		src := fr.Samples
		if !audible {
			n := fr.Format.Samples(pipeline.FrameDuration)
			if cap(r.zeros) < n {
				r.zeros = make([]int16, n)
			}
			src = r.zeros[:n]
		}
		var err error
		if r.tmp, err = r.conv.Convert(r.tmp[:0], pcm.Frame{Samples: src, Format: fr.Format}); err != nil {
			r.tmp = r.tmp[:0]
		}
		out = r.tmp
	} else {
		// Long silence: the converter holds nothing but zeros.
		n := r.rate * int(pipeline.FrameDuration/time.Millisecond) / 1000
		if cap(r.zeros) < n {
			r.zeros = make([]int16, n)
		}
		out = r.zeros[:n]
		clear(out)
	}
	if audible {
		r.silent = 0
	} else {
		r.silent++
	}
	r.mu.Lock()
	mask := int64(len(r.buf) - 1)
	for i, v := range out {
		r.buf[(r.written+int64(i))&mask] = v
	}
	r.written += int64(len(out))
	r.tapped = true
	if audible {
		r.audible = r.written
	}
	r.mu.Unlock()
}

// clock returns how much reference has been written (ok is false before
// the first tap) and the end of the last audible frame (-1 before any).
func (r *echoRef) clock() (written, audible int64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.written, r.audible, r.tapped
}

// read copies the reference at [from, from+len(dst)) into dst as far as it
// has been written, and returns how much it copied: silence where the
// ring no longer holds it.
func (r *echoRef) read(dst []int16, from int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := int(min(int64(len(dst)), max(r.written-from, 0)))
	mask := int64(len(r.buf) - 1)
	oldest := r.written - int64(len(r.buf))
	for i := range n {
		p := from + int64(i)
		if p < oldest || p < 0 {
			dst[i] = 0
			continue
		}
		dst[i] = r.buf[p&mask]
	}
	return n
}

// echoCanceller runs the acoustic echo canceller on the microphone side
// (the ingest goroutine): it lines the microphone up with the playout
// clock, hands the canceller the reference for each frame, and leaves the
// canceller off once the echo of the agent's last audible frame has died
// away (its output then passes the microphone through, delayed like the
// canceller's, so the stream stays continuous across the switch).
//
// Clocks: the microphone's first frame is placed a tick and a margin
// behind the reference written when it arrived (it ended about then); later
// frames follow by their sample counts and by their timestamps, so a transport's gap (DTX, lost packets
// it does not conceal) moves the microphone on by the gap. Arrival later
// than capture only adds to the echo delay the canceller finds.
type echoCanceller struct {
	c     *aec.Canceller
	ref   *echoRef
	rate  int
	frame int // the canceller's frame, in samples
	lat   int // the canceller's latency, in samples

	anchored bool
	micRef   int64         // reference position of the next microphone sample
	tsEnd    time.Duration // the transport timestamp where the last frame ended
	cpos     int64         // microphone samples the canceller has processed
	fed      int64         // reference handed to the canceller up to here
	on       bool
	stale    int // output samples still to take from the delay line
	buf      []int16
	held     []int16 // input short of a whole frame
	delay    []int16 // the last lat input samples
	refBuf   []int16
	stats    echoStats
	// The echo's ceiling: the reference's level and length of each of
	// the last calls (a ring, next is the oldest) and the echo return loss
	// measured so far.
	refLevels [refCalls]refLevel
	next      int
	erl       float64
}

// refLevel is the level of the reference played during one call.
type refLevel struct {
	level float64
	n     int
}

// refCalls is how many calls the ceiling remembers: echoSpan in frames
// as short as 10 ms.
const refCalls = 64

// echoStats is what the canceller reports with each microphone frame.
type echoStats struct {
	erle, erleSuppressed float64 // dB; zero until measured
	echo                 bool    // the frame holds the agent's echo alone
	// ceiling is the loudest the agent's echo can plausibly be in the
	// canceller's output now (dBFS; silentLevel when there is none): the
	// loudest reference of the last echoSpan less the echo return loss
	// measured (at least minERL) and less what the adaptive filter is
	// known to cancel (erleCredit). Until the adaptive filter has learnt a
	// room, which takes a second or more of the agent's voice, and in
	// bursts where it has not, the echo passes it nearly whole: speech
	// below the ceiling is not taken for the user's (see levelGate).
	// Valid with live (the zero value: no echo).
	ceiling float64
	live    bool
}

// echoSpan is how far back the reference can still echo loudly: the
// longest echo delay expected plus the strong part of a room's tail.
const echoSpan = 500 * time.Millisecond

// The echo return loss: the microphone's level below the loudest recent
// reference while the agent speaks, within [minERL, maxERL] (a
// speakerphone's echo reaches the microphone 10-20 dB below the playout,
// and no less than minERL is assumed while it is unknown). The estimate
// follows a drop of up to erlJump at once: echo louder than it thought.
// A frame louder still is taken for the user talking over the agent and
// leaves it alone, so the user's voice does not lift the ceiling over
// itself. It rises slowly, as frames come quieter than it expects: the
// pauses of the echo must not sink the ceiling below the next word, and
// with no echo at all (a headset) it takes a second or two to fall away.
const (
	minERL  = 10.0
	maxERL  = 40.0
	erlJump = 6.0
	erlRise = 0.005 // share of a rise taken per call
)

// tailMargin is how much longer than the echo's tail the canceller
// reports (aec.Canceller.Tail) it keeps running after the agent's last
// audible frame: for the microphone's arrival jitter and an echo delay
// that moved since it was found. Past it the canceller stops, which saves
// its cost for most of a call.
const tailMargin = 300 * time.Millisecond

// catchUp is how much reference before the microphone's position the
// canceller is given when it starts again: what the tap may have written
// before the microphone side noticed the agent speaking.
const catchUp = 200 * time.Millisecond

// anchorMargin is how far behind the reference written the microphone's
// first frame is placed: a tick for the tap's and the transport's phases,
// and some more for scheduling.
const anchorMargin = pipeline.FrameDuration + 10*time.Millisecond

func newEchoCanceller(c *aec.Canceller, ref *echoRef) *echoCanceller {
	rate := c.Rate()
	lat := int(int64(c.Latency()) * int64(rate) / int64(time.Second))
	return &echoCanceller{
		c: c, ref: ref, rate: rate, lat: lat,
		frame:  rate / 1000,
		delay:  make([]int16, lat),
		refBuf: make([]int16, rate/50),
		erl:    minERL,
	}
}

func (e *echoCanceller) samples(d time.Duration) int64 {
	return int64(d) * int64(e.rate) / int64(time.Second)
}

// process cancels the echo in mic (at the canceller's rate, from a frame
// the transport stamped ts) and returns the output, Latency behind,
// reusing mic's array when it can.
func (e *echoCanceller) process(mic []int16, ts time.Duration) []int16 {
	written, audible, ok := e.ref.clock()
	switch {
	case !e.anchored && ok:
		// The canceller reads the reference up to the microphone's
		// position: place the microphone a tick and a margin behind what
		// the tap has written.
		e.anchored = true
		e.micRef = written - int64(len(mic)) - e.samples(anchorMargin)
		e.fed = e.micRef
	case e.anchored && ts > e.tsEnd+5*time.Millisecond:
		// A gap in the input: the reference played meanwhile is skipped.
		e.micRef += e.samples(ts - e.tsEnd)
		e.fed = max(e.fed, e.micRef)
	}
	e.tsEnd = ts + time.Duration(len(mic))*time.Second/time.Duration(e.rate)

	// Whole frames only; a remainder waits for the next call.
	e.buf = append(append(e.buf[:0], e.held...), mic...)
	k := len(e.buf) / e.frame * e.frame
	in := e.buf[:k]
	e.held = append(e.held[:0], e.buf[k:]...)
	end := e.micRef + int64(k)

	want := e.anchored && audible >= 0 && end-audible < e.samples(e.c.Tail()+tailMargin)
	top := e.refTop(in, want)
	if want && !e.on {
		// Start again where the canceller stopped.
		e.on, e.stale = true, e.lat
		e.fed = max(e.fed, e.micRef-e.samples(catchUp))
	} else if !want && e.on {
		e.on = false
	}
	// The input delayed like the canceller's output (for the switch).
	e.buf = append(e.buf[:k], e.delay...)
	e.buf = append(e.buf, in...)
	delayed := e.buf[k : k+k]
	copy(e.delay, e.buf[k+k:])

	out := mic[:0]
	if !e.on {
		out = append(out, delayed...)
		e.micRef = end
		e.stats.echo, e.stats.live = false, false
		return out
	}
	e.feed(end)
	out, err := e.c.Process(out, in)
	if err != nil { // whole frames: cannot happen
		out = append(out[:0], delayed...)
	}
	if e.stale > 0 {
		n := copy(out[:min(e.stale, len(out))], delayed)
		e.stale -= n
	}
	e.micRef, e.cpos = end, e.cpos+int64(k)
	st := e.c.Stats()
	e.stats = echoStats{erle: st.ERLE, erleSuppressed: st.ERLESuppressed, echo: st.Talk == aec.FarEnd}
	if top > silentLevel {
		e.stats.ceiling, e.stats.live = e.ceiling(top, in)-erleCredit(st.ERLE), true
	}
	return out
}

// refTop records the level of the reference played during the
// microphone input in (at reference position micRef) and returns the
// loudest of the last echoSpan (silentLevel for none); live: the echo may
// still be heard.
func (e *echoCanceller) refTop(in []int16, live bool) float64 {
	if !live {
		e.refLevels = [refCalls]refLevel{}
		return silentLevel
	}
	if len(in) > 0 {
		n := e.ref.read(e.refBuf[:min(len(in), len(e.refBuf))], e.micRef)
		e.refLevels[e.next] = refLevel{level: frameLevel(e.refBuf[:n]), n: len(in)}
		e.next = (e.next + 1) % refCalls
	}
	top, span := silentLevel, e.samples(echoSpan)
	for i := range refCalls {
		r := e.refLevels[(e.next-1-i+2*refCalls)%refCalls]
		if r.n == 0 || span <= 0 {
			break
		}
		top, span = max(top, r.level), span-int64(r.n)
	}
	return top
}

// ceiling updates the echo return loss with the microphone input in
// (before cancelling: the echo as it arrives, so that the ceiling holds
// whatever the canceller leaves of it, converged or not) against the
// loudest recent reference top, and returns the echo's ceiling.
func (e *echoCanceller) ceiling(top float64, in []int16) float64 {
	if len(in) > 0 {
		switch loss := top - frameLevel(in); {
		case loss < e.erl-erlJump:
		case loss < e.erl:
			e.erl = max(loss, minERL)
		default:
			e.erl = min(e.erl+erlRise*(loss-e.erl), maxERL)
		}
	}
	return top - e.erl
}

// erleCredit is how much below the echo as it arrives the ceiling may
// assume the canceller leaves it, given the adaptive filter's ERLE over its
// last seconds of echo: that less erleMargin (a burst after a change of
// the echo path cancels less than the average), at most maxCredit. The
// suppressor's further reduction is not credited: it follows the filter's
// bursts too slowly to bound one.
func erleCredit(erle float64) float64 {
	return min(max(erle-erleMargin, 0), maxCredit)
}

const (
	erleMargin = 6.0
	maxCredit  = 20.0
)

// feed hands the canceller the reference up to the microphone position
// end (as far as the tap has written it), at the canceller's positions:
// the microphone sample at reference position micRef is its cpos-th.
func (e *echoCanceller) feed(end int64) {
	off := e.micRef - e.cpos
	for e.fed < end {
		n := e.ref.read(e.refBuf[:min(int64(len(e.refBuf)), end-e.fed)], e.fed)
		if n == 0 {
			return
		}
		if pos := e.fed - off; pos >= 0 {
			_ = e.c.Play(pos, e.refBuf[:n]) // positions are bounded
		}
		e.fed += int64(n)
	}
}
