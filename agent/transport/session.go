package transport

import (
	"context"
	"net/http"

	"github.com/harkvoice/hark/pipeline"
)

// Session is the conversation a transport's handler runs over each
// connection. *agent.Session implements it.
type Session interface {
	// Run converses until ctx is done or the transport's ReadAudio returns
	// io.EOF.
	Run(ctx context.Context) error
	// SendText adds a typed user turn.
	SendText(text string)
	// SendImage attaches a picture to the next user turn.
	SendImage(img pipeline.Image)
	// Interrupt cancels the reply being spoken.
	Interrupt()
}

// NewSessionFunc is the session constructor every transport handler takes
// (webrtc, device, twilio): it makes the session for one connection, C, the
// transport's own connection type (a *device.Conn, a *twilio.Conn, ...). r is
// the request that opened the connection. It runs once the connection's
// handshake succeeded; an error refuses the client, which the transport
// tells why in its own protocol.
type NewSessionFunc[C Transport] func(r *http.Request, conn C) (Session, error)
