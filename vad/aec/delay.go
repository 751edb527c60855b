package aec

import "math"

// delayEstimator finds the bulk delay of the echo in whole blocks, so the
// adaptive filter's partitions are spent on the room and not on the
// transport. It correlates the envelopes of the reference and the
// microphone in a few bands: for every candidate lag and band it keeps an
// exponentially weighted covariance of the log band energies, and the lag
// whose covariances, normalised per band, sum highest wins. The transport's
// jitter buffer changes the delay now and then; the estimate follows once a
// new lag has led for a while.
type delayEstimator struct {
	minLag, lags int // lag range: minLag … minLag+lags-1 blocks
	bands        [][2]int
	ref          []float32 // ring of reference log band energies, (lags+1)×nb
	refHead      int       // slot of the newest reference block
	refCount     int
	cov          []float32 // lags×nb covariances
	meanM, varM  []float32 // microphone band statistics
	meanR, varR  []float32 // reference band statistics
	m            []float32 // this block's microphone log band energies
	norm         []float32 // per band: 1/sqrt(varM·varR)
	score        []float32

	best, lead int // best lag (index), blocks it has led
	lag        int // the estimate (index), -1 before the first
	confidence float32
	updates    int
}

// Constants of the delay estimator.
const (
	delayKeep    = 0.995 // forgetting per block: about 1.6 s
	delayFloor   = 1e4   // band energy floor (int16 units, summed bins)
	delayLead    = 30    // blocks a new lag must lead before it is taken
	delayMinConf = 0.25  // normalised correlation needed to take a lag
	delayWarmup  = 40    // blocks with reference before a first estimate
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
	d.ref = make([]float32, (d.lags+1)*nb)
	d.cov = make([]float32, d.lags*nb)
	d.meanM, d.varM = make([]float32, nb), make([]float32, nb)
	d.meanR, d.varR = make([]float32, nb), make([]float32, nb)
	d.m, d.norm = make([]float32, nb), make([]float32, nb)
	d.score = make([]float32, d.lags)
	return d
}

// logBands writes the log energy of each band of the spectrum (re, im) to
// dst.
func (d *delayEstimator) logBands(dst, re, im []float32) {
	for i, bd := range d.bands {
		var e float32
		for k := bd[0]; k < bd[1]; k++ {
			e += re[k]*re[k] + im[k]*im[k]
		}
		dst[i] = float32(math.Log(float64(e + delayFloor)))
	}
}

// addRef records the spectrum of the newest reference block.
func (d *delayEstimator) addRef(re, im []float32) {
	nb := len(d.bands)
	d.refHead = (d.refHead + 1) % (d.lags + 1)
	r := d.ref[d.refHead*nb : (d.refHead+1)*nb]
	d.logBands(r, re, im)
	d.refCount++
}

// refAt returns the reference log band energies lag blocks before the
// newest (lag ≤ lags).
func (d *delayEstimator) refAt(lag int) []float32 {
	nb := len(d.bands)
	i := d.refHead - lag
	if i < 0 {
		i += d.lags + 1
	}
	return d.ref[i*nb : (i+1)*nb]
}

// update takes the spectrum of the microphone block that lines up with the
// newest reference block at lag minLag, when there is reference worth
// correlating (active), and returns the estimated lag in blocks and
// whether there is one. With fast, the statistics forget four times
// faster (the echo path seems to have moved).
func (d *delayEstimator) update(re, im []float32, active, fast bool) (int, bool) {
	if !active {
		return d.result()
	}
	nb := len(d.bands)
	d.logBands(d.m, re, im)
	d.updates++
	// Running means over the first blocks, then exponential forgetting.
	keep := delayKeep
	if fast {
		keep = 1 - 4*(1-delayKeep)
	}
	a := float32(max(1/float64(d.updates), 1-keep))
	// The newest reference block stands for all lags' statistics: the
	// reference's band statistics do not depend on the lag.
	r0 := d.refAt(0)
	for i := range nb {
		d.meanM[i] += a * (d.m[i] - d.meanM[i])
		d.meanR[i] += a * (r0[i] - d.meanR[i])
		dm, dr := d.m[i]-d.meanM[i], r0[i]-d.meanR[i]
		d.varM[i] += a * (dm*dm - d.varM[i])
		d.varR[i] += a * (dr*dr - d.varR[i])
	}
	for i := range nb {
		// Centre the microphone's energies and fold in each band's
		// normalisation, so the lag loop is multiply-adds only.
		d.m[i] -= d.meanM[i]
		d.norm[i] = 1 / (float32(math.Sqrt(float64(d.varM[i]*d.varR[i]))) + 1e-9)
	}
	bestScore := float32(math.Inf(-1))
	best := 0
	for l := range min(d.lags, d.refCount) { // lags the ring holds yet
		r := d.refAt(l)
		c := d.cov[l*nb : (l+1)*nb]
		var s float32
		for i := range nb {
			c[i] += a * (d.m[i]*(r[i]-d.meanR[i]) - c[i])
			s += c[i] * d.norm[i]
		}
		s /= float32(nb)
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
			if d.updates >= delayWarmup && d.lead >= delayWarmup/2 {
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
