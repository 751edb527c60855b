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
	twr, twi []float32 // per stage of size s: e^{-2πij/s} for j < s/2, stages in order
	spr, spi []float32 // e^{-2πik/n}, k ≤ half
}

func newFFTPlan(n int) *fftPlan {
	half := n / 2
	p := &fftPlan{n: n, half: half, rev: make([]int, half)}
	shift := bits.UintSize - bits.TrailingZeros(uint(half))
	for i := range half {
		p.rev[i] = int(bits.Reverse(uint(i)) >> shift)
	}
	for size := 2; size <= half; size <<= 1 {
		for j := range size / 2 {
			a := -2 * math.Pi * float64(j) / float64(size)
			p.twr = append(p.twr, float32(math.Cos(a)))
			p.twi = append(p.twi, float32(math.Sin(a)))
		}
	}
	for k := 0; k <= half; k++ {
		a := -2 * math.Pi * float64(k) / float64(n)
		p.spr = append(p.spr, float32(math.Cos(a)))
		p.spi = append(p.spi, float32(math.Sin(a)))
	}
	return p
}

// magnitude writes |DFT(frame·win)| for bins 0..n/2 into dst (length
// n/2+1), using re and im (length n/2) as work space; simd selects the
// vector kernel for the wide stages.
func (p *fftPlan) magnitude(dst, frame, win, re, im []float32, simd bool) {
	half := p.half
	frame, win = frame[:p.n], win[:p.n]
	re, im = re[:half], im[:half]
	for i, r := range p.rev {
		re[r] = frame[2*i] * win[2*i]
		im[r] = frame[2*i+1] * win[2*i+1]
	}
	// The first two stages need no multiplications (twiddles 1 and -i):
	// radix-4 butterflies over groups of four.
	for base := 0; base+4 <= half; base += 4 {
		r, i := (*[4]float32)(re[base:base+4]), (*[4]float32)(im[base:base+4])
		ar, ai := r[0]+r[1], i[0]+i[1]
		br, bi := r[0]-r[1], i[0]-i[1]
		cr, ci := r[2]+r[3], i[2]+i[3]
		dr, di := r[2]-r[3], i[2]-i[3]
		r[0], i[0] = ar+cr, ai+ci
		r[2], i[2] = ar-cr, ai-ci
		r[1], i[1] = br+di, bi-dr // d·(-i)
		r[3], i[3] = br-di, bi+dr
	}
	tw := 3 // offset of the current stage's twiddles (stages 2 and 4 done)
	for h := 4; h < half; h <<= 1 {
		twr, twi := p.twr[tw:tw+h], p.twi[tw:tw+h]
		tw += h
		if simd && h%8 == 0 {
			fftStageSIMD(re, im, twr, twi, h)
		} else {
			fftStageGo(re, im, twr, twi, h)
		}
	}
	// Split: X[k] = E[k] + e^{-2πik/n}·O[k], with E and O the spectra of the
	// even and odd samples recovered from Z[k] and conj(Z[half-k]).
	dst = dst[:half+1]
	dst[0] = abs32(re[0] + im[0]) // E[0] = Re Z[0], O[0] = Im Z[0]
	dst[half] = abs32(re[0] - im[0])
	spr, spi := p.spr[:half], p.spi[:half]
	for k := 1; k < half; k++ {
		zr, zi := re[k], im[k]
		cr, ci := re[half-k], -im[half-k]
		er, ei := (zr+cr)/2, (zi+ci)/2
		or, oi := (zi-ci)/2, -(zr-cr)/2
		xr := er + spr[k]*or - spi[k]*oi
		xi := ei + spr[k]*oi + spi[k]*or
		dst[k] = float32(math.Sqrt(float64(xr*xr + xi*xi)))
	}
}

func abs32(x float32) float32 { return max(x, -x) }

// fftStageGo runs one radix-2 stage: butterflies h apart in blocks of 2h,
// with twiddles twr[j] + i·twi[j].
func fftStageGo(re, im, twr, twi []float32, h int) {
	for base := 0; base+2*h <= len(re); base += 2 * h {
		ar, ai := re[base:base+h], im[base:base+h]
		br, bi := re[base+h:base+2*h], im[base+h:base+2*h]
		br, bi, ai = br[:len(ar)], bi[:len(ar)], ai[:len(ar)]
		twr, twi := twr[:len(ar)], twi[:len(ar)]
		for j := range ar {
			wr, wi := twr[j], twi[j]
			tr := wr*br[j] - wi*bi[j]
			ti := wr*bi[j] + wi*br[j]
			br[j], bi[j] = ar[j]-tr, ai[j]-ti
			ar[j] += tr
			ai[j] += ti
		}
	}
}
