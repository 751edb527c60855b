// Package robustness holds Hark's robustness tests; it has no API.
//
// The tests run real agent.Session values behind the device WebSocket
// handler (agent/transport/device) and the Twilio Media Streams handler
// (agent/transport/twilio) on 127.0.0.1, with cheap scripted providers, and
// check what a production server must survive:
//
//   - Load: 100 concurrent device sessions for 20 s (pcm16 at 16 kHz, every
//     25th device Opus), each speaking flite utterances separated by
//     silence in real time. Every utterance must get exactly one user_final,
//     agent audio and one agent_done; every microphone sample must reach
//     its session, and every audio frame and event a session handed its
//     transport must reach the device; no device may see an error message
//     (overrun, rate limit). Voice activity is detected by vad/energy:
//     Silero costs about 100 µs per 32 ms window without the race detector
//     and several times that with it, which on a 2-core machine with 100
//     sessions would test the CPU rather than Hark. To keep the devices'
//     own cost small, their audio is encoded once and sent in 400 ms
//     messages (Opus as 40 ms packets). Skipped with -short.
//   - Provider faults in the middle of a turn, through agent/provider/openai
//     against its in-process fake server (openaitest): a chat stream that
//     times out before its first byte, answers 5xx, or breaks off mid-stream;
//     a speech stream that answers 5xx or breaks off; a transcription that
//     answers 5xx. The session must speak its fallback line and answer the
//     next turn normally.
//   - Disconnects at every stage of a turn (during user speech, after the end
//     of turn before the transcript, during the LLM stream, during TTS,
//     mid-playout, during a tool call, during a paused barge-in), over the
//     device WebSocket and over Twilio, by cutting the TCP connection, by a
//     bare close frame or by the protocol's goodbye (device bye, Twilio
//     stop), and during the handshake: Run must return nil, a running tool
//     call must be cancelled, every handler must return, the handler must
//     serve the next client a whole turn, and nothing may be left behind.
//     TestHangUpMidReply pins down the common case deterministically: a
//     client that hangs up while the agent speaks ends the call normally.
//
// Every test ends with go.uber.org/goleak's VerifyNone once everything is
// closed. The fuzz targets of the two wire protocols live next to their
// parsers: FuzzDeviceMessage in agent/transport/device and
// FuzzTwilioMessage in agent/transport/twilio.
package robustness
