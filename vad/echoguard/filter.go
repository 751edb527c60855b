package echoguard

import "math"

// biquad is a second-order IIR filter section.
type biquad struct {
	b0, b1, b2, a1, a2 float32
	x1, x2, y1, y2     float32
}

// highpass returns a second-order high-pass at cutoff Hz for rate, with
// quality q.
func highpass(rate int, cutoff, q float64) biquad {
	w0 := 2 * math.Pi * cutoff / float64(rate)
	alpha := math.Sin(w0) / (2 * q)
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

// bandEdge is a fourth-order Butterworth high-pass at 450 Hz for guardRate.
type bandEdge struct{ a, b biquad }

func newBandEdge() bandEdge {
	return bandEdge{a: highpass(guardRate, 450, 0.5412), b: highpass(guardRate, 450, 1.3066)}
}

func (f *bandEdge) step(x float32) float32 { return f.b.step(f.a.step(x)) }
