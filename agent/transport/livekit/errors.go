package livekit

import "errors"

var (
	// ErrConfig reports an invalid option or argument.
	ErrConfig = errors.New("livekit: invalid configuration")
	// ErrRegister reports that the server did not accept the worker's
	// registration (a bad key or secret, or no answer within 10 s).
	ErrRegister = errors.New("livekit: worker registration failed")
	// ErrTerminated is the cause a job's session ends with when the server
	// terminates the job (the dispatch was deleted or the room closed).
	ErrTerminated = errors.New("livekit: job terminated by the server")
	// ErrDrainTimeout is the cause calls still running at the end of the
	// drain timeout are ended with.
	ErrDrainTimeout = errors.New("livekit: drain timeout")
	// ErrDuplicateAgent ends a call whose room already has an agent of the
	// same name that joined first (two workers picked up the same room).
	ErrDuplicateAgent = errors.New("livekit: another agent of this name is in the room")
	// ErrHandedOff is the cause a call ends with when the agent leaves it
	// to the operator (HandoffLeave).
	ErrHandedOff = errors.New("livekit: call handed to an operator")
	// ErrNoClient reports that LiveKit's JavaScript client, which the
	// operator page loads, is not in the cache (`make deps` fetches it).
	ErrNoClient = errors.New("livekit: livekit-client.umd.js not in the cache (run `make deps`)")
	// ErrClosed is returned by a Conn's methods after it closed.
	ErrClosed = errors.New("livekit: connection closed")
)
