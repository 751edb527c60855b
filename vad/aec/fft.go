package aec

import "github.com/harkvoice/hark/vad/internal/fft"

// fftPlan is the shared real FFT with the work space of one canceller: one
// per canceller, not shared.
type fftPlan struct {
	r    *fft.Real
	work []float32
	k    kernels // also the filter's choice for its own kernels
}

func newFFTPlan(n int, k kernels) (*fftPlan, error) {
	r, err := fft.NewReal(n)
	if err != nil {
		return nil, err
	}
	return &fftPlan{r: r, work: make([]float32, n), k: k}, nil
}

// forward writes the spectrum of x (n samples) to xr, xi (bins 0..n/2).
func (p *fftPlan) forward(xr, xi, x []float32) { p.r.Forward(xr, xi, x, nil, p.work, bool(p.k)) }

// inverse writes to x (n samples) the real signal whose spectrum is xr, xi,
// scaled so that inverse(forward(x)) = x.
func (p *fftPlan) inverse(x, xr, xi []float32) { p.r.Inverse(x, xr, xi, p.work, bool(p.k)) }
