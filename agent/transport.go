package agent

import "github.com/harkvoice/hark/agent/transport"

// The interfaces a transport implements live in package transport; these
// aliases keep them usable as agent.Transport, ....
type (
	// Transport carries one conversation's audio between a client and a
	// Session; see transport.Transport for the contract.
	Transport = transport.Transport
	// EventSink is implemented by transports that forward session events
	// to the client.
	EventSink = transport.EventSink
	// Marker is implemented by transports whose far end reports playback.
	Marker = transport.Marker
	// EchoCancellationRequester is implemented by transports whose client
	// says whether to cancel echo server-side.
	EchoCancellationRequester = transport.EchoCancellationRequester
)
