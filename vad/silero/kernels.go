package silero

import "math"

// matVecGo is the portable kernel, y[r] = w[r*ws:r*ws+k] · x[:k]: four
// rows at a time, so each x value loaded serves four products. The loop is
// shaped so the compiler drops every bounds check inside it.
func matVecGo(y, w, x []float32, k, ws int) {
	x = x[:k]
	for r := 0; r+4 <= len(y); r += 4 {
		w0 := w[r*ws:][:len(x)]
		w1 := w[(r+1)*ws:][:len(x)]
		w2 := w[(r+2)*ws:][:len(x)]
		w3 := w[(r+3)*ws:][:len(x)]
		var s0, s1, s2, s3 float32
		for j, a := range x {
			s0 += w0[j] * a
			s1 += w1[j] * a
			s2 += w2[j] * a
			s3 += w3[j] * a
		}
		y[r], y[r+1], y[r+2], y[r+3] = s0, s1, s2, s3
	}
	for r := len(y) &^ 3; r < len(y); r++ { // rows left over
		wr := w[r*ws:][:len(x)]
		var s float32
		for j, a := range x {
			s += wr[j] * a
		}
		y[r] = s
	}
}

// matVec4Go computes y[t*ys+r] = w[r*ws:r*ws+k] · x[t*xs:t*xs+k] for t < 4
// and r < rows.
func matVec4Go(y, w, x []float32, k, ws, xs, ys, rows int) {
	for t := range 4 {
		matVecGo(y[t*ys:t*ys+rows], w, x[t*xs:], k, ws)
	}
}

// Constants of expf.
const (
	log2e = 1.44269504088896341
	ln2hi = 0.693359375
	ln2lo = -2.12194440e-4
)

// expf is exp for float32 with a relative error below 2e-7: x = n·ln2 + r
// with |r| ≤ ln2/2, then a degree-6 polynomial for e^r and 2^n from the
// exponent bits. Inputs are clamped to [-87, 88].
func expf(x float32) float32 {
	if x < -87 {
		x = -87
	} else if x > 88 {
		x = 88
	}
	fn := x * log2e
	if fn >= 0 {
		fn += 0.5
	} else {
		fn -= 0.5
	}
	n := int32(fn)
	r := x - float32(n)*ln2hi - float32(n)*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// expGo sets x[i] = e^x[i].
func expGo(x []float32) {
	for i, v := range x {
		x[i] = expf(v)
	}
}

// sigmoid is 1 / (1 + e^-x).
func sigmoid(x float32) float32 { return 1 / (1 + expf(-x)) }
