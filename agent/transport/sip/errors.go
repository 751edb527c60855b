package sip

import "errors"

// Errors returned by the transport.
var (
	// ErrOption reports an invalid option.
	ErrOption = errors.New("sip: invalid option")
	// ErrSDP reports a session description that does not parse.
	ErrSDP = errors.New("sip: malformed SDP")
	// ErrNoCodec reports an offer with no audio codec or transport Hark
	// speaks.
	ErrNoCodec = errors.New("sip: no common codec")
	// ErrRTP reports a malformed RTP packet.
	ErrRTP = errors.New("sip: malformed RTP")
	// ErrDTMF reports a SIP INFO key press that does not parse.
	ErrDTMF = errors.New("sip: malformed DTMF")
	// ErrClosed reports a write to a call that has ended.
	ErrClosed = errors.New("sip: call ended")
	// ErrTransfer reports a transfer the far end refused or that failed.
	ErrTransfer = errors.New("sip: transfer failed")
	// ErrMediaTimeout ends a call whose far end stopped sending packets
	// (WithMediaTimeout).
	ErrMediaTimeout = errors.New("sip: no media from the far end")
	// ErrBusy reports a call refused because the server is at its call
	// limit.
	ErrBusy = errors.New("sip: too many calls")
)

// Reasons a session's context ends without an error of its own.
var (
	errSessionEnded = errors.New("sip: session ended")
	errHungUp       = errors.New("sip: caller hung up")
	errTransferred  = errors.New("sip: call transferred")
	errBridged      = errors.New("sip: caller and person bridged")
)
