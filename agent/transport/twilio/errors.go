package twilio

import "errors"

// Errors returned by the transport.
var (
	// ErrMessage reports a Media Streams message that does not parse or
	// lacks a required field.
	ErrMessage = errors.New("twilio: malformed message")
	// ErrClosed reports a write to a stream that has ended.
	ErrClosed = errors.New("twilio: stream closed")
	// ErrUnauthorized reports a stream or webhook request that failed
	// authentication.
	ErrUnauthorized = errors.New("twilio: unauthorized")
	// ErrOption reports an invalid option.
	ErrOption = errors.New("twilio: invalid option")
	// ErrNoStart reports a stream that did not start in time.
	ErrNoStart = errors.New("twilio: no start message")
)

// Reasons a session's context ends without an error of its own: the session
// returned, or the stream ended and the session did not notice in time.
var (
	errSessionEnded = errors.New("twilio: session ended")
	errGone         = errors.New("twilio: stream ended")
)
