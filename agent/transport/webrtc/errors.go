package webrtc

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package.
var (
	// ErrClosed reports use of a connection or handler that has ended.
	ErrClosed = errors.New("webrtc: connection closed")
	// ErrConnectTimeout reports a peer that did not connect in time; the
	// error returned is a *ConnectError.
	ErrConnectTimeout = errors.New("webrtc: peer did not connect in time")
	// ErrOffer reports an unusable SDP offer.
	ErrOffer = errors.New("webrtc: bad offer")
	// ErrNoSession reports a session id the handler does not know.
	ErrNoSession = errors.New("webrtc: no such session")
	// ErrSessionLimit reports that the handler runs as many sessions as it
	// may.
	ErrSessionLimit = errors.New("webrtc: too many sessions")
	// ErrMessage reports a malformed data channel message; the error
	// returned is a *MessageError.
	ErrMessage = errors.New("webrtc: bad client message")
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("webrtc: invalid option")
	// ErrNotLoopback reports a datagram to a non-loopback address refused
	// by a loopback-only connection.
	ErrNotLoopback = errors.New("webrtc: address is not loopback")
	// ErrBackpressure reports an event dropped because the data channel's
	// send buffer is full.
	ErrBackpressure = errors.New("webrtc: data channel send buffer full")
)

// ConnectError reports a peer connection that was not established within
// the connect timeout.
type ConnectError struct {
	// Timeout is the time the peer had.
	Timeout time.Duration
	// ICEState and PeerState are the states the connection was stuck in.
	ICEState  string
	PeerState string
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("webrtc: peer did not connect within %v (ICE %s, peer connection %s); "+
		"check that client and server can reach each other over UDP or configure a TURN server",
		e.Timeout, e.ICEState, e.PeerState)
}

// Unwrap returns ErrConnectTimeout.
func (e *ConnectError) Unwrap() error { return ErrConnectTimeout }

// MessageError reports why a data channel message from the client was
// rejected.
type MessageError struct {
	Reason string
}

func (e *MessageError) Error() string { return "webrtc: bad client message: " + e.Reason }

// Unwrap returns ErrMessage.
func (e *MessageError) Unwrap() error { return ErrMessage }
