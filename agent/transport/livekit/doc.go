// Package livekit runs Hark sessions as agents in LiveKit rooms.
//
// A Worker registers with a LiveKit server (self-hosted or LiveKit Cloud)
// over its agent worker protocol, reports its load, and accepts the jobs the
// server dispatches to it up to its maximum. For every job it joins the room
// with the token the server issued (LiveKit's Go SDK), subscribes to the
// caller's microphone, publishes the agent's Opus track, and runs a Hark
// session over a Conn, which implements transport.Transport: VAD,
// turn-taking, barge-in and echo handling work as on the other transports.
// Several workers share the load; the server spreads new rooms over them by
// load.
//
// What goes into the room follows LiveKit's conventions, so its front-end
// components show it as they show LiveKit's own agents: the agent's state is
// its participant attribute lk.agent.state (initializing, listening,
// thinking, speaking); transcripts of both sides are text streams on the
// topic lk.transcription with the attributes lk.segment_id,
// lk.transcribed_track_id and lk.transcription_final (interim streams carry
// the text so far, the final one what was said, or for an interrupted reply
// what the user heard); text a client sends on lk.chat becomes a typed user
// turn. Every session event also goes, as the JSON of transport.Event, in a
// reliable data packet on the topic hark.events.
//
// Hand-off to a person: with WithHandoff, a session's EventHandoff (a tool
// returned agent.Handoff) makes the agent publish a summary of the call
// (its attribute hark.handoff), mint a join token for an operator and hand
// it, with a link to the operator page (OperatorHandler, WithOperatorPage),
// to the application's notify function. The operator joins from the page
// with microphone and camera, receives the summary (text streams on
// hark.handoff and lk.chat), and the caller sees and hears the person. The
// agent then goes quiet (HandoffQuiet: its audio track unpublished) or
// leaves the room after reporting the job successful (HandoffLeave).
//
// Draining: when Run's context is done the worker reports itself full and
// draining, declines new jobs, and waits for its calls to end before it
// returns. A job is reported successful before the agent leaves the room.
//
// LiveKit does not dispatch again a room whose worker died, and never
// dispatches a room created while no worker was registered. WithRoomSweep
// makes workers look for such rooms and dispatch their agent to them again;
// if two workers end up in one room, the agent that joined later leaves.
package livekit
