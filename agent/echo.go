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

// highpass300 returns a 300 Hz Butterworth high-pass at guardRate.
func highpass300() biquad {
	w0 := 2 * math.Pi * 300 / guardRate
	alpha := math.Sin(w0) / (2 * math.Sqrt2 / 2)
	cw := math.Cos(w0)
	a0 := 1 + alpha
	return biquad{
		b0: float32((1 + cw) / 2 / a0), b1: float32(-(1 + cw) / a0), b2: float32((1 + cw) / 2 / a0),
		a1: float32(-2 * cw / a0), a2: float32((1 - alpha) / a0),
	}
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
	ref        [guardRing]float32
	refPos     int64 // guard samples of reference written
	lastActive int64 // refPos after the last non-silent reference frame
	refHP      biquad

	micHP  biquad
	micPos int64
	mic    []float32
	span   []float32
	score  float32
}

func newEchoGuard(cfg EchoGuard) *echoGuard {
	g := &echoGuard{threshold: cfg.Threshold, refHP: highpass300(), micHP: highpass300()}
	if g.threshold == 0 {
		g.threshold = 0.5
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
		var v float32
		if fr.Samples != nil {
			lo, hi := k*n/out, (k+1)*n/out
			var sum float32
			ch := fr.Format.Channels
			for i := lo; i < hi; i++ {
				sum += float32(fr.Samples[i*ch])
			}
			v = sum / float32(max(hi-lo, 1)) / 32768
			if v != 0 {
				active = true
			}
		}
		g.ref[g.refPos&(guardRing-1)] = g.refHP.step(v)
		g.refPos++
	}
	if active {
		g.lastActive = g.refPos
	}
}

// check scores one microphone window at 16 kHz and returns how strongly it
// matches the recent reference (0: not at all, 1: a scaled copy).
func (g *echoGuard) check(window []float32, rate int) float32 {
	f := max(rate/guardRate, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mic = g.mic[:0]
	for i := 0; i+f <= len(window); i += f {
		var sum float32
		for _, v := range window[i : i+f] {
			sum += v
		}
		g.mic = append(g.mic, g.micHP.step(sum/float32(f)))
	}
	n := len(g.mic)
	start := g.micPos
	g.micPos += int64(n)
	g.score = 0
	if n == 0 || g.lastActive == 0 || start-g.lastActive > int64(g.maxLag) {
		return 0 // the agent has not spoken within the echo path
	}
	var em float32
	for _, v := range g.mic {
		em += v * v
	}
	if em < 1e-7*float32(n) {
		return 0
	}
	// Reference span covering every delay: [start-maxLag, start+ahead+n).
	lo := max(start-int64(g.maxLag), g.refPos-guardRing+1, 0)
	hi := min(start+int64(g.ahead)+int64(n), g.refPos)
	if hi-lo < int64(n) {
		return 0
	}
	g.span = g.span[:0]
	for p := lo; p < hi; p++ {
		g.span = append(g.span, g.ref[p&(guardRing-1)])
	}
	// Sliding reference energy.
	var er float32
	for _, v := range g.span[:n] {
		er += v * v
	}
	best := float32(0)
	for s := 0; s+n <= len(g.span); s++ {
		if s > 0 {
			out, in := g.span[s-1], g.span[s+n-1]
			er += in*in - out*out
		}
		if er > em*1e-3 {
			var dot float32
			r := g.span[s : s+n]
			for i, v := range g.mic {
				dot += v * r[i]
			}
			if c := float32(math.Abs(float64(dot)) / math.Sqrt(float64(em)*float64(er))); c > best {
				best = c
			}
		}
	}
	g.score = best
	return best
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
