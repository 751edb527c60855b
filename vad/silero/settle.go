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
