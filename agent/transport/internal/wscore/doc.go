// Package wscore is the lifecycle the WebSocket transports (device and
// twilio) share; each keeps only its own protocol and handshake.
//
// After a transport's handshake, a Conn runs the session (Serve): a writer
// goroutine sends queued messages, control before audio; a reader goroutine
// hands each message to the transport's handler; a watchdog cancels the
// session's context a grace period after the peer has gone, so a session
// busy elsewhere still ends; and when the session returns, the connection
// closes with a close frame that states why, waiting briefly for the peer's
// answer. No goroutine outlives Serve.
//
// # Nothing a peer does may stall the session
//
// Every method the session calls (WriteAudio, Flush, SendEvent, Mark, all
// through Send, Control, Flush and Mark here) only queues and returns. The
// queues are bounded: a peer on which a write has been blocked longer than
// Config.MaxDelay, whose queued bytes exceed Config.MaxQueueBytes, or
// (with pings) that has not answered a ping by the time the next is due, has
// stopped reading; it is disconnected (ErrStalled) and the call returns
// ErrStalled at once. The kernel's send buffer is capped too
// (Config.SendBuffer), so a stalled peer cannot hide hundreds of kilobytes
// there.
//
// # Flush by generation
//
// Output carries the generation it was made in. Flush starts a new
// generation: queued audio and marks of the old one are dropped, marks not
// yet played are forgotten (their played callbacks never run), and the
// transport's clear message goes out on the control lane, ahead of any
// audio written after Flush returned.
//
// # Input overflow
//
// Decoded input waits for ReadAudio in a frameq.Queue: when the session
// falls behind, the oldest frame is dropped and the drops are reported at
// most once a second (the policy of every transport).
//
// # Steady audio allocates nothing
//
// Every frame of every call would otherwise leave garbage behind, and on a
// loaded server the collector's work competes with every call's playout.
// So storage goes round: a transport reads each message into storage it
// keeps (ReadInto), decodes input into a Buffer the session hands back on
// its next ReadAudio, and builds output in a Packet whose storage comes
// back once Send's message is written or flushed.
package wscore
