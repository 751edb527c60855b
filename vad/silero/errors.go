package silero

import "errors"

// Errors returned by this package.
var (
	// ErrModelNotFound reports that no silero_vad.onnx file was found.
	ErrModelNotFound = errors.New("silero: model file not found")
	// ErrModelFormat reports a model file that is not the expected Silero v5
	// ONNX graph.
	ErrModelFormat = errors.New("silero: unexpected model format")
	// ErrSample reports a NaN or infinite input sample.
	ErrSample = errors.New("silero: non-finite sample")
)
