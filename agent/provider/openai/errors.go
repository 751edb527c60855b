package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrTimeout reports a server that did not answer, or stopped sending,
	// within the configured time.
	ErrTimeout = errors.New("openai: timed out")
	// ErrStreamBroken reports a stream that ended before it was complete
	// (the connection dropped in the middle of an answer).
	ErrStreamBroken = errors.New("openai: stream broken")
	// ErrConnect reports that no connection to the server could be made,
	// retries included.
	ErrConnect = errors.New("openai: cannot connect")
	// ErrInvalidRequest reports a request this package cannot send, such as
	// a message with an unknown role or a tool with an invalid schema.
	ErrInvalidRequest = errors.New("openai: invalid request")
	// ErrInvalidOption reports a bad option value given to New.
	ErrInvalidOption = errors.New("openai: invalid option")
)

// APIError is an error answer from the server: an HTTP error status, or an
// error event in the middle of a stream (StatusCode 0).
type APIError struct {
	StatusCode int
	Message    string
	Type       string // "server_error", "invalid_request_error", ... when given
	Code       string // provider-specific code when given
	Err        error  // the underlying client error
}

// Error describes the failure.
func (e *APIError) Error() string {
	if e.StatusCode == 0 {
		return "openai: error in stream: " + e.Message
	}
	return fmt.Sprintf("openai: HTTP %d: %s", e.StatusCode, e.Message)
}

// Unwrap returns the underlying client error.
func (e *APIError) Unwrap() error { return e.Err }

// errStalled is the cancellation cause the watchdog sets.
var errStalled = errors.New("openai: watchdog")

// fail turns the error of an operation into this package's typed errors.
// parent is the caller's context, ctx the watched one; started tells that
// the answer had begun to arrive.
func fail(op string, parent, ctx context.Context, err error, started bool) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	if errors.Is(context.Cause(ctx), errStalled) {
		return fmt.Errorf("%w (%s)", ErrTimeout, op)
	}
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) {
		out := &APIError{StatusCode: apiErr.HTTPStatusCode, Message: apiErr.Message, Type: apiErr.Type, Err: err}
		if apiErr.Code != nil {
			out.Code = fmt.Sprint(apiErr.Code)
		}
		return out
	}
	var reqErr *goopenai.RequestError
	if errors.As(err, &reqErr) {
		msg := strings.TrimSpace(string(reqErr.Body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = reqErr.HTTPStatus
		}
		return &APIError{StatusCode: reqErr.HTTPStatusCode, Message: msg, Err: err}
	}
	if isDialError(err) {
		return fmt.Errorf("%w (%s): %w", ErrConnect, op, err)
	}
	if started || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w (%s): %w", ErrStreamBroken, op, err)
	}
	return fmt.Errorf("openai: %s: %w", op, err)
}

// isDialError reports an error from making a connection, before any byte
// of the request was sent.
func isDialError(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}
