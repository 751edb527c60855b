package silero

// ModelOption configures one stream.
type ModelOption func(*Model) error

// KeepState makes the stream carry its recurrent state from one utterance
// to the next, exactly as a loop over the ONNX graph does; golden-output
// comparisons need it. Streams clear it by default (see Model).
func KeepState() ModelOption {
	return func(m *Model) error {
		m.settle.keep = true
		return nil
	}
}

// The network's LSTM state carries what it has heard. After speech and a few
// seconds of quiet it settles into a state that confirms the next onset late:
// measured on flite's "Stop." after earlier speech and 10-30 s of quiet,
// 60-120 ms later than a fresh stream over digital silence and 100-200 ms
// later over a -45 dBFS noise floor. A fresh stream needs no warm-up (its
// first windows score like later ones), so a stream clears its recurrent
// state once an utterance has ended: after settleQuiet windows below
// settleLow that follow a window at or above settleHigh. The thresholds are
// the detector's defaults and settleQuiet windows (320 ms) its default
// silence to end an utterance, so the state is cleared where the detector
// confirms the end. The 64-sample context is kept: the audio is continuous.
const (
	settleHigh  = 0.5
	settleLow   = 0.35
	settleQuiet = 10 // windows of 32 ms at both rates
)

// settle tracks when a stream's recurrent state should be cleared.
type settle struct {
	keep  bool // never clear (KeepState)
	heard bool // a window at or above settleHigh since the last clear
	quiet int  // consecutive windows below settleLow
}

// after takes the probability of the window just scored and reports whether
// the recurrent state should be cleared now.
func (s *settle) after(p float32) bool {
	switch {
	case s.keep:
		return false
	case p >= settleHigh:
		s.heard, s.quiet = true, 0
	case p >= settleLow:
		s.quiet = 0
	default:
		s.quiet++
		if s.heard && s.quiet >= settleQuiet {
			s.heard, s.quiet = false, 0
			return true
		}
	}
	return false
}

// clear forgets the utterance in progress (the KeepState setting stays).
func (s *settle) clear() { s.heard, s.quiet = false, 0 }

// Digital silence (a muted microphone, a device's noise gate, a codec's
// silence, a phone line's idle μ-law) costs the network as much as speech,
// yet its encoder output is always the same. A window whose samples, and
// the context before them, all stay within quietPeak (-72 dBFS: the ±1 LSB
// a decoder leaves of encoded digital silence, with margin) is scored as
// digital silence: the encoder's output for all-zero input and its product
// with the LSTM's input weights are computed once per Weights, and only the
// recurrent half of the cell runs, which carries the state on as over any
// window. For exact zeros this is the full network's result up to float32
// rounding; the quietest speech is some 40 dB above quietPeak.
const quietPeak = 8.0 / 32768

// quietWindow reports whether window and the context before it are
// digital silence (see quietPeak), given window's peak magnitude.
func (m *Model) quietWindow(peak float32) bool {
	if m.exact || peak > quietPeak {
		return false
	}
	for _, v := range m.ctx[:m.b.context] {
		if v > quietPeak || v < -quietPeak {
			return false
		}
	}
	return true
}

// quietInput returns the LSTM's input-weight products for the encoder
// output of digital silence, computed with the model's kernels on first use.
func (m *Model) quietInput() []float32 {
	k := 0
	if m.simd {
		k = 1
	}
	b := m.b
	b.quietOnce[k].Do(func() {
		z := &Model{b: b, simd: m.simd}
		var s scratch
		x := z.encode(make([]float32, b.window), &s)
		var in [2 * hidden]float32 // [x; 0]: the input half only
		copy(in[:hidden], x)
		z.matVec(b.quiet[k][:], b.lstmW, in[:], hidden, 2*hidden)
	})
	return b.quiet[k][:]
}
