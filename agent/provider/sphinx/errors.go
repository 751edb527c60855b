package sphinx

import "errors"

// Errors returned by the recogniser.
var (
	// ErrUnavailable reports a build without cgo, where PocketSphinx cannot
	// be called.
	ErrUnavailable = errors.New("sphinx: built without cgo")
	// ErrModel reports a missing or unreadable acoustic model, dictionary or
	// language model.
	ErrModel = errors.New("sphinx: cannot load the model")
	// ErrLanguage reports a language hint the models cannot recognise.
	ErrLanguage = errors.New("sphinx: unsupported language")
	// ErrDecode reports a failure inside the decoder.
	ErrDecode = errors.New("sphinx: decoding failed")
	// ErrClosed reports a call on a closed Recognizer.
	ErrClosed = errors.New("sphinx: recognizer closed")
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("sphinx: invalid option")
)
