package fft

import (
	"errors"
	"math"
	"math/bits"
)

// ErrSize is returned by NewReal for a length that is not a power of two
// of at least 16.
var ErrSize = errors.New("fft: length must be a power of two ≥ 16")

// Real transforms real blocks of n samples to their n/2+1 spectral bins and
// back, through an n/2-point complex FFT (even samples as real parts, odd as
// imaginary) and a split step. Spectra are separate real and imaginary
// slices of at least n/2+1 values.
type Real struct {
	n, m     int      // real size, complex size (n/2)
	rev      []uint16 // bit reversal of m
	twr, twi []float32
	spr, spi []float32 // e^{-2πik/n} for k < m
}

// NewReal returns a plan for blocks of n samples.
func NewReal(n int) (*Real, error) {
	if n < 16 || n > 1<<17 || n&(n-1) != 0 {
		return nil, ErrSize
	}
	m := n / 2
	p := &Real{n: n, m: m, rev: make([]uint16, m)}
	shift := bits.UintSize - bits.TrailingZeros(uint(m))
	for i := range m {
		p.rev[i] = uint16(bits.Reverse(uint(i)) >> shift)
	}
	// Twiddles of the radix-2 stages after the first two (span h ≥ 4), in
	// stage order: e^{-2πij/(2h)} for j < h.
	for h := 4; h < m; h <<= 1 {
		for j := range h {
			a := -math.Pi * float64(j) / float64(h)
			p.twr = append(p.twr, float32(math.Cos(a)))
			p.twi = append(p.twi, float32(math.Sin(a)))
		}
	}
	p.spr, p.spi = make([]float32, m), make([]float32, m)
	for k := range m {
		a := -2 * math.Pi * float64(k) / float64(n)
		p.spr[k], p.spi[k] = float32(math.Cos(a)), float32(math.Sin(a))
	}
	return p, nil
}

// Len returns the block length n.
func (p *Real) Len() int { return p.n }

// Forward writes the spectrum of x (n samples), multiplied sample by sample
// by win unless win is nil, to xr, xi (bins 0..n/2). work holds n values of
// scratch; simd selects the vector stages where HaveSIMD.
func (p *Real) Forward(xr, xi, x, win, work []float32, simd bool) {
	m := p.m
	x = x[:p.n]
	re, im := work[:m], work[m:2*m]
	if win == nil {
		for i, r := range p.rev {
			re[r], im[r] = x[2*i], x[2*i+1]
		}
	} else {
		win = win[:p.n]
		for i, r := range p.rev {
			re[r], im[r] = x[2*i]*win[2*i], x[2*i+1]*win[2*i+1]
		}
	}
	p.complex(re, im, simd)
	// Split: X[k] = E[k] + w^k O[k] with E, O the spectra of the even and
	// odd samples, E[k] = (Z[k] + Z*[m-k])/2, O[k] = (Z[k] - Z*[m-k])/2i.
	xr, xi = xr[:m+1], xi[:m+1]
	xr[0], xi[0] = re[0]+im[0], 0
	xr[m], xi[m] = re[0]-im[0], 0
	spr, spi := p.spr[:m], p.spi[:m]
	for k := 1; k < m; k++ {
		zr, zi := re[k], im[k]
		cr, ci := re[m-k], -im[m-k]
		er, ei := 0.5*(zr+cr), 0.5*(zi+ci)
		or, oi := 0.5*(zi-ci), -0.5*(zr-cr)
		xr[k] = er + spr[k]*or - spi[k]*oi
		xi[k] = ei + spr[k]*oi + spi[k]*or
	}
}

// Inverse writes to x (n samples) the real signal whose spectrum is xr, xi
// (bins 0..n/2; the imaginary parts of bins 0 and n/2 are ignored), scaled
// by 1/n so that Inverse undoes Forward. work holds n values of scratch.
func (p *Real) Inverse(x, xr, xi, work []float32, simd bool) {
	m := p.m
	x = x[:p.n]
	xr, xi = xr[:m+1], xi[:m+1]
	re, im := work[:m], work[m:2*m]
	// Z[k] = E[k] + i O[k], E[k] = X[k] + X*[m-k], O[k] = (X[k] - X*[m-k]) w^-k
	// (both twice their true value; the 1/n below takes it out). The
	// inverse runs as a forward FFT of conj(Z), so the conjugate is stored.
	spr, spi := p.spr[:m], p.spi[:m]
	re[p.rev[0]], im[p.rev[0]] = xr[0]+xr[m], -(xr[0] - xr[m])
	for k := 1; k < m; k++ {
		ar, ai := xr[k], xi[k]
		br, bi := xr[m-k], -xi[m-k]
		er, ei := ar+br, ai+bi
		dr, di := ar-br, ai-bi
		// O = d · conj(w^k)
		or := dr*spr[k] + di*spi[k]
		oi := di*spr[k] - dr*spi[k]
		r := p.rev[k]
		re[r], im[r] = er-oi, -(ei + or)
	}
	p.complex(re, im, simd)
	s := 1 / float32(p.n)
	for i := range m {
		x[2*i], x[2*i+1] = re[i]*s, -im[i]*s
	}
}

// complex transforms re, im (bit-reversed order) in place.
func (p *Real) complex(re, im []float32, simd bool) {
	m := len(re)
	im = im[:m]
	// The first two stages need no multiplications (twiddles 1 and -i):
	// radix-4 butterflies over groups of four.
	for base := 0; base+4 <= m; base += 4 {
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
	tw := 0
	for h := 4; h < m; h <<= 1 {
		twr, twi := p.twr[tw:tw+h], p.twi[tw:tw+h]
		tw += h
		if simd && HaveSIMD && h%8 == 0 {
			stageSIMD(re, im, twr, twi, h)
		} else {
			stageGo(re, im, twr, twi, h)
		}
	}
}

// stageGo runs one radix-2 stage: butterflies h apart in blocks of 2h, with
// twiddles twr[j] + i·twi[j].
func stageGo(re, im, twr, twi []float32, h int) {
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
