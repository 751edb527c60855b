package agent

import "github.com/harkvoice/hark/agent/transport"

// The event types live in package transport, which transports import;
// these aliases keep them usable as agent.Event, agent.EventState, ....
type (
	// State is where a session is in the conversation.
	State = transport.State
	// EventType names a session event.
	EventType = transport.EventType
	// Event reports something that happened in a session.
	Event = transport.Event
	// Interruption describes a barge-in.
	Interruption = transport.Interruption
	// TurnMetrics are one turn's stage latencies.
	TurnMetrics = transport.TurnMetrics
	// ToolEvent reports a tool call and its outcome.
	ToolEvent = transport.ToolEvent
	// Frustration is how frustrated the user sounds.
	Frustration = transport.Frustration
)

// Session states (see transport.State).
const (
	StateListening    = transport.StateListening
	StateUserSpeaking = transport.StateUserSpeaking
	StateThinking     = transport.StateThinking
	StateSpeaking     = transport.StateSpeaking
)

// Event types (see transport.EventType for the fields each sets).
const (
	EventState        = transport.EventState
	EventUserPartial  = transport.EventUserPartial
	EventUserFinal    = transport.EventUserFinal
	EventAgentText    = transport.EventAgentText
	EventAgentDone    = transport.EventAgentDone
	EventInterruption = transport.EventInterruption
	EventResumed      = transport.EventResumed
	EventMetrics      = transport.EventMetrics
	EventToolCall     = transport.EventToolCall
	EventHandoff      = transport.EventHandoff
	EventFrustration  = transport.EventFrustration
	EventError        = transport.EventError
)
