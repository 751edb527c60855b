package agent

import (
	"context"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Transport carries one conversation's audio between a client and a Session.
// Transports live in agent/transport/...; tests use in-memory ones.
type Transport interface {
	// ReadAudio blocks until the next frame of the client's audio arrives,
	// in any format the frame states. It returns io.EOF when the client has
	// gone.
	ReadAudio(ctx context.Context) (pcm.Frame, error)
	// WriteAudio sends one 20 ms frame of agent audio in OutputFormat. The
	// session's playout clock calls it every 20 ms while the agent speaks.
	WriteAudio(ctx context.Context, frame pcm.Frame) error
	// OutputFormat is the format WriteAudio expects.
	OutputFormat() pcm.Format
	// Flush drops agent audio buffered between the transport and the
	// listener's ears (a Twilio "clear", a device "clear" event). It is
	// called on the interrupt path and must not block on the network for
	// long.
	Flush(ctx context.Context) error
}

// EventSink is implemented by transports that forward session events to the
// client (a WebRTC data channel, the device WebSocket). The session calls
// SendEvent from its own goroutine; implementations must not block for long.
type EventSink interface {
	SendEvent(ev Event) error
}

// Marker is implemented by transports whose far end reports playback (Twilio
// "mark" messages). The session marks the end of each spoken chunk; the
// transport calls played once the far end says everything up to the mark was
// played. Marks flushed away are never reported.
type Marker interface {
	Mark(ctx context.Context, name string, played func()) error
}
