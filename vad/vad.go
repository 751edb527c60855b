package vad

import (
	"errors"
	"time"
)

// Errors returned by detectors and models.
var (
	// ErrWindowSize reports a window of the wrong length for the model.
	ErrWindowSize = errors.New("vad: wrong window size")
	// ErrRate reports a sample rate the model does not support.
	ErrRate = errors.New("vad: unsupported sample rate")
	// ErrParams reports invalid detector parameters.
	ErrParams = errors.New("vad: invalid parameters")
)

// Model scores one stream's audio, one window at a time. A Model keeps
// per-stream state (recurrent state, context samples) and is not safe for
// concurrent use; create one per stream.
type Model interface {
	// Rate is the sample rate the model expects, in Hz.
	Rate() int
	// WindowSize is the number of samples each Probability call takes.
	WindowSize() int
	// Probability returns the speech probability in [0, 1] for the next
	// window of samples scaled to [-1, 1).
	Probability(window []float32) (float32, error)
	// Reset forgets all stream state.
	Reset()
}

// EventType tells what a detector noticed.
type EventType int

// Event types.
const (
	// SpeechStart is emitted once speech has lasted Params.MinSpeech.
	SpeechStart EventType = iota + 1
	// SpeechEnd is emitted once silence has lasted Params.MinSilence.
	SpeechEnd
	// SpeechPending is emitted, with Params.Tentative, at the first window
	// of a possible start: a SpeechStart or a SpeechDropped follows. A
	// decision layer can pause playout here, a window or more before the
	// start is confirmed, and resume on SpeechDropped.
	SpeechPending
	// SpeechDropped is emitted, with Params.Tentative, when a possible
	// start ends before it is confirmed (a knock, a cough, the first
	// windows of an echo before an echo guard catches it).
	SpeechDropped
)

// String returns "speech-start", "speech-end", "speech-pending" or
// "speech-dropped".
func (t EventType) String() string {
	switch t {
	case SpeechStart:
		return "speech-start"
	case SpeechEnd:
		return "speech-end"
	case SpeechPending:
		return "speech-pending"
	case SpeechDropped:
		return "speech-dropped"
	}
	return "unknown"
}

// Event is a confirmed change between silence and speech. Positions are
// sample indexes at the model's rate counted from the first sample written.
type Event struct {
	Type EventType
	// Start is where the speech began: the first sample of the first window
	// above the activation threshold.
	Start int64
	// End is, for SpeechEnd, the sample just after the last speech window.
	End int64
	// At is the sample position at which the detector confirmed the event
	// (the end of the window that decided it).
	At int64
	// Audio holds, for SpeechStart, the samples from Start-PreRoll (clamped
	// at the stream start) up to At, so a recogniser gets the first syllable.
	Audio []int16
}

// Params tune the state machine. Zero fields take the defaults below.
type Params struct {
	// Activation is the probability every window of a start must reach
	// (default 0.5).
	Activation float32
	// Deactivation is the probability below which a window of confirmed
	// speech counts as silence (default 0.35).
	Deactivation float32
	MinSpeech    time.Duration // speech needed to confirm a start (default 64 ms)
	MinSilence   time.Duration // silence needed to confirm an end (default 300 ms)
	PreRoll      time.Duration // audio kept before Start in SpeechStart events (default 300 ms)
	// Tentative also reports possible starts before they are confirmed
	// (SpeechPending, then SpeechStart or SpeechDropped).
	Tentative bool
}
