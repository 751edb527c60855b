// Package device serves Hark's device protocol: a WebSocket over which a
// smart speaker, a toy or any embedded device talks to a voice agent.
//
// A Handler upgrades each request, waits for the device's hello, creates a
// session with the NewSessionFunc it was given and runs it with the
// connection (a *Conn, which implements transport.Transport,
// transport.EventSink and transport.Marker) as the transport:
//
//	h, err := device.NewHandler(func(r *http.Request, c *device.Conn) (device.Session, error) {
//		return agent.New(c, agent.WithPreset(agent.PresetSmartSpeaker), agent.WithLanguage(c.Hello().Language), ...)
//	}, device.WithToken(token))
//	mux.Handle("/device", h)
//
// # Protocol, version 1
//
// PROTOCOL.md next to this file has the same text with examples.
//
// Text messages are JSON objects with a "type"; binary messages are audio.
//
// 1. The device opens the WebSocket and sends a hello:
//
//	{"type":"hello","version":1,"token":"secret","language":"en","device":"kitchen",
//	 "audio":{"encoding":"pcm16","sample_rate":16000}}
//
// "encoding" is "pcm16" (signed 16-bit little-endian mono at 16000 Hz) or
// "opus" (one Opus packet per message, mono, 16000 or 48000 Hz). Until a
// valid hello arrives, every other message is answered with an error
// (hello_required, bad_json, unsupported_version, bad_audio_format) and the
// server keeps waiting, up to 10 s. A refused token gets an "unauthorized"
// error and a close frame with code 1008 and the reason.
//
// 2. The server answers with its hello, stating the audio it will send (the
// device's encoding and rate, 20 ms per message) and its limits:
//
//	{"type":"hello","version":1,"session":"5f0c…","audio":{"encoding":"pcm16",
//	 "sample_rate":16000,"channels":1,"frame_ms":20},
//	 "limits":{"max_message_bytes":1048576,"max_messages_per_second":200,"burst":250}}
//
// 3. Then, both ways at once: the device streams microphone audio as binary
// messages of any length (20 ms is typical) and the server streams the
// agent's voice as binary messages of 20 ms, paced in real time. The device
// may send these JSON messages:
//
//	{"type":"text","text":"what time is it"}            a typed user turn
//	{"type":"image","mime_type":"image/jpeg","data":"<base64>"}  joins the next user turn
//	{"type":"stop"}                                      stop the current reply
//	{"type":"played","name":"g1-c0#1"}                   the speaker played up to that mark
//	{"type":"bye"}                                       end the session
//
// The server sends the session's events (see transport.Event), each a JSON
// object whose "type" is the event type: state, user_partial, user_final,
// agent_text, agent_done, interruption (with the text the user heard),
// resumed, turn_metrics, tool_call, handoff and error; plus
//
//	{"type":"clear"}
//
// the instant the user talks over the agent: the device must drop all agent
// audio it has buffered and not yet played. Every binary message after a
// clear belongs to a new reply.
//
// A device whose hello says "marks": true also receives
// {"type":"mark","name":"..."} after each spoken sentence, in order with the
// audio, and answers with a played message once its speaker has played up to
// the mark; Conn then implements transport.Marker for real, so the history
// keeps exactly what the user heard. Marks dropped by a clear are never
// answered.
//
// When the server shuts down, each device receives
// {"type":"goodbye","text":"..."} and a close frame with code 1001.
//
// # Errors and limits
//
// A message the server refuses is never dropped silently: the server
// answers {"type":"error","code":"...","text":"reason"} and goes on. Codes:
// bad_json, unknown_type, bad_message, too_large, rate_limited,
// hello_required, unexpected_hello, unsupported_version, bad_audio_format,
// bad_audio, overrun, unauthorized, session_failed, too_many_errors. A
// message over the size limit is discarded (one over four times the limit
// closes the connection with code 1009 and the reason); messages beyond the
// rate limit are discarded; a device whose refused messages exceed the
// error budget is disconnected with code 1008 and nothing more it sends is
// read.
//
// Audio a device sends faster than its session consumes it (2 s of it
// queued) is dropped oldest first, the policy of every Hark transport; the
// device hears about it in an "overrun" error at most once a second.
//
// Nothing a device does can stall its session: every Conn method the
// session calls only queues. A device that stops reading is disconnected
// once a write to it has been blocked for 2 s or its queue holds
// 256 KiB (WithSendQueue), or once it leaves a ping unanswered until the
// next (pings every 15 s); the kernel's send buffer for it is capped at
// 64 KiB, so little can hide there. A device that sends nothing for two
// ping intervals is dropped too.
package device
