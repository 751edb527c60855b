package realtime

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrInvalidOption reports a bad option value given to New.
	ErrInvalidOption = errors.New("realtime: invalid option")
	// ErrConnect reports that no connection to the server could be made,
	// retries included.
	ErrConnect = errors.New("realtime: cannot connect")
	// ErrConnectionLost reports a connection that dropped before the final
	// transcript, retries included.
	ErrConnectionLost = errors.New("realtime: connection lost")
	// ErrTimeout reports a server that did not finish the transcript within
	// the configured time after the stream was closed.
	ErrTimeout = errors.New("realtime: timed out")
	// ErrServer wraps an error event (*realtimeapi.APIError) or a failed
	// transcription the server reported.
	ErrServer = errors.New("realtime: server error")
	// ErrProtocol reports a server event this package cannot read.
	ErrProtocol = errors.New("realtime: protocol error")
	// ErrClosed reports a Write after Close.
	ErrClosed = errors.New("realtime: stream closed")
)

// HandshakeError is a WebSocket upgrade the server refused with an HTTP
// status (401 for a bad key, 404 for a wrong URL, ...).
type HandshakeError struct {
	StatusCode int
	Body       string // the start of the answer's body
}

// Error describes the refusal.
func (e *HandshakeError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("realtime: connection refused with HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("realtime: connection refused with HTTP %d: %s", e.StatusCode, e.Body)
}

// Unwrap makes a refusal match ErrConnect.
func (e *HandshakeError) Unwrap() error { return ErrConnect }
