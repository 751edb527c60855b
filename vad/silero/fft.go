package silero

import (
	"math"
	"math/bits"
)

// fftPlan computes magnitude spectra of real frames of n samples with an
// n/2-point complex FFT (even samples as real parts, odd as imaginary) and a
// split step. Plans are read-only after construction.
type fftPlan struct {
	n, half  int
	rev      []int     // bit reversal of half
	twr, twi []float32 // e^{-2πik/half}, k < half/2
	spr, spi []float32 // e^{-2πik/n}, k ≤ half
}

func newFFTPlan(n int) *fftPlan {
	half := n / 2
	p := &fftPlan{n: n, half: half, rev: make([]int, half)}
	shift := bits.UintSize - bits.TrailingZeros(uint(half))
	for i := range half {
		p.rev[i] = int(bits.Reverse(uint(i)) >> shift)
	}
	for k := range half / 2 {
		a := -2 * math.Pi * float64(k) / float64(half)
		p.twr = append(p.twr, float32(math.Cos(a)))
		p.twi = append(p.twi, float32(math.Sin(a)))
	}
	for k := 0; k <= half; k++ {
		a := -2 * math.Pi * float64(k) / float64(n)
		p.spr = append(p.spr, float32(math.Cos(a)))
		p.spi = append(p.spi, float32(math.Sin(a)))
	}
	return p
}

// magnitude writes |DFT(frame·win)| for bins 0..n/2 into dst (length
// n/2+1), using re and im (length n/2) as work space.
func (p *fftPlan) magnitude(dst, frame, win, re, im []float32) {
	half := p.half
	frame, win = frame[:p.n], win[:p.n]
	re, im = re[:half], im[:half]
	for i, r := range p.rev {
		re[r] = frame[2*i] * win[2*i]
		im[r] = frame[2*i+1] * win[2*i+1]
	}
	for size := 2; size <= half; size <<= 1 {
		h := size >> 1
		step := half / size
		for base := 0; base < half; base += size {
			for j := range h {
				wr, wi := p.twr[j*step], p.twi[j*step]
				a, b := base+j, base+j+h
				tr := wr*re[b] - wi*im[b]
				ti := wr*im[b] + wi*re[b]
				re[b], im[b] = re[a]-tr, im[a]-ti
				re[a] += tr
				im[a] += ti
			}
		}
	}
	// Split: X[k] = E[k] + e^{-2πik/n}·O[k], with E and O the spectra of the
	// even and odd samples recovered from Z[k] and conj(Z[half-k]).
	dst = dst[:half+1]
	for k := 0; k <= half; k++ {
		k1, k2 := k%half, (half-k)%half
		zr, zi := re[k1], im[k1]
		cr, ci := re[k2], -im[k2]
		er, ei := (zr+cr)/2, (zi+ci)/2
		or, oi := (zi-ci)/2, -(zr-cr)/2
		xr := er + p.spr[k]*or - p.spi[k]*oi
		xi := ei + p.spr[k]*oi + p.spi[k]*or
		dst[k] = float32(math.Sqrt(float64(xr*xr + xi*xi)))
	}
}
