// Package twilio connects phone calls to Hark sessions through Twilio Media
// Streams.
//
// Two handlers do it. The TwiML handler (NewTwiMLHandler) is the phone
// number's voice webhook: it answers an incoming call with
//
//	<Response><Connect><Stream url="wss://voice.example.com/twilio/stream"/></Connect></Response>
//
// and Twilio then opens a bidirectional Media Stream to the stream handler
// (NewHandler), which runs one session per call:
//
//	auth, _ := twilio.NewStreamAuth(secret, 30*time.Second)
//	twiml, _ := twilio.NewTwiMLHandler(twilio.WithStreamURL("wss://voice.example.com/twilio/stream"),
//		twilio.WithStreamCredentials(auth), twilio.WithSignatureValidation(authToken, "https://voice.example.com/twilio/voice"))
//	stream, _ := twilio.NewHandler(func(r *http.Request, c *twilio.Conn) (twilio.Session, error) {
//		return agent.New(c, agent.WithPreset(agent.PresetPhone), ...)
//	}, twilio.WithStreamAuth(auth))
//	mux.Handle("/twilio/voice", twiml)
//	mux.Handle("/twilio/stream", stream)
//
// The stream carries μ-law audio at 8 kHz both ways; a *Conn decodes it to
// 8 kHz PCM for the session and encodes the agent's 8 kHz audio back (the
// session resamples). Twilio's messages: connected, start (streamSid,
// callSid, customParameters, mediaFormat), media, dtmf, mark and stop; the
// server's: media, mark and clear.
//
// Barge-in and what the caller heard: Twilio buffers the audio it is sent,
// so Conn.Flush sends "clear", which empties that buffer, and drops audio
// not yet sent. Conn implements agent.Marker: the session marks the end of
// each spoken chunk, Twilio echoes a mark once the caller has heard the
// audio before it, and the session keeps in its history only the text the
// caller heard. Twilio also echoes the marks a clear discarded; Conn forgets
// those at Flush, so they never count as heard.
//
// Nothing a stream does can stall its session: every Conn method the
// session calls only queues, and a stream that stops reading is
// disconnected once a write to it has been blocked for 2 s while more
// waits, or its queue holds 256 KiB (WithSendQueue). Caller audio the session does not
// consume in time (2 s of it queued) is dropped oldest first, the policy of
// every Hark transport, and logged at most once a second. A stream that
// sends more malformed messages than WithMaxErrors allows is closed with
// code 1008; one ended by a server shutdown with 1001.
//
// Authentication: the webhook checks Twilio's X-Twilio-Signature
// (WithSignatureValidation); each call's TwiML carries a credential for that
// call's stream only, signed, short-lived and good for one stream
// (StreamAuth: WithStreamCredentials on the TwiML handler, WithStreamAuth on
// the stream handler). No shared secret ever appears in TwiML, and the
// stream URL comes from configuration (WithStreamURL), never from the
// request's Host header.
package twilio
