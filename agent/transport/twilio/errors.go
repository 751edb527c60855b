package twilio

import (
	"errors"

	"github.com/harkvoice/hark/agent/transport/internal/wscore"
)

// Errors returned by the transport.
var (
	// ErrMessage reports a Media Streams message that does not parse or
	// lacks a required field.
	ErrMessage = errors.New("twilio: malformed message")
	// ErrClosed reports a write to a stream that has ended.
	ErrClosed = wscore.ErrClosed
	// ErrStalled reports a stream that stopped reading: its queued output
	// outgrew the send queue's bounds (WithSendQueue). It has been
	// disconnected.
	ErrStalled = wscore.ErrStalled
	// ErrGone is the cause of a session's context cancelled 2 s after its
	// stream ended, when the session did not return by itself.
	ErrGone = wscore.ErrGone
	// ErrProtocol ends a stream that sent too many malformed messages
	// (close 1008).
	ErrProtocol = errors.New("twilio: protocol error")
	// ErrUnauthorized reports a stream or webhook request that failed
	// authentication.
	ErrUnauthorized = errors.New("twilio: unauthorized")
	// ErrOption reports an invalid option.
	ErrOption = errors.New("twilio: invalid option")
	// ErrNoStart reports a stream that did not start in time.
	ErrNoStart = errors.New("twilio: no start message")
)
