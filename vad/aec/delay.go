package aec

import "math"

// delayEstimator finds the bulk delay of the echo in whole blocks, so the
// adaptive filter's partitions are spent on the room and not on the
// transport. It correlates the envelopes of the reference and the
// microphone in a few bands: for every candidate lag it keeps exponentially
// weighted covariances of the log band energies and of their changes from
// block to block (each lag's over the same blocks, with its own means), and
// the lag whose covariances, normalised per feature, sum highest wins. The transport's
// jitter buffer changes the delay now and then; the estimate follows once a
// new lag has led for a while.
type delayEstimator struct {
	minLag, lags int // lag range: minLag … minLag+lags-1 blocks
	bands        [][2]int
	nf           int       // features per block: the bands' log energies, then their changes since the last block
	ref          []float32 // ring of reference features, (lags+1)×nf
	refHead      int       // slot of the newest reference block
	cross        []float32 // lags×nf: mean of microphone times lagged reference
	lagMean      []float32 // lags×nf: mean of the lagged reference
	prevM, prevR []float32 // the previous microphone and reference blocks' log band energies
	meanM, varM  []float32 // microphone band statistics
	meanR, varR  []float32 // reference band statistics
	m            []float32 // this block's microphone log band energies
	norm         []float32 // per feature: 1/sqrt(varM·varR)
	am, mn       []float32 // per feature: this block's a·m, meanM·norm
	score        []float32

	best, lead int // best lag (index), blocks it has led
	lag        int // the estimate (index), -1 before the first
	confidence float32
	updates    int
	floorM     []float32 // microphone band floors: minima, rising slowly
	heard      int       // blocks with reference whose microphone stood above its floor
}

// Constants of the delay estimator.
const (
	delayKeep    = 0.995 // forgetting per block: about 1.6 s
	delayFloor   = 1e4   // band energy floor (int16 units, summed bins)
	delayLead    = 30    // blocks a new lag must lead before it is taken
	delayMinConf = 0.25  // normalised correlation needed to take a lag
	delayWarmup  = 40    // blocks with reference before a first estimate
	delayHeard   = 20    // of them, blocks whose microphone stood above its floor
	delayAbove   = 2.3   // mean log band energy above the floor that counts (10 dB)
	delayRise    = 0.003 // floors' rise per block (about 1.6 dB/s)
	delayMargin  = 0.1   // score a new lag needs over the current one
)

// newDelayEstimator covers lags lo…hi blocks for blocks of b samples at
// rate.
func newDelayEstimator(b, rate, lo, hi int) *delayEstimator {
	d := &delayEstimator{minLag: lo, lags: hi - lo + 1, lag: -1}
	// Bands from 300 Hz to 3.4 kHz (the telephone band, where every echo
	// path passes speech), 12 of them, logarithmically spaced.
	binHz := float64(rate) / float64(2*b)
	const nb = 12
	for i := range nb {
		lo := 300 * math.Pow(3400.0/300, float64(i)/nb)
		hi := 300 * math.Pow(3400.0/300, float64(i+1)/nb)
		k0, k1 := int(math.Round(lo/binHz)), int(math.Round(hi/binHz))
		if k1 <= k0 {
			k1 = k0 + 1
		}
		d.bands = append(d.bands, [2]int{k0, min(k1, b)})
	}
	nf := 2 * nb
	d.nf = nf
	d.ref = make([]float32, (d.lags+1)*nf) // log energies over the floor: silence is zero
	d.cross = make([]float32, d.lags*nf)
	d.lagMean = make([]float32, d.lags*nf)
	d.meanM, d.varM = make([]float32, nf), make([]float32, nf)
	d.meanR, d.varR = make([]float32, nf), make([]float32, nf)
	d.m, d.norm = make([]float32, nf), make([]float32, nf)
	d.am, d.mn = make([]float32, nf), make([]float32, nf)
	d.floorM = make([]float32, nb)
	d.prevM, d.prevR = make([]float32, nb), make([]float32, nb)
	for i := range d.floorM {
		d.floorM[i] = float32(math.Inf(1))
	}
	d.score = make([]float32, d.lags)
	return d
}

// features writes the log energy of each band of the spectrum (re, im),
// relative to the floor (silence is zero), to dst[:nb], and its change
// since prev to dst[nb:]; prev becomes the new log energies. Levels alone
// correlate best a little after the echo's onset in a reverberant room
// (its tail holds most of the echo's energy and smears the envelope
// later); the changes peak at the onset, where the direct sound and early
// reflections bring the rises.
func (d *delayEstimator) features(dst, prev, re, im []float32) {
	nb := len(d.bands)
	for i, bd := range d.bands {
		var e float32
		for k := bd[0]; k < bd[1]; k++ {
			e += re[k]*re[k] + im[k]*im[k]
		}
		v := float32(math.Log1p(float64(e) / delayFloor))
		dst[i], dst[nb+i] = v, v-prev[i]
	}
	copy(prev, dst[:nb])
}

// addRef records the spectrum of the newest reference block.
func (d *delayEstimator) addRef(re, im []float32) {
	nf := d.nf
	d.refHead = (d.refHead + 1) % (d.lags + 1)
	d.features(d.ref[d.refHead*nf:(d.refHead+1)*nf], d.prevR, re, im)
}

// refAt returns the reference features lag blocks before the newest (lag
// ≤ lags).
func (d *delayEstimator) refAt(lag int) []float32 {
	nf := d.nf
	i := d.refHead - lag
	if i < 0 {
		i += d.lags + 1
	}
	return d.ref[i*nf : (i+1)*nf]
}

// update takes the spectrum of the microphone block that lines up with the
// newest reference block at lag minLag, when there is reference worth
// correlating (active), and returns the estimated lag in blocks and
// whether there is one. With fast, the statistics forget four times
// faster (the echo path seems to have moved).
func (d *delayEstimator) update(re, im []float32, active, fast bool) (int, bool) {
	nb, nf := len(d.bands), d.nf
	d.features(d.m, d.prevM, re, im)
	if !active {
		return d.result()
	}
	d.updates++
	// Blocks before the echo arrives correlate with nothing: a decision
	// waits for enough blocks that hear something (a microphone in digital
	// silence or at its noise floor, with the reference's onset a few
	// blocks back, correlates best at the shortest lag by chance).
	var above float32
	for i, v := range d.m[:nb] {
		d.floorM[i] = min(d.floorM[i]+delayRise, v)
		above += v - d.floorM[i]
	}
	if above >= delayAbove*float32(nb) {
		d.heard++
	}
	// Running means over the first blocks, then exponential forgetting.
	keep := delayKeep
	if fast {
		keep = 1 - 4*(1-delayKeep)
	}
	a := float32(max(1/float64(d.updates), 1-keep))
	// The newest reference block stands for all lags' statistics: the
	// reference's band statistics do not depend on the lag.
	r0 := d.refAt(0)
	for i := range nf {
		d.meanM[i] += a * (d.m[i] - d.meanM[i])
		d.meanR[i] += a * (r0[i] - d.meanR[i])
		dm, dr := d.m[i]-d.meanM[i], r0[i]-d.meanR[i]
		d.varM[i] += a * (dm*dm - d.varM[i])
		d.varR[i] += a * (dr*dr - d.varR[i])
	}
	for i := range nf {
		d.norm[i] = 1 / (float32(math.Sqrt(float64(d.varM[i]*d.varR[i]))) + 1e-9)
	}
	// Each lag's covariance is a weighted mean of the microphone times
	// the lagged reference less the product of their means over the same
	// blocks. (Deviations from running means would not do: while the
	// means still move, in the first second of a call, the covariance
	// then measures how the reference's level drifts between the blocks
	// each lag sees, and a lag next to zero wins in a reverberant room.)
	// The loop runs on a·m, 1-a and the means' share of the score folded
	// in beforehand.
	k := 1 - a
	am, mn := d.am[:nf], d.mn[:nf]
	for i := range nf {
		am[i] = a * d.m[i]
		mn[i] = d.meanM[i] * d.norm[i]
	}
	norm := d.norm[:nf]
	bestScore := float32(math.Inf(-1))
	best := 0
	for l := range d.lags {
		r := d.refAt(l)[:nf]
		o := l * nf
		cr, mr := d.cross[o:o+nf], d.lagMean[o:o+nf]
		var s float32
		for i, v := range r {
			c := k*cr[i] + am[i]*v
			m := k*mr[i] + a*v
			cr[i], mr[i] = c, m
			s += c*norm[i] - m*mn[i]
		}
		s /= float32(nf)
		d.score[l] = s
		if s > bestScore {
			bestScore, best = s, l
		}
	}
	if best == d.best {
		d.lead++
	} else {
		d.best, d.lead = best, 1
	}
	d.confidence = bestScore
	if bestScore >= delayMinConf {
		switch {
		case d.lag < 0:
			if d.updates >= delayWarmup && d.heard >= delayHeard && d.lead >= delayWarmup/2 {
				d.lag = best
			}
		case best != d.lag && d.lead >= delayLead && iabs(best-d.lag) > 1 &&
			bestScore > d.score[d.lag]+delayMargin:
			d.lag = best
		}
	}
	return d.result()
}

func (d *delayEstimator) result() (int, bool) {
	if d.lag < 0 {
		return 0, false
	}
	return d.minLag + d.lag, true
}

func iabs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}
