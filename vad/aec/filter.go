package aec

// filter is the adaptive echo path model: a partitioned-block frequency-
// domain filter (overlap-save, blocks of b samples, FFT size n = 2b) whose
// step size per partition and bin comes from a diagonal Kalman model.
//
// Partition p holds the echo path between p·b and (p+1)·b samples after
// the bulk delay. For each bin k it keeps the filter W_p(k) and the
// variance of its error P_p(k). Each block:
//
//	Ŷ    = Σ_p X_{j-p} W_p                  echo estimate (last b samples kept)
//	E    = FFT([0, y - ŷ])                  error spectrum
//	R    = Σ_p |X_{j-p}|² P_p               twice the residual echo expected in E
//	Ψ    = max(|E|² - R/2, decayed Ψ, N)    near-end power, at least the noise floor N
//	μ_p  = P_p / (R + 2Ψ + δ)               Kalman gain per partition and bin
//	W_p += μ_p X*_{j-p} E
//	P_p  = min(a(P_p - s·μ_p|X_{j-p}|² P_p/2) + q|W_p|², ceiling_p)
//
// Ψ follows the error at once when it rises (the user's voice makes the
// step small in the bins it occupies, so double talk cannot drag the
// filter away) and decays over a few blocks; it never drops below the
// noise floor, so an error small by chance cannot make the step large.
// The variance shrinks by a share s < 1 of the Kalman reduction: the
// partitions' reference spectra overlap and are correlated, which the
// diagonal model does not see. The process noise q|W_p|² lets the filter
// follow a slowly changing echo path in proportion to each partition's
// energy. The variances start from, and stay below, the echo coupling
// measured on the first blocks times a prior profile over the partitions
// (flat while the echo's delay is unknown, decaying after its start once
// it is known). The gradient is left unconstrained; instead one partition
// per block is projected back to b taps, in turn.
type filter struct {
	b, s, parts int // block, padded bins, partitions
	plan        *fftPlan

	// Reference spectra, newest at head, partition p at (head-p) mod parts.
	xr, xi, xp []float32 // parts×s: real, imaginary, power
	head       int
	wr, wi, pk []float32 // parts×s: filter and its error variance

	yr, yi   []float32 // s: echo estimate spectrum
	er, ei   []float32 // s: error spectrum
	r, psi   []float32 // s: expected residual echo, near-end power
	gr, gi   []float32 // s: E / (R + 2Ψ + δ)
	tbuf     []float32 // n: time-domain scratch
	next     int       // partition constrained next
	a, q     float32   // state decay and process noise per block
	psiDecay float32
	delta    float32 // regularisation of the step's denominator

	// Echo coupling: the filter's error variance is capped at what the
	// measured coupling allows (cap, per partition), and leaks toward it.
	xsum       []float32 // parts: total reference power per slot
	prior      []float32 // parts: prior energy profile over partitions
	cap        []float32 // parts: ceiling of P per partition
	gNum, gDen float32   // coupling estimate, smoothed
	gSeed      float32   // the coupling the error variances last started from
	ready      bool      // P initialised from a coupling estimate
	nf, sm     []float32
	rexp       []float32 // s: residual echo the model expects in E (R/2)
	seen       int
}

// Constants of the filter's step control.
const (
	filterA         = 0.99995 // P decay per block
	filterQ         = 1e-4    // process noise per block, relative to |W|²
	filterPsiDecay  = 0.5     // near-end power estimate's decay per block
	filterP0Decay   = 0.8     // prior energy profile: decay per partition
	filterCeiling   = 4       // P's ceiling over the coupling times the prior
	filterShrink    = 0.25    // share of the Kalman variance reduction applied
	filterNoiseRise = 1.005   // noise floor's rise per block (+2.7 dB/s)
	filterNoiseBias = 2       // noise power over the floor (the smoothed power's minimum)
)

func newFilter(b, parts int, plan *fftPlan) *filter {
	s := padBins(b)
	f := &filter{
		b: b, s: s, parts: parts, plan: plan,
		xr: make([]float32, parts*s), xi: make([]float32, parts*s), xp: make([]float32, parts*s),
		wr: make([]float32, parts*s), wi: make([]float32, parts*s), pk: make([]float32, parts*s),
		yr: make([]float32, s), yi: make([]float32, s), er: make([]float32, s), ei: make([]float32, s),
		r: make([]float32, s), psi: make([]float32, s), gr: make([]float32, s), gi: make([]float32, s),
		tbuf: make([]float32, 2*b),
		nf:   make([]float32, s), sm: make([]float32, s), rexp: make([]float32, s), xsum: make([]float32, parts), prior: make([]float32, parts), cap: make([]float32, parts),
		a: filterA, q: filterQ, psiDecay: filterPsiDecay,
		delta: float32(b), // one LSB² of near-end power per sample
	}
	f.reset()
	f.setPrior(true)
	return f
}

// padBins returns the bins of a 2b-point real FFT (b+1) rounded up to a
// multiple of 8, so that vector kernels need no tail loop. The padding
// stays zero.
func padBins(b int) int { return (b + 1 + 7) &^ 7 }

// reset forgets the echo path and the reference.
func (f *filter) reset() {
	for _, v := range [][]float32{f.xr, f.xi, f.xp, f.wr, f.wi, f.pk, f.psi, f.xsum, f.cap} {
		clear(v)
	}
	f.gNum, f.gDen, f.ready, f.seen = 0, 0, false, 0
	f.head, f.next = 0, 0
}

// pushRef adds the spectrum of the newest reference window (2b samples:
// the previous block and this one) as partition 0.
func (f *filter) pushRef(x []float32) {
	f.head = (f.head + 1) % f.parts
	o := f.head * f.s
	xr, xi, xp := f.xr[o:o+f.s], f.xi[o:o+f.s], f.xp[o:o+f.s]
	f.plan.forward(xr, xi, x)
	var sum float32
	for k := range f.b + 1 {
		xp[k] = xr[k]*xr[k] + xi[k]*xi[k]
		sum += xp[k]
	}
	f.xsum[f.head] = sum
}

// setRef stores the spectrum of reference window x as partition p (1 ≤ p
// < parts) after the next pushRef: used to rebuild the reference spectra
// when the bulk delay changes.
func (f *filter) setRef(p int, x []float32) {
	i := f.head - (p - 1)
	if i < 0 {
		i += f.parts
	}
	o := i * f.s
	xr, xi, xp := f.xr[o:o+f.s], f.xi[o:o+f.s], f.xp[o:o+f.s]
	f.plan.forward(xr, xi, x)
	var sum float32
	for k := range f.b + 1 {
		xp[k] = xr[k]*xr[k] + xi[k]*xi[k]
		sum += xp[k]
	}
	f.xsum[i] = sum
}

// refActive reports whether the reference in the filter's span is above
// -60 dBFS.
func (f *filter) refActive() bool { return f.refPower() >= refActiveLevel*float32(2*f.b*f.b) }

// refActiveLevel is the mean square (int16 units) of a reference that
// counts as active: -60 dBFS.
const refActiveLevel = 1000

// refPower returns the reference power in the filter's span, weighted by
// the prior profile (in spectral units: Σ_k |X(k)|² ≈ n²/2 times the mean
// square).
func (f *filter) refPower() float32 {
	var den float32
	for p := range f.parts {
		den += f.prior[p] * f.xsum[f.slot(p)/f.s]
	}
	return den
}

// expectedEcho returns the echo power the coupling estimate predicts in
// this block (in the error spectrum's units, summed over bins).
func (f *filter) expectedEcho() float32 {
	if f.gDen == 0 {
		return 0
	}
	return 0.5 * f.gNum / f.gDen * f.refPower()
}

// slot returns the offset of partition p's reference spectrum.
func (f *filter) slot(p int) int {
	i := f.head - p
	if i < 0 {
		i += f.parts
	}
	return i * f.s
}

// estimate writes the echo estimate for the current block (b samples).
func (f *filter) estimate(yhat []float32) {
	clear(f.yr)
	clear(f.yi)
	for p := range f.parts {
		o, w := f.slot(p), p*f.s
		f.plan.k.cmac(f.yr, f.yi, f.xr[o:o+f.s], f.xi[o:o+f.s], f.wr[w:w+f.s], f.wi[w:w+f.s])
	}
	f.plan.inverse(f.tbuf, f.yr, f.yi)
	copy(yhat, f.tbuf[f.b:])
}

// adapt updates the filter with the error of the current block (b
// samples); ey is the microphone block's energy.
func (f *filter) adapt(e []float32, ey float32) {
	b, s := f.b, f.s
	clear(f.tbuf[:b])
	copy(f.tbuf[b:], e)
	f.plan.forward(f.er, f.ei, f.tbuf)
	er, ei, nf, sm := f.er[:b+1], f.ei[:b+1], f.nf[:b+1], f.sm[:b+1]
	// The noise floor: the smoothed error power's minimum, rising slowly.
	var noise float32
	for k := range er {
		e2 := er[k]*er[k] + ei[k]*ei[k]
		sm[k] = 0.7*sm[k] + 0.3*e2
		n := nf[k] * filterNoiseRise
		if sm[k] < n || n == 0 {
			n = sm[k]
		}
		nf[k] = n
		noise += n * filterNoiseBias
	}
	f.coupling(ey, noise/float32(b))
	if !f.ready {
		return
	}
	clear(f.r)
	for p := range f.parts {
		o, w := f.slot(p), p*s
		f.plan.k.mac(f.r, f.xp[o:o+s], f.pk[w:w+s])
	}
	r, psi, gr, gi := f.r[:b+1], f.psi[:b+1], f.gr[:b+1], f.gi[:b+1]
	for k := range er {
		e2 := er[k]*er[k] + ei[k]*ei[k]
		// Near-end power: what the error holds beyond the expected
		// residual echo, held with a decay, and never below the noise
		// floor (so that an error small by chance cannot make the step
		// large).
		ps := max(e2-0.5*r[k], f.psiDecay*psi[k])
		psi[k] = ps
		ps = max(ps, filterNoiseBias*nf[k])
		f.rexp[k] = 0.5 * r[k]
		inv := 1 / (r[k] + 2*ps + f.delta)
		gr[k], gi[k] = er[k]*inv, ei[k]*inv
		r[k] = inv // kept for the variance update
	}
	for p := range f.parts {
		o, w := f.slot(p), p*s
		f.plan.k.kalmanUpdate(f.wr[w:w+s], f.wi[w:w+s], f.pk[w:w+s], f.xr[o:o+s], f.xi[o:o+s], f.xp[o:o+s],
			f.gr, f.gi, f.r, f.a, f.q, f.cap[p])
	}
	f.constrain(f.next)
	f.next = (f.next + 1) % f.parts
}

// coupling updates the echo coupling estimate from a block with
// reference: the microphone's energy above the noise over the reference's,
// weighted by the prior profile. Without near-end speech and at zero
// filter, E|E(k)|² = ½ Σ_p |X_p(k)|² |W_p(k)|²; for |W_p(k)|² = g·prior_p
// the sums over k give g = 2b·Σy² / Σ_p prior_p Σ_k |X_p(k)|². Near-end
// speech makes g an upper bound, which is what a ceiling needs. The
// filter starts adapting once 6 blocks have been seen.
func (f *filter) coupling(ey, noise float32) {
	den := f.refPower()
	if den < refActiveLevel*float32(2*f.b*f.b) {
		return
	}
	const keep = 0.98 // about 0.4 s
	f.gNum = keep*f.gNum + 2*float32(f.b)*max(ey-noise, 0)
	f.gDen = keep*f.gDen + den
	g := f.gNum / f.gDen
	for p := range f.parts {
		f.cap[p] = filterCeiling * g * f.prior[p]
	}
	if f.seen++; f.seen == 6 {
		f.ready = true
		f.setPrior(f.prior[f.parts-1] < f.prior[0])
	}
}

// constrain projects partition p back to b taps (zeroes the second half of
// its impulse response, which the unconstrained gradient fills with
// circular wrap-around).
func (f *filter) constrain(p int) {
	w := p * f.s
	wr, wi := f.wr[w:w+f.s], f.wi[w:w+f.s]
	f.plan.inverse(f.tbuf, wr, wi)
	clear(f.tbuf[f.b:])
	f.plan.forward(wr, wi, f.tbuf)
}

// shift moves the filter by d partitions (positive: the echo path is now d
// blocks later than before, so partition p takes partition p-d's filter
// and error variance). Partitions with nothing to take start from zero
// and the prior. The reference spectra must be rebuilt by the caller
// (setRef).
func (f *filter) shift(d int) {
	s := f.s
	d = min(max(d, -f.parts), f.parts)
	lo, hi := 0, d // partitions that start over
	switch {
	case d > 0:
		for _, v := range [][]float32{f.wr, f.wi, f.pk} {
			copy(v[d*s:], v[:(f.parts-d)*s])
		}
	case d < 0:
		for _, v := range [][]float32{f.wr, f.wi, f.pk} {
			copy(v, v[-d*s:])
		}
		lo, hi = f.parts+d, f.parts
	}
	var g float32
	if f.gDen > 0 {
		g = f.gNum / f.gDen
	}
	for p := lo; p < hi; p++ {
		w := p * s
		clear(f.wr[w : w+s])
		clear(f.wi[w : w+s])
		pk := f.pk[w : w+f.b+1]
		for k := range pk {
			pk[k] = g * f.prior[p]
		}
	}
}

// setPrior sets the prior energy profile over the partitions: decaying
// after the first preLag+1 (the echo's delay is known and those hold its
// start, give or take a block) or flat (it is not), and restarts the error variances from
// it when the coupling is known.
func (f *filter) setPrior(decaying bool) {
	// The coupling estimate's reference power is weighted by the prior:
	// carry it over to the new weights.
	before := f.refPower()
	p0 := float32(1)
	for p := range f.parts {
		f.prior[p] = p0
		if decaying && p >= preLag {
			p0 *= filterP0Decay
		}
	}
	if after := f.refPower(); before > 0 && after > 0 {
		f.gDen *= after / before
	}
	if !f.ready {
		return
	}
	g := f.gNum / f.gDen
	f.gSeed = g
	for p := range f.parts {
		f.cap[p] = filterCeiling * g * f.prior[p]
		pk := f.pk[p*f.s : p*f.s+f.b+1]
		for k := range pk {
			pk[k] = g * f.prior[p]
		}
	}
}

// reseed restarts the error variances from the coupling if it has grown
// well past the one they started from: they started on the first blocks
// of reference, before a late echo reached the microphone, and so small
// that the filter would learn the echo only slowly. The caller asks while
// the filter cancels little of an echo without the user.
func (f *filter) reseed() {
	if f.ready && f.gNum > filterReseed*f.gSeed*f.gDen {
		f.setPrior(f.prior[f.parts-1] < f.prior[0])
	}
}

// filterReseed is how far the coupling must grow past the one the error
// variances started from before reseed restarts them.
const filterReseed = 2

// energy returns the filter's energy per partition (Parseval: the energy
// of its b taps, times n).
func (f *filter) energy(dst []float32) {
	for p := range f.parts {
		w := p * f.s
		var e float32
		for k := range f.b + 1 {
			v := f.wr[w+k]*f.wr[w+k] + f.wi[w+k]*f.wi[w+k]
			if k == 0 || k == f.b {
				v *= 0.5
			}
			e += v
		}
		dst[p] = e
	}
}
