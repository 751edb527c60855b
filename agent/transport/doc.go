// Package transport holds what a transport and a session share: the
// Transport interface a conversation's audio travels through, the optional
// EventSink and Marker interfaces, and the Event a session reports.
//
// Transports (the subpackages webrtc, device and twilio, or your own)
// import this package only; package agent re-exports every name here
// (agent.Transport, agent.Event, ...), so users of sessions need not import
// it.
package transport
