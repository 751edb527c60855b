package aec

// Talk is who is speaking, as the double-talk detector sees it.
type Talk uint8

// Talk states.
const (
	Silence    Talk = iota // neither the agent's echo nor the user
	FarEnd                 // the agent's echo only
	NearEnd                // the user only
	DoubleTalk             // both at once
)

func (t Talk) String() string {
	switch t {
	case Silence:
		return "silence"
	case FarEnd:
		return "far-end"
	case NearEnd:
		return "near-end"
	case DoubleTalk:
		return "double-talk"
	}
	return "unknown"
}

// talkDetector turns per-block activity decisions into a talk state with
// hangovers: the user counts as speaking for nearHang blocks after the
// last block that showed them (speech has short gaps the filter must not
// adapt in), and the echo for farHang blocks after the last block with
// echo. It is a pure state machine: no clock of its own.
type talkDetector struct {
	nearHang, farHang int
	near, far         int // blocks of hangover left
	state             Talk
}

// Hangovers, in 8 ms blocks.
const (
	nearHangBlocks = 12 // 96 ms
	farHangBlocks  = 4  // 32 ms
)

func newTalkDetector() talkDetector {
	return talkDetector{nearHang: nearHangBlocks, farHang: farHangBlocks}
}

// step takes one block's evidence (echo present, near-end speech present)
// and returns the state.
func (d *talkDetector) step(far, near bool) Talk {
	nearOn, farOn := hang(&d.near, d.nearHang, near), hang(&d.far, d.farHang, far)
	switch {
	case nearOn && farOn:
		d.state = DoubleTalk
	case nearOn:
		d.state = NearEnd
	case farOn:
		d.state = FarEnd
	default:
		d.state = Silence
	}
	return d.state
}

// hang reports whether a signal counts as present: it is, or it was within
// the last n blocks (left counts them down).
func hang(left *int, n int, present bool) bool {
	switch {
	case present:
		*left = n
		return true
	case *left > 0:
		*left--
		return true
	}
	return false
}
