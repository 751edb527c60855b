package device

import (
	"errors"
	"fmt"

	"github.com/harkvoice/hark/agent/transport/internal/wscore"
)

// Errors returned by the transport.
var (
	// ErrClosed reports a write to a device connection that has ended.
	ErrClosed = wscore.ErrClosed
	// ErrStalled reports a device that stopped reading: its queued output
	// outgrew the send queue's bounds (WithSendQueue) or it left a ping
	// unanswered. It has been disconnected.
	ErrStalled = wscore.ErrStalled
	// ErrGone is the cause of a session's context cancelled 2 s after its
	// device went away, when the session did not return by itself.
	ErrGone = wscore.ErrGone
	// ErrProtocol is wrapped by every *ProtocolError.
	ErrProtocol = errors.New("device: protocol error")
	// ErrUnauthorized reports a hello whose token the authenticator refused.
	ErrUnauthorized = errors.New("device: unauthorized")
	// ErrOption reports an invalid handler option.
	ErrOption = errors.New("device: invalid option")
)

// Error codes carried in the "code" field of server "error" messages.
const (
	CodeBadJSON         = "bad_json"            // not a JSON object with a string "type"
	CodeUnknownType     = "unknown_type"        // a "type" this protocol version does not know
	CodeBadMessage      = "bad_message"         // a known type with missing or invalid fields
	CodeTooLarge        = "too_large"           // a message over the size limit (it was discarded)
	CodeRateLimited     = "rate_limited"        // a message over the rate limit (it was discarded)
	CodeHelloRequired   = "hello_required"      // anything but a hello before the hello
	CodeUnexpectedHello = "unexpected_hello"    // a second hello
	CodeBadVersion      = "unsupported_version" // a protocol version the server does not speak
	CodeBadAudioFormat  = "bad_audio_format"    // an audio format the server does not accept
	CodeBadAudio        = "bad_audio"           // a binary frame that does not decode
	CodeOverrun         = "overrun"             // audio arrived faster than the session consumed it
	CodeUnauthorized    = "unauthorized"        // the token was refused; the server closes
	CodeSessionFailed   = "session_failed"      // the server could not start or run the session
	CodeTooManyErrors   = "too_many_errors"     // the error budget ran out; the server closes
)

// ProtocolError is a message the server refused; the device receives it as
// an "error" message with the same code and reason.
type ProtocolError struct {
	Code   string // one of the Code... constants
	Reason string // human-readable detail
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("device: %s: %s", e.Code, e.Reason)
}

// Unwrap returns ErrProtocol, or ErrUnauthorized for CodeUnauthorized.
func (e *ProtocolError) Unwrap() error {
	if e.Code == CodeUnauthorized {
		return ErrUnauthorized
	}
	return ErrProtocol
}

func protoErr(code, format string, args ...any) *ProtocolError {
	return &ProtocolError{Code: code, Reason: fmt.Sprintf(format, args...)}
}
