package silero

import (
	"math"

	"github.com/harkvoice/hark/vad/internal/fft"
)

// magnitude writes |DFT(frame·win)| for bins 0..n/2 into dst (length
// n/2+1), using xr, xi (n/2+1 values) and work (n values) as scratch; simd
// selects the vector FFT stages.
func magnitude(p *fft.Real, dst, frame, win, xr, xi, work []float32, simd bool) {
	p.Forward(xr, xi, frame, win, work, simd)
	xr, xi = xr[:len(dst)], xi[:len(dst)]
	for k := range dst {
		dst[k] = float32(math.Sqrt(float64(xr[k]*xr[k] + xi[k]*xi[k])))
	}
}
