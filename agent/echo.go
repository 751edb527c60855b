package agent

import (
	"math"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad"
)

// The echo guard works at 4 kHz, high-passed at 300 Hz: enough of the voice
// band to match speech, cheap enough to search 600 ms of delays per window.
const (
	guardRate = 4000
	guardRing = 1 << 13 // 2 s of reference
)

// biquad is a second-order IIR filter section.
type biquad struct {
	b0, b1, b2, a1, a2 float32
	x1, x2, y1, y2     float32
}

// highpass returns a second-order high-pass at cutoff Hz for guardRate,
// with quality q.
func highpass(cutoff, q float64) biquad {
	w0 := 2 * math.Pi * cutoff / guardRate
	alpha := math.Sin(w0) / (2 * q)
	cw := math.Cos(w0)
	a0 := 1 + alpha
	return biquad{
		b0: float32((1 + cw) / 2 / a0), b1: float32(-(1 + cw) / a0), b2: float32((1 + cw) / 2 / a0),
		a1: float32(-2 * cw / a0), a2: float32((1 - alpha) / a0),
	}
}

// bandEdge is a fourth-order Butterworth high-pass at 450 Hz: the guard
// ignores the voice's fundamental, which echo paths (phone bands, small
// speakers) cut unevenly.
type bandEdge struct{ a, b biquad }

func newBandEdge() bandEdge {
	return bandEdge{a: highpass(450, 0.5412), b: highpass(450, 1.3066)}
}

func (f *bandEdge) step(x float32) float32 { return f.b.step(f.a.step(x)) }

// lowpass returns a second-order low-pass at cutoff Hz for rate, with
// quality q.
func lowpass(rate int, cutoff, q float64) biquad {
	w0 := 2 * math.Pi * cutoff / float64(rate)
	alpha := math.Sin(w0) / (2 * q)
	cw := math.Cos(w0)
	a0 := 1 + alpha
	return biquad{
		b0: float32((1 - cw) / 2 / a0), b1: float32((1 - cw) / a0), b2: float32((1 - cw) / 2 / a0),
		a1: float32(-2 * cw / a0), a2: float32((1 - alpha) / a0),
	}
}

// antiAlias is a fourth-order Butterworth low-pass at 1.7 kHz that keeps
// the decimation to guardRate from folding higher bands into the guard band.
type antiAlias struct {
	rate int
	a, b biquad
}

func (f *antiAlias) step(rate int, x float32) float32 {
	if f.rate != rate {
		*f = antiAlias{rate: rate, a: lowpass(rate, 1700, 0.5412), b: lowpass(rate, 1700, 1.3066)}
	}
	return f.b.step(f.a.step(x))
}

func (f *biquad) step(x float32) float32 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1, f.y2, f.y1 = f.x1, x, f.y1, y
	return y
}

// echoGuard compares microphone windows with the audio the playout sent.
// Both streams are indexed by the session clock (samples since Run began),
// so an echo appears at a delay between -ahead and maxLag.
type echoGuard struct {
	threshold float32
	maxLag    int // in guard samples
	ahead     int

	mu         sync.Mutex
	ref        [guardRing]float32 // band-passed reference at guardRate
	refPow     [guardRing]float32 // full-band mean square behind each sample
	refPos     int64              // guard samples of reference written
	lastActive int64              // refPos after the last non-silent reference frame
	refHP      bandEdge
	refLP      antiAlias

	micHP   bandEdge
	micLP   antiAlias
	micPos  int64
	mic     []float32 // analysis buffer: the previous window and this one
	prev    []float32 // this window, kept for the next
	prevPow float32
	span    []float32
	spanPow []float32
	score   float32 // verdict on the previous window
	delay   int64   // echo delay found last, in guard samples
	gain2   float32 // in-band echo energy gain at that delay
	// A delay seen once, waiting for a second window to confirm it.
	candidate bool
	candDelay int64
}

func newEchoGuard(cfg EchoGuard) *echoGuard {
	g := &echoGuard{threshold: cfg.Threshold, refHP: newBandEdge(), micHP: newBandEdge()}
	if g.threshold == 0 {
		g.threshold = 0.35
	}
	delay := cfg.MaxDelay
	if delay == 0 {
		delay = 600 * time.Millisecond
	}
	g.maxLag = int(int64(delay) * guardRate / int64(time.Second))
	g.ahead = guardRate / 10 // the microphone may be read up to 100 ms late
	return g
}

// reference appends one playout tick: the frame sent, or silence when its
// Samples are nil.
func (g *echoGuard) reference(fr pcm.Frame) {
	n := int(int64(fr.Format.Rate) * int64(20*time.Millisecond) / int64(time.Second))
	if fr.Samples != nil {
		n = len(fr.Samples) / max(fr.Format.Channels, 1)
	}
	out := n * guardRate / max(fr.Format.Rate, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	active := false
	for k := range out {
		var v, pw float32
		if fr.Samples != nil {
			lo, hi := k*n/out, (k+1)*n/out
			var sum float32
			ch := fr.Format.Channels
			for i := lo; i < hi; i++ {
				x := float32(fr.Samples[i*ch]) / 32768
				sum += g.refLP.step(fr.Format.Rate, x)
				pw += x * x
			}
			v = sum / float32(max(hi-lo, 1))
			pw /= float32(max(hi-lo, 1))
			if pw != 0 {
				active = true
			}
		}
		g.ref[g.refPos&(guardRing-1)] = g.refHP.step(v)
		g.refPow[g.refPos&(guardRing-1)] = pw
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

// check scores one microphone window at 16 kHz and returns how likely it is
// to be the agent's own voice coming back (0: not at all, 1: surely).
func (g *echoGuard) check(window []float32, rate int) float32 {
	f := max(rate/guardRate, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	// Analyse this window with the one before it: 64 ms keep chance
	// correlations over thousands of delays well below a real echo's.
	g.mic = append(g.mic[:0], g.prev...)
	prevPow := g.prevPow
	g.prev, g.prevPow = g.prev[:0], 0
	for i := 0; i+f <= len(window); i += f {
		var sum float32
		for _, v := range window[i : i+f] {
			sum += g.micLP.step(rate, v)
			g.prevPow += v * v
		}
		g.prev = append(g.prev, g.micHP.step(sum/float32(f)))
	}
	g.prevPow /= float32(f)
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
	lo := max(start-int64(g.maxLag), g.refPos-guardRing+1, 0)
	hi := min(start+int64(g.ahead)+int64(n), g.refPos)
	if hi-lo < int64(n) {
		g.score = 0
		return 0
	}
	g.span, g.spanPow = g.span[:0], g.spanPow[:0]
	for p := lo; p < hi; p++ {
		g.span = append(g.span, g.ref[p&(guardRing-1)])
		g.spanPow = append(g.spanPow, g.refPow[p&(guardRing-1)])
	}
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

// near returns the energies the echo can have now, in the guard band and
// in the full band: the largest n-sample reference energy around the
// tracked delay, or earlier, weighted down by the time since (a room's
// reverberation carries earlier sound for a while).
func (g *echoGuard) near(start, lo int64, n int) (band, full float32) {
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

// slidingMax returns the largest sum over n consecutive values of x (of
// their squares when square is set).
func slidingMax(x []float32, n int, square bool) float32 {
	f := func(v float32) float32 { return v }
	if square {
		f = func(v float32) float32 { return v * v }
	}
	var sum float32
	for _, v := range x[:n] {
		sum += f(v)
	}
	best := sum
	for i := n; i < len(x); i++ {
		sum = max(sum+f(x[i])-f(x[i-n]), 0)
		best = max(best, sum)
	}
	return best
}

// follow updates the tracked echo path. gain2 is the least-squares echo
// gain at the match (squared); the tracked gain is a slowly decaying maximum
// of it, so that the double-talk test does not mistake a loud echo for the
// user.
func (g *echoGuard) follow(delay int64, gain2 float32, moved bool) {
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
func (g *echoGuard) search(em float32, from, to int) (best float32, at int, energy float32) {
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
func (g *echoGuard) scan(em float32, from, to, step int) (best float32, at int, energy float32) {
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
		dot := dot32(g.mic, g.span[s:s+n])
		if c := float32(math.Abs(float64(dot)) / math.Sqrt(float64(em)*float64(er))); c > best {
			best, at, energy = c, s, er
		}
	}
	return best, at, energy
}

// dot32 returns the dot product of a and b (len(b) >= len(a)), with four
// accumulators.
func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// suppress scales a speech probability by how much the window looks like
// echo: untouched below threshold-0.1, zero above threshold+0.15.
func (g *echoGuard) suppress(p, score float32) float32 {
	lo, hi := g.threshold-0.1, g.threshold+0.15
	switch {
	case score <= lo:
		return p
	case score >= hi:
		return 0
	}
	return p * (hi - score) / (hi - lo)
}

// guardedModel wraps a VAD model so that windows matching the agent's own
// recent output do not count as speech.
type guardedModel struct {
	vad.Model
	g *echoGuard
}

// Probability implements vad.Model.
func (m guardedModel) Probability(window []float32) (float32, error) {
	p, err := m.Model.Probability(window)
	if err != nil {
		return p, err
	}
	return m.g.suppress(p, m.g.check(window, m.Model.Rate())), nil
}
