package aec

// The portable kernels. All slices have the same length (a multiple of 8
// where the vector kernels take over).

// cmacGo accumulates the complex products: y += x·w.
func cmacGo(yr, yi, xr, xi, wr, wi []float32) {
	yi, xr, xi, wr, wi = yi[:len(yr)], xr[:len(yr)], xi[:len(yr)], wr[:len(yr)], wi[:len(yr)]
	for k := range yr {
		yr[k] += xr[k]*wr[k] - xi[k]*wi[k]
		yi[k] += xr[k]*wi[k] + xi[k]*wr[k]
	}
}

// macGo accumulates the products: y += a·b.
func macGo(y, a, b []float32) {
	a, b = a[:len(y)], b[:len(y)]
	for k := range y {
		y[k] += a[k] * b[k]
	}
}

// kalmanUpdateGo updates one partition: with g = E/(R+2Ψ+δ) (gr, gi) and
// inv = 1/(R+2Ψ+δ),
//
//	W += P·conj(X)·g
//	P  = min(a·(P - s·P²·inv·|X|²/2) + q·|W|², ceil)
//
// with s = filterShrink.
func kalmanUpdateGo(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil float32) {
	n := len(wr)
	wi, pk, xr, xi, xp, gr, gi, inv = wi[:n], pk[:n], xr[:n], xi[:n], xp[:n], gr[:n], gi[:n], inv[:n]
	for k := range wr {
		p := pk[k]
		ur := xr[k]*gr[k] + xi[k]*gi[k]
		ui := xr[k]*gi[k] - xi[k]*gr[k]
		nr := wr[k] + p*ur
		ni := wi[k] + p*ui
		wr[k], wi[k] = nr, ni
		pk[k] = min(a*(p-filterShrink*0.5*p*p*inv[k]*xp[k])+q*(nr*nr+ni*ni), ceil)
	}
}

// kernels picks the portable or the vector kernels; every filter and FFT
// plan carries one, so tests can run both.
type kernels bool

func (simd kernels) cmac(yr, yi, xr, xi, wr, wi []float32) {
	if simd {
		cmacSIMD(yr, yi, xr, xi, wr, wi)
	} else {
		cmacGo(yr, yi, xr, xi, wr, wi)
	}
}

func (simd kernels) mac(y, a, b []float32) {
	if simd {
		macSIMD(y, a, b)
	} else {
		macGo(y, a, b)
	}
}

func (simd kernels) kalmanUpdate(wr, wi, pk, xr, xi, xp, gr, gi, inv []float32, a, q, ceil float32) {
	if simd {
		kalmanUpdateSIMD(wr, wi, pk, xr, xi, xp, gr, gi, inv, a, q, ceil)
	} else {
		kalmanUpdateGo(wr, wi, pk, xr, xi, xp, gr, gi, inv, a, q, ceil)
	}
}
