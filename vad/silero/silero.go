package silero

import (
	"fmt"
	"math"
	"sync"

	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/internal/fft"
)

// Sizes of the network.
const (
	hidden   = 128 // LSTM width and encoder output channels
	gates    = 4 * hidden
	maxFrame = 640 // padded STFT input at 16 kHz
	maxBins  = 129 // STFT bins at 16 kHz
	maxChan  = 144 // maxBins rounded up to a multiple of 16
	frames   = 4   // STFT frames per window
	kernel   = 3   // encoder convolution width
	minRate  = 8000
)

// Weights holds the network parameters of both sample-rate branches. They
// are read-only after loading and safe to share between goroutines.
type Weights struct {
	b16, b8 *branch
}

// branch is the network for one sample rate.
type branch struct {
	rate    int
	window  int // new samples per call
	context int // samples carried over from the previous call
	nfft    int // STFT size (a power of two)
	hop     int
	bins    int       // nfft/2 + 1
	win     []float32 // analysis window, length nfft
	fft     *fft.Real
	enc     [4]conv
	lstmW   []float32 // [gates][2*hidden]: W_ih and W_hh side by side
	lstmB   []float32 // [gates]: b_ih + b_hh
	outW    []float32 // [hidden]
	outB    float32

	// quiet is the LSTM's input-weight products for the encoder output
	// of digital silence, per kernel set (scalar, SIMD), computed once
	// (see quietInput).
	quiet     [2][gates]float32
	quietOnce [2]sync.Once
}

// conv is a width-3, padding-1 convolution with its weights rearranged to
// [out][tap][inPad] so that one output is a single dot product over three
// consecutive time rows of the (time-major, channel-padded) input.
type conv struct {
	in, inPad, out, stride int
	w                      []float32 // [out][kernel*inPad]
	b                      []float32 // [out]
}

// Parse reads the weights from the bytes of silero_vad.onnx (Silero VAD v5).
func Parse(model []byte) (*Weights, error) {
	g, err := parseModel(model)
	if err != nil {
		return nil, err
	}
	b16, err := newBranch(g, "If_0_then_branch__Inline_0__", 16000)
	if err != nil {
		return nil, err
	}
	b8, err := newBranch(g, "If_0_else_branch__Inline_0__", 8000)
	if err != nil {
		return nil, err
	}
	return &Weights{b16: b16, b8: b8}, nil
}

// get returns the constant named prefix+name after checking its shape.
func get(g *graph, prefix, name string, dims ...int) ([]float32, error) {
	t, ok := g.constants[prefix+name]
	if !ok {
		return nil, fmt.Errorf("%w: no tensor %s", ErrModelFormat, name)
	}
	if len(t.dims) != len(dims) {
		return nil, fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrModelFormat, name, t.dims, dims)
	}
	for i := range dims {
		if t.dims[i] != dims[i] {
			return nil, fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrModelFormat, name, t.dims, dims)
		}
	}
	for _, v := range t.data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: tensor %s holds %v", ErrModelFormat, name, v)
		}
	}
	return t.data, nil
}

func newBranch(g *graph, prefix string, rate int) (*branch, error) {
	scale := rate / minRate // 1 at 8 kHz, 2 at 16 kHz
	b := &branch{
		rate:    rate,
		window:  256 * scale,
		context: 32 * scale,
		nfft:    128 * scale,
		hop:     64 * scale,
	}
	b.bins = b.nfft/2 + 1
	basis, err := get(g, prefix, "stft.forward_basis_buffer", 2*b.bins, 1, b.nfft)
	if err != nil {
		return nil, err
	}
	if b.win, err = checkBasis(basis, b.nfft); err != nil {
		return nil, err
	}
	if b.fft, err = fft.NewReal(b.nfft); err != nil {
		return nil, err
	}
	shapes := [4][2]int{{b.bins, hidden}, {hidden, 64}, {64, 64}, {64, hidden}}
	strides := [4]int{1, 2, 2, 1}
	for i, s := range shapes {
		name := fmt.Sprintf("encoder.%d.reparam_conv.", i)
		w, err := get(g, prefix, name+"weight", s[1], s[0], kernel)
		if err != nil {
			return nil, err
		}
		bias, err := get(g, prefix, name+"bias", s[1])
		if err != nil {
			return nil, err
		}
		b.enc[i] = newConv(w, bias, s[0], s[1], strides[i])
	}
	wih, err := get(g, prefix, "decoder.rnn.weight_ih", gates, hidden)
	if err != nil {
		return nil, err
	}
	whh, err := get(g, prefix, "decoder.rnn.weight_hh", gates, hidden)
	if err != nil {
		return nil, err
	}
	bih, err := get(g, prefix, "decoder.rnn.bias_ih", gates)
	if err != nil {
		return nil, err
	}
	bhh, err := get(g, prefix, "decoder.rnn.bias_hh", gates)
	if err != nil {
		return nil, err
	}
	b.lstmW = make([]float32, gates*2*hidden)
	b.lstmB = make([]float32, gates)
	for r := range gates {
		copy(b.lstmW[r*2*hidden:], wih[r*hidden:(r+1)*hidden])
		copy(b.lstmW[r*2*hidden+hidden:], whh[r*hidden:(r+1)*hidden])
		b.lstmB[r] = bih[r] + bhh[r]
	}
	if b.outW, err = get(g, prefix, "decoder.decoder.2.weight", 1, hidden, 1); err != nil {
		return nil, err
	}
	outB, err := get(g, prefix, "decoder.decoder.2.bias", 1)
	if err != nil {
		return nil, err
	}
	b.outB = outB[0]
	return b, nil
}

// checkBasis verifies that the STFT convolution basis is a window times the
// DFT (rows 0..n/2 the real parts, the rest the imaginary parts, either sign)
// and returns the window, so an FFT can replace the convolution exactly.
func checkBasis(basis []float32, n int) ([]float32, error) {
	bins := n/2 + 1
	win := make([]float32, n)
	copy(win, basis[:n]) // bin 0: cos(0) = 1
	var worst float64
	for k := range bins {
		for j := range n {
			a := 2 * math.Pi * float64(k*j%n) / float64(n)
			w := float64(win[j])
			re := float64(basis[k*n+j]) - w*math.Cos(a)
			im := math.Min(math.Abs(float64(basis[(bins+k)*n+j])+w*math.Sin(a)),
				math.Abs(float64(basis[(bins+k)*n+j])-w*math.Sin(a)))
			worst = math.Max(worst, math.Max(math.Abs(re), im))
		}
	}
	if worst > 1e-5 {
		return nil, fmt.Errorf("%w: STFT basis is not a windowed DFT (error %g)", ErrModelFormat, worst)
	}
	return win, nil
}

// newConv rearranges ONNX conv weights [out][in][kernel] into [out][tap][inPad].
func newConv(w, bias []float32, in, out, stride int) conv {
	c := conv{in: in, inPad: (in + 15) &^ 15, out: out, stride: stride, b: bias}
	c.w = make([]float32, out*kernel*c.inPad)
	for o := range out {
		for i := range in {
			for t := range kernel {
				c.w[(o*kernel+t)*c.inPad+i] = w[(o*in+i)*kernel+t]
			}
		}
	}
	return c
}

// Model is the per-stream state of one Silero VAD stream. It implements
// vad.Model and is not safe for concurrent use.
type Model struct {
	b    *branch
	simd bool
	h, c [hidden]float32
	ctx  [64]float32
	settle
	// exact scores digital silence with the whole network too (tests
	// compare against it).
	exact bool
}

var _ vad.Model = (*Model)(nil)

// NewModel returns a stream at rate 16000 (512-sample windows) or 8000
// (256-sample windows); other rates return an error wrapping vad.ErrRate.
// The stream clears its recurrent state after each utterance unless
// KeepState is given (see ModelOption).
func (w *Weights) NewModel(rate int, opts ...ModelOption) (*Model, error) {
	var m *Model
	switch rate {
	case 16000:
		m = &Model{b: w.b16, simd: haveSIMD}
	case 8000:
		m = &Model{b: w.b8, simd: haveSIMD}
	default:
		return nil, fmt.Errorf("%w: silero runs at 8000 or 16000 Hz, not %d", vad.ErrRate, rate)
	}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Rate returns the model's sample rate.
func (m *Model) Rate() int { return m.b.rate }

// String names the model and its rate, as in "silero-v5(16kHz)".
func (m *Model) String() string { return fmt.Sprintf("silero-v5(%dkHz)", m.b.rate/1000) }

// WindowSize returns the samples per Probability call: 512 at 16 kHz, 256 at
// 8 kHz.
func (m *Model) WindowSize() int { return m.b.window }

// Reset clears the recurrent state and the context, as at stream start.
func (m *Model) Reset() {
	m.h, m.c, m.ctx = [hidden]float32{}, [hidden]float32{}, [64]float32{}
	m.settle.clear()
}

// Probability returns the speech probability of the next window, samples
// scaled to [-1, 1). A window of the wrong length returns an error wrapping
// vad.ErrWindowSize and one holding NaN or infinite samples an error
// wrapping ErrSample; neither changes the stream state.
//
// A window of near-digital silence, with a context as quiet, costs about a
// third of another: it is scored as exact digital silence (see quietPeak).
func (m *Model) Probability(window []float32) (float32, error) {
	if len(window) != m.b.window {
		return 0, fmt.Errorf("%w: silero at %d Hz takes %d samples, got %d", vad.ErrWindowSize, m.b.rate, m.b.window, len(window))
	}
	var peak float32
	for i, v := range window {
		if v-v != 0 { // NaN or ±Inf
			return 0, fmt.Errorf("%w: sample %d is %v", ErrSample, i, v)
		}
		peak = max(peak, v, -v)
	}
	var p float32
	if m.quietWindow(peak) {
		copy(m.ctx[:m.b.context], window[len(window)-m.b.context:])
		p = m.quietStep(m.quietInput())
	} else {
		p = m.forward(window)
	}
	if m.settle.after(p) {
		m.h, m.c = [hidden]float32{}, [hidden]float32{}
	}
	return p, nil
}
