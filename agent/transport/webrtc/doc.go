// Package webrtc connects browsers and other WebRTC peers to Hark sessions
// with pion/webrtc.
//
// A Handler speaks WHIP-style HTTP signalling: the client POSTs an SDP offer
// (Content-Type application/sdp, ICE candidates gathered, no trickle) and gets
// the answer with a Location header naming the session; a DELETE of that
// location ends it. For every peer the Handler builds a Conn and asks a
// NewSessionFunc for the conversation to run over it (an *agent.Session).
//
// Audio is Opus at 48 kHz both ways. Incoming packets are decoded to 48 kHz
// mono frames (padding-only packets skipped, short losses concealed).
// Outgoing frames are encoded and paced at 20 ms on the transport's own RTP
// clock: timestamps keep running across silences and flushes, and the first
// packet of every talkspurt carries the RTP marker bit.
//
// The client opens one data channel (any label) before it creates its offer.
// The server sends every session event on it as the JSON of agent.Event
// (state, user_partial, user_final, agent_text, interruption with the heard
// text, turn_metrics, ...). The client sends JSON messages:
//
//	{"type": "text", "text": "What are your opening hours?"}
//	{"type": "image", "mime_type": "image/jpeg", "data": "<base64>"}
//	{"type": "stop"}
//
// A malformed message is answered with an "error" event naming the reason.
//
// A connection that is not "connected" within the connect timeout (10 s by
// default) ends with a ConnectError. WithLoopbackOnly restricts ICE to
// 127.0.0.1, for tests and for a demo used on the same machine.
package webrtc
