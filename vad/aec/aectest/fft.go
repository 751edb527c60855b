package aectest

import (
	"math"
	"math/bits"
	"math/cmplx"
)

// fft transforms x in place (len(x) a power of two); inverse scales by
// 1/len(x).
func fft(x []complex128, inverse bool) {
	n := len(x)
	shift := bits.UintSize - bits.TrailingZeros(uint(n))
	for i := range n {
		if j := int(bits.Reverse(uint(i)) >> shift); j > i {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, sign*2*math.Pi/float64(size)))
		for base := 0; base < n; base += size {
			t := complex(1, 0)
			for j := range size / 2 {
				a, b := x[base+j], x[base+j+size/2]*t
				x[base+j], x[base+j+size/2] = a+b, a-b
				t *= w
			}
		}
	}
	if inverse {
		s := complex(1/float64(n), 0)
		for i := range x {
			x[i] *= s
		}
	}
}

// convolve returns x filtered by h and delayed by d samples, as long as x.
func convolve(x, h []float32, d int) []float32 {
	n := 1
	for n < len(x)+len(h) {
		n <<= 1
	}
	a, b := make([]complex128, n), make([]complex128, n)
	for i, v := range x {
		a[i] = complex(float64(v), 0)
	}
	for i, v := range h {
		b[i] = complex(float64(v), 0)
	}
	fft(a, false)
	fft(b, false)
	for i := range a {
		a[i] *= b[i]
	}
	fft(a, true)
	y := make([]float32, len(x))
	for i := d; i < len(y); i++ {
		y[i] = float32(real(a[i-d]))
	}
	return y
}
