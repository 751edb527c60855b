package resample

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// ErrUnsupportedRate reports a sample rate outside Rates.
var ErrUnsupportedRate = errors.New("resample: unsupported rate")

// Resampler converts one mono stream from one rate to another. It keeps the
// filter history and the output phase between calls, so a stream cut into
// frames of any size resamples exactly as if it were processed in one piece.
// A Resampler is not safe for concurrent use; the filter tables it reads are
// shared by all resamplers of the same rate pair.
type Resampler struct {
	from, to int
	f        *filter // nil when from == to
	// buf holds the last taps-1 input samples (oldest first) followed by
	// the samples of the current call, as float32 in int16 scale.
	buf []float32
	// acc is the position of the next output sample, in units of 1/up
	// input samples, counted from the first sample of the current call.
	acc int
}

// New returns a resampler from fromRate to toRate Hz; both must be in Rates.
func New(fromRate, toRate int) (*Resampler, error) {
	r := &Resampler{from: fromRate, to: toRate}
	if fromRate == toRate {
		if !supported(fromRate) {
			return nil, fmt.Errorf("%w: %d Hz (supported: %v)", ErrUnsupportedRate, fromRate, Rates)
		}
		return r, nil
	}
	f, err := filterFor(fromRate, toRate)
	if err != nil {
		return nil, err
	}
	r.f = f
	r.buf = make([]float32, f.taps-1, f.taps-1+2048)
	return r, nil
}

// Delay returns the delay the filter adds: an input sample at time t comes
// out at t+Delay.
func (r *Resampler) Delay() time.Duration {
	if r.f == nil {
		return 0
	}
	return r.f.delay
}

// String describes the conversion, e.g. "resample(48000Hz -> 16000Hz)".
func (r *Resampler) String() string {
	return fmt.Sprintf("resample(%dHz -> %dHz)", r.from, r.to)
}

// Reset forgets the stream history, as if the resampler were new.
func (r *Resampler) Reset() {
	if r.f == nil {
		return
	}
	r.buf = r.buf[:r.f.taps-1]
	clear(r.buf)
	r.acc = 0
}

// Process resamples src and appends the result to dst, returning the
// extended slice. Over a stream the output holds len(src)*to/from samples,
// give or take one per call; with a dst of sufficient capacity
// (dst = r.Process(dst[:0], src)) Process does not allocate.
func (r *Resampler) Process(dst, src []int16) []int16 {
	if r.f == nil {
		return append(dst, src...)
	}
	f := r.f
	hist := f.taps - 1
	for _, s := range src {
		r.buf = append(r.buf, float32(s))
	}
	n := len(src)
	// Output k of this call needs input index (acc + k*down) / up < n.
	if avail := n*f.up - r.acc; avail > 0 {
		dst = growInt16(dst, (avail+f.down-1)/f.down)
	}
	// Step through outputs by whole input samples (di) and phases (dp)
	// rather than dividing the position for each one.
	i, p := r.acc/f.up, r.acc%f.up
	di, dp := f.down/f.up, f.down%f.up
	for i < n {
		// The newest input sample used is buf[hist+i].
		y := dot(f.coef[p*f.taps:(p+1)*f.taps], r.buf[i:i+f.taps])
		dst = append(dst, clip(y))
		i, p = i+di, p+dp
		if p >= f.up {
			i, p = i+1, p-f.up
		}
	}
	r.acc = (i-n)*f.up + p
	// Keep the last taps-1 samples as history.
	copy(r.buf, r.buf[n:n+hist])
	r.buf = r.buf[:hist]
	return dst
}

// Flush appends the output still held back by the filter delay, as if the
// stream were followed by silence, and resets the resampler.
func (r *Resampler) Flush(dst []int16) []int16 {
	if r.f == nil {
		return dst
	}
	zeros := make([]int16, r.f.taps)
	dst = r.Process(dst, zeros)
	r.Reset()
	return dst
}

// growInt16 makes room for n more elements without changing len(s).
func growInt16(s []int16, n int) []int16 {
	if cap(s)-len(s) >= n {
		return s
	}
	return append(s, make([]int16, n)...)[:len(s)]
}

// Dot returns the dot product of a and b[:len(a)], for any length, with
// the kernel the filters run on (AVX2 and FMA where the CPU has them): for
// other signal code, such as the echo guard's correlation.
func Dot(a, b []float32) float32 {
	n := len(a) &^ 3
	s := dot(a[:n], b)
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// dotGo returns the dot product of a and b[:len(a)] with four
// accumulators (len(a) a multiple of 4): the portable kernel.
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for i := 0; i+3 < len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	return (s0 + s1) + (s2 + s3)
}

// clip rounds y to the nearest int16, saturating.
func clip(y float32) int16 {
	switch {
	case y >= math.MaxInt16:
		return math.MaxInt16
	case y <= math.MinInt16:
		return math.MinInt16
	case y >= 0:
		return int16(y + 0.5)
	default:
		return int16(y - 0.5)
	}
}

// Frame resamples and remixes a whole clip to the format to, compensating
// the filter delay so that the output starts at the same instant as the
// input and lasts as long (to the nearest sample). It suits clips loaded
// from files; use a Converter for live streams.
func Frame(fr pcm.Frame, to pcm.Format) (pcm.Frame, error) {
	c := NewConverter(to)
	if err := c.prepare(fr); err != nil {
		return pcm.Frame{}, err
	}
	// Start the output phase so that the filter delay is a whole number of
	// output samples, then drop those.
	skip := 0
	for _, r := range c.rs[:c.nrs] {
		if r.f != nil {
			skip = r.f.center / r.f.down
			r.acc = r.f.center - skip*r.f.down
		}
	}
	samples, err := c.Convert(nil, fr)
	if err != nil {
		return pcm.Frame{}, err
	}
	samples = c.flush(samples)
	want := int((int64(len(fr.Samples)/fr.Format.Channels)*int64(to.Rate) + int64(fr.Format.Rate)/2) / int64(fr.Format.Rate))
	skip *= to.Channels
	want *= to.Channels
	samples = samples[min(skip, len(samples)):]
	samples = samples[:min(want, len(samples))]
	return pcm.Frame{Samples: samples, Format: to, Timestamp: fr.Timestamp}, nil
}
