package realtimeapi

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrUnknownEvent reports an event whose type is not one this package
	// knows in the direction decoded.
	ErrUnknownEvent = errors.New("realtimeapi: unknown event type")
	// ErrMalformed reports bytes that are not a JSON object with a string
	// "type", or fields of the wrong JSON type.
	ErrMalformed = errors.New("realtimeapi: malformed event")
)

// DecodeError is an event that could not be decoded. Type and EventID are
// filled in when the input had them, so that a server can name the
// offending event in its error event.
type DecodeError struct {
	Type    string
	EventID string
	Err     error // wraps ErrUnknownEvent or ErrMalformed
}

// Error describes the failure.
func (e *DecodeError) Error() string {
	if e.Type == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (type %q)", e.Err, e.Type)
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Error types (APIError.Type) used by OpenAI.
const (
	ErrorInvalidRequest = "invalid_request_error"
	ErrorServer         = "server_error"
)

// APIError is the error object of an error event and of a failed
// transcription or response.
type APIError struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	EventID string `json:"event_id,omitempty"` // the client event that caused it
}

// Error describes the failure.
func (e *APIError) Error() string {
	s := "realtime: " + e.Type
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}
