package aec

import "math"

// suppressor removes the echo the adaptive filter leaves: a gain per bin
// on a short-time spectrum (square-root Hann windows of 2b samples, hop b,
// overlap-add), from an estimate of the residual echo in each bin.
//
// The residual echo is the echo estimate's power times a leakage per band,
// measured as the slope of the error's power against the echo estimate's
// power over the last second or so: the user's voice does not follow the
// agent's, so it adds scatter but no slope, and double talk does not
// inflate the estimate. A leakage measured over a second is slow to see a
// burst the filter cancels little of (the echo path changed, or the agent's
// voice moved into bins the filter has not learnt yet): the share of the
// output coherent with the echo estimate over the last few blocks counts
// as residual echo too, up to the estimate's own power. The user's voice
// is not coherent with it. Near-end speech keeps a gain near one in the bins
// it dominates; the gain follows a decision-directed Wiener rule with an
// overestimated echo and a floor.
type suppressor struct {
	b, s   int
	plan   *fftPlan
	win    []float32 // 2b
	ebuf   []float32 // filter output, previous block and this one
	ybuf   []float32 // echo estimate, previous block and this one
	tbuf   []float32
	olap   []float32 // second half of the previous synthesis
	er, ei []float32 // windowed filter output spectrum
	yr, yi []float32 // windowed echo estimate spectrum
	gain   []float32
	prev   []float32 // previous block's |G·E|²
	res    []float32 // residual echo estimate per bin

	bands            []int     // band edges over the bins
	mY, mE, mYY, mYE []float32 // per band: moments of |Ŷ|² and |E|²
	leak             []float32 // per band: residual echo over echo estimate
	// Per bin, over the last few blocks: the cross-spectrum of the output
	// with the echo estimate (cr, ci) and their powers (see, syy).
	cr, ci, see, syy     []float32
	echo, near, residual float32 // this block's totals, for the detectors
}

// Constants of the suppressor.
const (
	supKeep    = 0.99  // moments' forgetting per block (about 0.8 s)
	supLeakMin = 1e-3  // leakage bounds: -30 dB …
	supLeakMax = 1     // … 0 dB
	supLeak0   = 0.5   // leakage before any measurement
	supOver    = 1.5   // residual echo overestimation
	supDD      = 0.9   // decision-directed smoothing
	supFloor   = 0.003 // gain floor (-50 dB)
	supCohKeep = 0.8   // cross-spectra's forgetting per block (about 40 ms)
	supCohBias = 0.3   // coherence that chance alone reaches over that span
)

func newSuppressor(b int, plan *fftPlan) *suppressor {
	s := padBins(b)
	p := &suppressor{
		b: b, s: s, plan: plan,
		win: make([]float32, 2*b), ebuf: make([]float32, 2*b), ybuf: make([]float32, 2*b),
		tbuf: make([]float32, 2*b), olap: make([]float32, b),
		er: make([]float32, s), ei: make([]float32, s), yr: make([]float32, s), yi: make([]float32, s),
		gain: make([]float32, s), prev: make([]float32, s), res: make([]float32, s),
		cr: make([]float32, s), ci: make([]float32, s), syy: make([]float32, s), see: make([]float32, s),
	}
	for i := range p.win {
		p.win[i] = float32(math.Sqrt(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(2*b))))
	}
	// Bands of 4 bins at the bottom, widening to 16: 1/3 octave or finer.
	for k := 0; k <= b; {
		p.bands = append(p.bands, k)
		k += min(max(4, k/6), 16)
	}
	p.bands = append(p.bands, b+1)
	nb := len(p.bands) - 1
	p.mY, p.mE = make([]float32, nb), make([]float32, nb)
	p.mYY, p.mYE = make([]float32, nb), make([]float32, nb)
	p.leak = make([]float32, nb)
	for i := range p.leak {
		p.leak[i] = supLeak0
	}
	return p
}

// analyse windows the filter's output e and echo estimate yhat (one block
// each, appended to the previous block) and transforms them.
func (p *suppressor) analyse(e, yhat []float32) {
	b := p.b
	copy(p.ebuf, p.ebuf[b:])
	copy(p.ebuf[b:], e)
	copy(p.ybuf, p.ybuf[b:])
	copy(p.ybuf[b:], yhat)
	for i, w := range p.win {
		p.tbuf[i] = w * p.ebuf[i]
	}
	p.plan.forward(p.er, p.ei, p.tbuf)
	for i, w := range p.win {
		p.tbuf[i] = w * p.ybuf[i]
	}
	p.plan.forward(p.yr, p.yi, p.tbuf)
}

// estimate updates the leakage (when the echo estimate carries the
// agent's voice: adapt) and the residual echo per bin: the larger of the
// leakage times the echo estimate and expected, the residual the filter's
// own error variance predicts (large until it has converged). noise is the
// microphone's noise floor per bin (in the same units).
func (p *suppressor) estimate(adapt bool, expected, noise []float32) {
	var echo, near, residual float32
	for i := range p.leak {
		// The band's powers, and its coherence between the output and the
		// echo estimate over the last few blocks: the share of the output
		// that is still the agent's voice, which the filter has not
		// removed (after the echo path changed, or in bins the filter
		// has not learnt yet), less what chance alone reaches.
		var sy, se, num, den float32
		for k := p.bands[i]; k < p.bands[i+1]; k++ {
			const a = 1 - supCohKeep
			er, ei, yr, yi := p.er[k], p.ei[k], p.yr[k], p.yi[k]
			y2, e2 := yr*yr+yi*yi, er*er+ei*ei
			sy += y2
			se += e2
			p.cr[k] += a * (er*yr + ei*yi - p.cr[k])
			p.ci[k] += a * (ei*yr - er*yi - p.ci[k])
			p.see[k] += a * (e2 - p.see[k])
			p.syy[k] += a * (y2 - p.syy[k])
			num += p.cr[k]*p.cr[k] + p.ci[k]*p.ci[k]
			den += p.see[k] * p.syy[k]
		}
		var coh float32
		if den > 0 {
			coh = max(num/den-supCohBias, 0) / (1 - supCohBias)
		}
		if adapt {
			const a = 1 - supKeep
			p.mY[i] += a * (sy - p.mY[i])
			p.mE[i] += a * (se - p.mE[i])
			p.mYY[i] += a * (sy*sy - p.mYY[i])
			p.mYE[i] += a * (sy*se - p.mYE[i])
			if v := p.mYY[i] - p.mY[i]*p.mY[i]; v > 0 {
				slope := (p.mYE[i] - p.mY[i]*p.mE[i]) / v
				p.leak[i] = min(max(slope, supLeakMin), supLeakMax)
			}
		}
		for k := p.bands[i]; k < p.bands[i+1]; k++ {
			y2 := p.yr[k]*p.yr[k] + p.yi[k]*p.yi[k]
			e2 := p.er[k]*p.er[k] + p.ei[k]*p.ei[k]
			r := max(p.leak[i]*y2, expected[k])
			if adapt {
				// The coherent share of the output, up to the echo
				// estimate's own power: a burst the leakage, measured
				// over a second, has not caught up with.
				r = max(r, min(coh*e2, y2))
			}
			p.res[k] = r
			echo += y2
			residual += r
			near += max(e2-supOver*r-noise[k], 0)
		}
	}
	p.echo, p.near, p.residual = echo, near, residual
}

// synthesise applies the gains (or none, when off) and writes b samples of
// output, one block behind the input.
func (p *suppressor) synthesise(out []float32, on bool) {
	b := p.b
	for k := range b + 1 {
		g := float32(1)
		e2 := p.er[k]*p.er[k] + p.ei[k]*p.ei[k]
		if on && p.res[k] > 0 {
			r := supOver * p.res[k]
			post := e2/r - 1
			xi := supDD*p.prev[k]/r + (1-supDD)*max(post, 0)
			g = max(xi/(1+xi), supFloor)
		}
		p.gain[k] = g
		p.prev[k] = g * g * e2
		p.er[k] *= g
		p.ei[k] *= g
	}
	p.plan.inverse(p.tbuf, p.er, p.ei)
	for i := range b {
		out[i] = p.olap[i] + p.win[i]*p.tbuf[i]
		p.olap[i] = p.win[b+i] * p.tbuf[b+i]
	}
}
