package aec

import (
	"math"
	"sync"
)

// refRing keeps the most recent reference samples keyed by their position
// on the playout clock. Positions never written read as silence, so gaps
// in the playout (pauses with no frames sent) need no special handling.
// Samples pass a high-pass filter on the way in: no loudspeaker plays DC
// or the lowest bass, and a reference offset the echo never carries would
// only disturb the filter. It is safe for one writer and one reader in
// different goroutines.
type refRing struct {
	mu  sync.Mutex
	buf []int16 // len a power of two
	end int64   // one past the highest position written
	hp  biquad
}

func newRefRing(size, rate int) *refRing {
	n := 1
	for n < size {
		n <<= 1
	}
	return &refRing{buf: make([]int16, n), hp: highpass(rate, 60)}
}

// biquad is a second-order IIR section.
type biquad struct {
	b0, b1, b2, a1, a2 float32
	x1, x2, y1, y2     float32
}

// highpass returns a second-order Butterworth high-pass at cutoff Hz.
func highpass(rate int, cutoff float64) biquad {
	w0 := 2 * math.Pi * cutoff / float64(rate)
	alpha := math.Sin(w0) / math.Sqrt2
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

// write stores samples at positions pos, pos+1, …; positions skipped since
// the last write become silence. Samples older than the ring keeps are
// dropped.
func (r *refRing) write(pos int64, samples []int16) {
	mask := int64(len(r.buf) - 1)
	size := int64(len(r.buf))
	r.mu.Lock()
	defer r.mu.Unlock()
	top := pos + int64(len(samples))
	end := max(r.end, top)
	if lo := end - size; pos < lo { // keep only what the ring can hold
		if top <= lo {
			return
		}
		samples = samples[lo-pos:]
		pos = lo
	}
	for p := max(r.end, pos-size); p < pos; p++ { // the gap since the last write
		r.buf[p&mask] = clip16(r.hp.step(0))
	}
	for i, v := range samples {
		r.buf[(pos+int64(i))&mask] = clip16(r.hp.step(float32(v)))
	}
	r.end = end
}

// read copies the samples at positions pos … pos+len(dst)-1 into dst:
// silence where nothing was written or the ring no longer holds them.
func (r *refRing) read(dst []float32, pos int64) {
	mask := int64(len(r.buf) - 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	lo, hi := r.end-int64(len(r.buf)), r.end
	for i := range dst {
		p := pos + int64(i)
		if p < lo || p >= hi || p < 0 {
			dst[i] = 0
			continue
		}
		dst[i] = float32(r.buf[p&mask])
	}
}
