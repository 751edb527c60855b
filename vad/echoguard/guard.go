package echoguard

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
)

// The guard works at 4 kHz, high-passed at 450 Hz: enough of the voice band
// to match speech, cheap enough to search 600 ms of delays per window.
const guardRate = 4000

// Defaults and limits of the options.
const (
	defaultThreshold = 0.35
	defaultMaxDelay  = 600 * time.Millisecond
	maxMaxDelay      = 2 * time.Second
	ahead            = guardRate / 10 // the microphone may be read up to 100 ms late
)

type config struct {
	threshold float32
	maxDelay  time.Duration
}

// Option configures a Guard.
type Option func(*config) error

// WithThreshold sets the correlation above which a window counts as echo
// (default 0.35; lower is stricter), in (0, 1].
func WithThreshold(t float32) Option {
	return func(c *config) error {
		if !(t > 0 && t <= 1) {
			return fmt.Errorf("%w: threshold %v not in (0, 1]", ErrOption, t)
		}
		c.threshold = t
		return nil
	}
}

// WithMaxDelay sets the longest echo path searched (default 600 ms, at
// most 2 s).
func WithMaxDelay(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > maxMaxDelay {
			return fmt.Errorf("%w: max delay %v not in (0, %v]", ErrOption, d, maxMaxDelay)
		}
		c.maxDelay = d
		return nil
	}
}

// Guard compares microphone windows with the audio the agent played. Both
// streams are indexed by their own sample clocks from the start (the
// reference by the frames passed to Reference, the microphone by the
// windows passed to Score), so an echo appears at a delay between -100 ms
// and the maximum delay. Reference and Score may be called from different
// goroutines.
type Guard struct {
	threshold float32
	maxLag    int // in guard samples

	mu         sync.Mutex
	ring       int64     // reference history length, a power of two
	ref        []float32 // band-passed reference at guardRate
	refPow     []float32 // full-band mean square behind each sample
	refPos     int64     // guard samples of reference written
	lastActive int64     // refPos after the last non-silent reference frame
	refIn      toGuard
	refHP      bandEdge
	refMono    []int16

	micIn   toGuard
	micHP   bandEdge
	micPos  int64
	micPCM  []int16
	mic     []float32 // analysis buffer: the previous window and this one
	prev    []float32 // this window, kept for the next
	prevPow float32
	// span and spanPow are the reference searched, slices of the ring or,
	// where they wrap around its end, of spanBuf and spanPowBuf.
	span, spanPow       []float32
	spanBuf, spanPowBuf []float32
	score               float32 // verdict on the previous window
	delay               int64   // echo delay found last, in guard samples
	gain2               float32 // in-band echo energy gain at that delay
	// A delay seen once, waiting for a second window to confirm it.
	candidate bool
	candDelay int64
}

// New returns a Guard.
func New(opts ...Option) (*Guard, error) {
	c := config{threshold: defaultThreshold, maxDelay: defaultMaxDelay}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	g := &Guard{threshold: c.threshold, refHP: newBandEdge(), micHP: newBandEdge()}
	g.maxLag = int(int64(c.maxDelay) * guardRate / int64(time.Second))
	g.ring = 1 << 13 // 2 s
	for g.ring < 2*int64(g.maxLag+ahead) {
		g.ring *= 2
	}
	g.ref = make([]float32, g.ring)
	g.refPow = make([]float32, g.ring)
	return g, nil
}

// toGuard brings one stream to guardRate with codecs/resample.
type toGuard struct {
	rate int
	rs   *resample.Resampler // nil: unsupported rate, read as silence
	out  []int16
	// zeros counts input samples of silence since the last sound: once
	// they fill the filter, silence comes out as silence without filtering.
	zeros int
}

// process resamples src (mono, at rate) to guardRate.
func (d *toGuard) process(rate int, src []int16, silent bool) []int16 {
	if d.rate != rate {
		rs, err := resample.New(rate, guardRate)
		if err != nil {
			rs = nil
		}
		*d = toGuard{rate: rate, rs: rs, out: d.out}
	}
	flushed := d.zeros >= rate/20 // 50 ms: longer than the filter
	if silent {
		d.zeros += len(src)
	} else {
		d.zeros = 0
	}
	if d.rs == nil || (silent && flushed && len(src)*guardRate%rate == 0) {
		d.out = append(d.out[:0], make([]int16, len(src)*guardRate/max(rate, 1))...)
		return d.out
	}
	d.out = d.rs.Process(d.out[:0], src)
	return d.out
}

// Reference appends audio the agent played: one frame, or a frame with nil
// Samples for a tick of silence (its length then taken as 20 ms). Frames
// at rates codecs/resample does not support count as silence.
func (g *Guard) Reference(fr pcm.Frame) {
	rate, ch := max(fr.Format.Rate, 1), max(fr.Format.Channels, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	silent := fr.Samples == nil
	var mono []int16
	switch {
	case silent:
		g.refMono = append(g.refMono[:0], make([]int16, rate/50)...)
		mono = g.refMono
	case ch == 1:
		mono = fr.Samples
	default:
		g.refMono = g.refMono[:0]
		for i := 0; i+ch <= len(fr.Samples); i += ch {
			g.refMono = append(g.refMono, fr.Samples[i])
		}
		mono = g.refMono
	}
	out := g.refIn.process(rate, mono, silent)
	n := len(mono)
	active := false
	for k, v := range out {
		var pw float32
		if !silent {
			lo, hi := k*n/len(out), (k+1)*n/len(out)
			for _, s := range mono[lo:hi] {
				x := float32(s) / 32768
				pw += x * x
			}
			pw /= float32(max(hi-lo, 1))
			if pw != 0 {
				active = true
			}
		}
		g.ref[g.refPos&(g.ring-1)] = g.refHP.step(float32(v) / 32768)
		g.refPow[g.refPos&(g.ring-1)] = pw
		g.refPos++
	}
	if active {
		g.lastActive = g.refPos
	}
}

// Verdict thresholds. A search over every delay finds some correlation in
// any signal (the best of ~3,000 random 64 ms correlations is ~0.25), so a
// delay counts as found only well above that; once found, the echo path is
// tracked within trackSpan of it, where chance correlation stays low.
const (
	acquireNCC = 0.5
	trackSpan  = 8    // guard samples (2 ms) either side of the tracked delay
	nearSpan   = 100  // guard samples (25 ms) of delay drift the double-talk test allows
	tailSpan   = 2000 // guard samples (500 ms) of earlier reference whose reverberation may still arrive
	tailDecay  = 400  // guard samples (100 ms) for the reverberation's energy to fall by 1/e
	loudRatio  = 6    // mic energy above the echo's expected energy: double talk
)

// Score rates one microphone window (samples in [-1, 1) at rate Hz, any
// rate codecs/resample supports; the next window follows it) and returns
// how likely it is to be the agent's own voice coming back: 0 not at all,
// 1 surely.
func (g *Guard) Score(window []float32, rate int) float32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	// Analyse this window with the one before it: 64 ms keep chance
	// correlations over thousands of delays well below a real echo's.
	g.mic = append(g.mic[:0], g.prev...)
	prevPow := g.prevPow
	g.prev, g.prevPow = g.prev[:0], 0
	for _, v := range window {
		g.prevPow += v * v
	}
	g.prevPow *= guardRate / float32(max(rate, 1))
	g.micPCM = pcm.FromFloat32(g.micPCM[:0], window)
	for _, v := range g.micIn.process(rate, g.micPCM, g.prevPow == 0) {
		g.prev = append(g.prev, g.micHP.step(float32(v)/32768))
	}
	micPow := prevPow + g.prevPow
	g.mic = append(g.mic, g.prev...)
	n := len(g.mic)
	start := g.micPos - int64(n-len(g.prev))
	g.micPos += int64(len(g.prev))
	if len(g.prev) == 0 || g.lastActive == 0 || start-g.lastActive > int64(g.maxLag) {
		g.score, g.gain2, g.candidate = 0, 0, false
		return 0 // the agent has not spoken within the echo path
	}
	var em float32
	for _, v := range g.mic {
		em += v * v
	}
	// Reference span covering every delay: [start-maxLag, start+ahead+n).
	lo := max(start-int64(g.maxLag), g.refPos-g.ring+1, 0)
	hi := min(start+int64(ahead)+int64(n), g.refPos)
	if hi-lo < int64(n) {
		g.score = 0
		return 0
	}
	g.spanOf(lo, hi)
	tracked := g.gain2 > 0
	if tracked {
		// Double talk: louder than the echo of the reference around the
		// tracked delay can be, in the guard band or in the full band (the
		// user's fricatives).
		if maxEr, maxPow := g.near(start, lo, n); maxEr > 0 &&
			(em > loudRatio*g.gain2*maxEr || micPow > loudRatio*g.gain2*maxPow+1e-6*float32(n)) {
			g.score = 0
			return 0
		}
	}
	if em < 1e-6*float32(n) {
		return g.score // nothing in the guard band: as before
	}
	best, bestAt, bestEr := g.search(em, 0, len(g.span)-n)
	score := float32(0)
	if tracked {
		at := int(start - g.delay - lo)
		local, localAt, localEr := g.search(em, max(at-trackSpan, 0), min(at+trackSpan, len(g.span)-n))
		score = local
		if local >= acquireNCC {
			g.follow(start-(lo+int64(localAt)), local*local*em/localEr, false)
		}
		if best >= acquireNCC && best > local+0.15 {
			// The echo path moved.
			g.follow(start-(lo+int64(bestAt)), best*best*em/bestEr, true)
			score = best
		}
	} else if best >= acquireNCC {
		// Acquire on two windows running that agree on the delay: one
		// strong match can be chance (the onset of the user's speech).
		delay := start - (lo + int64(bestAt))
		if g.candidate && abs64(delay-g.candDelay) <= trackSpan {
			g.follow(delay, best*best*em/bestEr, true)
			score = best
		}
		g.candidate, g.candDelay = true, delay
	} else {
		g.candidate = false
	}
	g.score = score
	return score
}

// spanOf sets span and spanPow to the reference from lo to hi (within the
// ring): slices of the ring itself unless the span wraps around its end.
func (g *Guard) spanOf(lo, hi int64) {
	from, to := lo&(g.ring-1), lo&(g.ring-1)+hi-lo
	if to <= g.ring {
		g.span, g.spanPow = g.ref[from:to], g.refPow[from:to]
		return
	}
	g.spanBuf = append(append(g.spanBuf[:0], g.ref[from:]...), g.ref[:to-g.ring]...)
	g.spanPowBuf = append(append(g.spanPowBuf[:0], g.refPow[from:]...), g.refPow[:to-g.ring]...)
	g.span, g.spanPow = g.spanBuf, g.spanPowBuf
}

// near returns the energies the echo can have now, in the guard band and
// in the full band: the largest n-sample reference energy around the
// tracked delay, or earlier, weighted down by the time since (a room's
// reverberation carries earlier sound for a while).
func (g *Guard) near(start, lo int64, n int) (band, full float32) {
	at := int(start - g.delay - lo)
	from, to := max(at-tailSpan, 0), min(at+nearSpan+n, len(g.span))
	if to-from < n {
		return 0, 0
	}
	var eb, ef float32
	for _, v := range g.span[from : from+n] {
		eb += v * v
	}
	for _, v := range g.spanPow[from : from+n] {
		ef += v
	}
	for s := from; ; s++ {
		w := float32(1)
		if age := at - nearSpan - s; age > 0 {
			w = float32(math.Exp(-float64(age) / tailDecay))
		}
		band, full = max(band, w*eb), max(full, w*ef)
		if s+n >= to {
			return band, full
		}
		eb = max(eb+g.span[s+n]*g.span[s+n]-g.span[s]*g.span[s], 0)
		ef = max(ef+g.spanPow[s+n]-g.spanPow[s], 0)
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// follow updates the tracked echo path. gain2 is the least-squares echo
// gain at the match (squared); the tracked gain is a slowly decaying maximum
// of it, so that the double-talk test does not mistake a loud echo for the
// user.
func (g *Guard) follow(delay int64, gain2 float32, moved bool) {
	g.delay = delay
	if moved {
		g.gain2 = gain2
		return
	}
	g.gain2 = max(g.gain2*0.97, gain2)
}

// search returns the best normalised correlation of the microphone window
// with the reference span at offsets [from, to], its offset and the
// reference energy there. It looks at every second offset, then around the
// best one: the guard band is smooth enough at that spacing.
func (g *Guard) search(em float32, from, to int) (best float32, at int, energy float32) {
	if to-from < 8 {
		return g.scan(em, from, to, 1)
	}
	best, at, energy = g.scan(em, from, to, 2)
	if b, a, e := g.scan(em, max(at-1, from), min(at+1, to), 1); b > best {
		best, at, energy = b, a, e
	}
	return best, at, energy
}

// scan correlates at offsets from, from+step, ... up to to.
func (g *Guard) scan(em float32, from, to, step int) (best float32, at int, energy float32) {
	n := len(g.mic)
	if from > to {
		return 0, 0, 0
	}
	var er float32
	for _, v := range g.span[from : from+n] {
		er += v * v
	}
	for s := from; s <= to; s += step {
		if s > from {
			for k := s - step; k < s; k++ {
				out, in := g.span[k], g.span[k+n]
				er = max(er+in*in-out*out, 0)
			}
		}
		if er <= em*1e-3 {
			continue
		}
		dot := resample.Dot(g.mic, g.span[s:s+n])
		if c := float32(math.Abs(float64(dot)) / math.Sqrt(float64(em)*float64(er))); c > best {
			best, at, energy = c, s, er
		}
	}
	return best, at, energy
}

// Suppress scales a speech probability p by how much its window looks like
// echo (its Score): untouched up to threshold-0.1, zero from threshold+0.15,
// linear between.
func (g *Guard) Suppress(p, score float32) float32 {
	lo, hi := g.threshold-0.1, g.threshold+0.15
	switch {
	case score <= lo:
		return p
	case score >= hi:
		return 0
	}
	return p * (hi - score) / (hi - lo)
}
