package rtserver

import "errors"

// Errors returned by the transport.
var (
	// ErrOption reports an invalid option.
	ErrOption = errors.New("rtserver: invalid option")
	// ErrTooLarge reports a client message over the hard size limit, which
	// ends the connection.
	ErrTooLarge = errors.New("rtserver: message too large")
)
