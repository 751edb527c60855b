package transport

import (
	"context"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Transport carries one conversation's audio between a client and a session.
//
// Input: ReadAudio returns the client's audio as it arrives, one frame per
// call, in any format and of any length the frame states (10 or 20 ms is
// usual); the session resamples it once to its detector's rate. The session
// calls ReadAudio from one goroutine, in a loop, until it returns an error.
// A frame's samples are the session's until its next ReadAudio call: a
// transport may then reuse their storage (the session copies what it keeps).
// Input needs no pacing: the session keeps time by the samples it has read,
// so a recording may be read as fast as the session takes it. io.EOF means
// the client has gone: a reply in progress stops (the history keeps what
// was heard of it), the user's turn in progress is recognised and kept in
// the history without an answer, and the session's Run returns nil. A
// client that wants the answer to its last words keeps the input open
// (silence will do) until it has it (EventAgentDone). Any other error ends
// Run with that error.
//
// Output: WriteAudio is called by the session's playout clock, one frame
// per 20 ms tick, always in OutputFormat and always 20 ms long. The clock
// paces the frames in real time, so a transport sends each frame on as it
// comes and does not pace again; while a reply is paused or starved the
// clock sends silent frames, so timing stays continuous. A WriteAudio error
// is reported as an error event and does not end the session (a gone peer
// is noticed through ReadAudio).
//
// Flush is called on the interrupt path: drop the agent audio buffered
// between the transport and the listener's ears. Flush, WriteAudio and
// SendEvent must not block for long; the session bounds Flush with a short
// deadline.
type Transport interface {
	// ReadAudio blocks until the next frame of the client's audio arrives,
	// in any format the frame states. It returns io.EOF when the client has
	// gone.
	ReadAudio(ctx context.Context) (pcm.Frame, error)
	// WriteAudio sends one 20 ms frame of agent audio in OutputFormat.
	WriteAudio(ctx context.Context, frame pcm.Frame) error
	// OutputFormat is the format WriteAudio expects.
	OutputFormat() pcm.Format
	// Flush drops agent audio buffered between the transport and the
	// listener's ears (a Twilio "clear", a device "clear" event).
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

// EchoCancellationRequester is implemented by transports whose client says
// whether the session should cancel the echo of the agent's voice in the
// microphone signal (the device protocol's hello). A session follows it
// unless its own options decide.
type EchoCancellationRequester interface {
	WantsEchoCancellation() bool
}
