package silero

import "errors"

// Errors returned by this package.
var (
	// ErrModelNotFound reports that the model file is missing.
	ErrModelNotFound = errors.New("silero: model file not found")
	// ErrModelChecksum reports that the default model file's SHA-256 is not
	// the pinned one (a partial download, or another file).
	ErrModelChecksum = errors.New("silero: model file has the wrong checksum")
	// ErrModelFormat reports a model file that is not the expected Silero v5
	// ONNX graph.
	ErrModelFormat = errors.New("silero: unexpected model format")
	// ErrSample reports a NaN or infinite input sample.
	ErrSample = errors.New("silero: non-finite sample")
)
