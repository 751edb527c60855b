package aec

import "errors"

// Errors returned by the canceller.
var (
	// ErrRate reports a sample rate the canceller does not run at (8000
	// and 16000 Hz are supported).
	ErrRate = errors.New("aec: unsupported sample rate")
	// ErrOption reports an option value out of range.
	ErrOption = errors.New("aec: bad option")
	// ErrFrameSize reports a microphone buffer that is not a whole number
	// of frames.
	ErrFrameSize = errors.New("aec: buffer is not a whole number of frames")
	// ErrPosition reports a reference position out of range (negative).
	ErrPosition = errors.New("aec: reference position out of range")
)
