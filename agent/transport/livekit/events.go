package livekit

import (
	"fmt"
	"strings"

	"github.com/harkvoice/hark/agent/transport"
)

// Names LiveKit's front-end components (and its agents framework) use for
// agents: the transcription text stream and its attributes, the chat topic
// a client types on, and the participant attribute carrying the agent's
// state. Hark's own events go as JSON data packets on TopicEvents.
const (
	// TopicTranscription is the text stream topic of transcripts, the
	// user's and the agent's.
	TopicTranscription = "lk.transcription"
	// TopicChat is the text stream topic a client sends typed messages on.
	TopicChat = "lk.chat"
	// TopicEvents is the data packet topic of every session event as the
	// JSON of transport.Event (reliable delivery).
	TopicEvents = "hark.events"
	// AttrAgentState is the agent participant's attribute holding its
	// state: initializing, listening, thinking or speaking.
	AttrAgentState = "lk.agent.state"

	attrSegmentID = "lk.segment_id"
	attrTrackID   = "lk.transcribed_track_id"
	attrFinal     = "lk.transcription_final"
	// attrAgentName is the attribute the server gives agent participants.
	attrAgentName = "lk.agent_name"
)

// transcript is one text stream to send on TopicTranscription: the text of
// a segment so far (final false), or its final text.
type transcript struct {
	segment string
	agent   bool // the agent's speech (else the user's)
	final   bool
	text    string
}

// output is what one session event becomes in the room besides its JSON
// copy: a new agent state, a transcript, both or neither.
type output struct {
	state string
	text  *transcript
}

// router maps session events to LiveKit's conventions. It is a plain type
// fed one event at a time. User speech gets one segment per turn (partials,
// then the final); an agent reply one segment per turn whose interim text
// grows as chunks start playing and whose final text is what was played,
// the whole reply or, after a barge-in, what the user heard.
type router struct {
	userSeg   int
	agentTurn uint64
	agentOpen bool
	agentText string
}

// agentState maps Hark's session states to LiveKit's agent states.
func agentState(s transport.State) string {
	switch s {
	case transport.StateThinking:
		return "thinking"
	case transport.StateSpeaking:
		return "speaking"
	default: // listening, user-speaking
		return "listening"
	}
}

func (r *router) route(ev transport.Event) output {
	switch ev.Type {
	case transport.EventState:
		return output{state: agentState(ev.State)}
	case transport.EventUserPartial:
		return output{text: &transcript{segment: r.userSegment(), text: ev.Text}}
	case transport.EventUserFinal:
		t := &transcript{segment: r.userSegment(), final: true, text: ev.Text}
		r.userSeg++
		return output{text: t}
	case transport.EventAgentText:
		if !r.agentOpen || ev.Turn != r.agentTurn {
			r.agentOpen, r.agentTurn, r.agentText = true, ev.Turn, ""
		}
		r.agentText = joinText(r.agentText, ev.Text)
		return output{text: &transcript{segment: agentSegment(ev.Turn), agent: true, text: r.agentText}}
	case transport.EventAgentDone:
		return r.closeAgent(ev.Turn, ev.Text)
	case transport.EventInterruption:
		if ev.Interruption != nil && ev.Interruption.Cancelled {
			return r.closeAgent(ev.Turn, ev.Interruption.Heard)
		}
	}
	return output{}
}

// closeAgent ends the reply of turn with its final text; a turn that never
// started playing, or was closed already, produces nothing.
func (r *router) closeAgent(turn uint64, text string) output {
	if !r.agentOpen || turn != r.agentTurn {
		return output{}
	}
	r.agentOpen = false
	return output{text: &transcript{segment: agentSegment(turn), agent: true, final: true, text: text}}
}

func (r *router) userSegment() string { return fmt.Sprintf("user-%d", r.userSeg) }

func agentSegment(turn uint64) string { return fmt.Sprintf("agent-%d", turn) }

// joinText appends a reply chunk to the text so far with one space between.
func joinText(so, chunk string) string {
	chunk = strings.TrimSpace(chunk)
	switch {
	case chunk == "":
		return so
	case so == "":
		return chunk
	}
	return so + " " + chunk
}
