// Package sip answers phone calls over SIP and RTP and runs a Hark session
// on each, with no telephony provider in between: point a PBX's route or a
// SIP trunk at the server (or let it register with a registrar).
//
//	srv, _ := sip.NewServer(func(c *sip.Conn) (sip.Session, error) {
//		return agent.New(c, agent.WithPreset(agent.PresetPhone), ...)
//	}, sip.WithListen("udp", "0.0.0.0:5060"), sip.WithTransfer("sip:desk@pbx.example.com"))
//	err := srv.Serve(ctx)
//
// Signalling runs on github.com/emiago/sipgo (UDP, TCP, TLS;
// REGISTER with digest authentication; BYE and CANCEL end a call), the SIP
// stack under github.com/emiago/diago. Diago's call sessions are not used:
// each owns its RTP session, reader and writer, while a voice agent needs
// the media path to follow the interrupt machine (a flush that keeps the
// RTP clock running, a jitter buffer that delays nothing in order, two
// calls relayed without decoding) and to cost little per call. The media
// path is Hark's own: the SDP offer is parsed and answered here (PCMU, PCMA,
// and Opus in cgo builds, in the offer's order; RFC 4733 telephone-event),
// each call gets its own RTP socket, and a *Conn is the session's transport.
//
// Receiving: packets are put back in order by a jitter buffer that delays
// nothing that arrives in order; a missing packet is given up once three
// later ones have arrived (WithJitterDepth) and concealed (the last packet
// at half level for G.711, libopus concealment for Opus). RTP goes to the
// address the offer names, or with WithSymmetricRTP to where the caller's
// packets come from (for NAT). A far end that stops sending anything (no
// RTP, RTCP, comfort noise or keys) for 30 s while the call is not on hold
// has vanished without a BYE: Hark hangs up (WithMediaTimeout).
//
// Sending: WriteAudio sends each 20 ms frame as one packet at once; the
// session's playout is the clock. Within a talkspurt timestamps and sequence
// numbers advance by one frame; after a pause or a flush the next packet
// starts a talkspurt (marker bit) at the wall-clock timestamp, so the RTP
// clock never restarts. Barge-in needs no "clear" as on Twilio: Flush drops
// the frame waiting to be sent, and the far end holds only its jitter
// buffer's few tens of milliseconds.
//
// While the agent is silent, a call is not: it sends a frame of silence
// when answered and then whenever it has sent nothing for a second, each a
// talkspurt of its own. A far end that latches onto the first packet's
// source (symmetric RTP behind NAT) hears the caller's side at once, NAT
// bindings stay open, and a carrier's RTP inactivity timer does not hang
// up on a caller who is thinking. Hark sends these rather than a
// continuous stream of silence (a packet and a system call every 20 ms of
// every idle call, a third more than a call in conversation) or comfort
// noise (RFC 3389, which the far end must have offered and many trunks do
// not): any receiver decodes a frame of silence, and the gaps between
// them are the discontinuous transmission every RTP receiver handles.
//
// Keys: RFC 4733 telephone-events and SIP INFO (application/dtmf-relay,
// application/dtmf) reach WithDTMF's function, as on the Twilio transport.
//
// Hand-off: Conn implements agent.EventSink. When a tool returns
// agent.Handoff, the call is transferred by a blind REFER to WithTransfer's
// URI once the agent's goodbye has played, and WithHandoff's function gets
// the conversation so far (caller and agent lines, interruptions marked)
// with the transfer's outcome. WithAttendedTransfer bridges a second call
// instead: Hark calls the person, says the hand-off summary to them alone,
// then REFERs the caller with Replaces (RFC 3891) when the caller's phone
// takes it, or else relays the two calls' RTP itself with the agent out of
// the audio. When the person is busy or does not answer, the caller is
// told so and the session goes on.
//
// Malformed SDP is refused with 488 and a Warning header naming the fault;
// malformed RTP and INFO bodies are dropped with a logged error. Nothing a
// peer sends panics or stalls a call.
package sip
