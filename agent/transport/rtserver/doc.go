// Package rtserver serves the OpenAI Realtime API (GA event names) over
// WebSocket on top of Hark sessions, so that an application written for
// OpenAI's Realtime API talks to Hark by changing its URL. (The name keeps
// it apart from agent/provider/realtime, a client of the same protocol;
// both use the event types of package agent/realtimeapi.)
//
//	h, _ := rtserver.NewHandler(func(r *http.Request, c *rtserver.Conn) (rtserver.Session, error) {
//		return agent.New(c, agent.WithSTT(stt), agent.WithLLM(c.LLM(llm)), agent.WithTTS(c.TTS(tts)))
//	}, rtserver.WithAPIKeys(key))
//	mux.Handle("/v1/realtime", h)
//
// # The session behind a connection
//
// Each connection is a Hark session: its VAD, end-of-turn detection, echo
// guard and barge-in policy decide the turns, and the connection reports
// them as the protocol's events. Confirmed speech opens a user item
// (input_audio_buffer.speech_started); the end of the turn commits it
// (speech_stopped, committed, the transcript's delta and completed). A
// reply is one response: response.created when the session asks the LLM,
// the audio as response.output_audio.delta in real time as it plays, the
// transcript a chunk at a time as each starts playing, response.done with
// usage (estimated: Hark's engines do not count tokens) when it has played.
//
// Talking over a reply pauses it at once (no more audio is sent); the
// session then cancels it (stop words, enough words, long speech) or
// resumes it (backchannels, noise). Only a cancellation is reported:
// speech_started, then the response ends as cancelled (reason
// turn_detected) with the transcript cut to the words heard. With
// interrupt_response false the response stays open until the client's
// response.cancel (reason client_cancelled), as clients that cancel
// themselves expect. conversation.item.truncate cuts an item's transcript
// to the audio the client played, and response.cancel cancels the reply.
//
// The client's conversation is the one of record: every LLM request is
// rebuilt from its items (instructions, messages, transcripts as cut,
// function calls and their outputs) and its tools join the session's own.
// A call of one of the client's tools is sent to the client as a
// function_call item and ends the reply; the client answers with
// function_call_output and response.create, as with OpenAI. Calls of the
// session's own tools (agent.WithTools) run in the session.
//
// Turn detection null turns the session's listening off: appended audio is
// buffered, input_audio_buffer.commit hands it to the session to
// transcribe, and only response.create makes a reply (a commit in which the
// session hears no speech reports its transcription failed after 20 s).
// create_response false
// keeps the transcripts and leaves the replies to response.create.
// Audio goes both ways as 24 kHz PCM, μ-law or A-law (8 kHz).
//
// Clients send their microphone's audio continuously, silence included:
// the end of a turn is measured on the audio, as with OpenAI.
//
// # Limits
//
// Keys (WithAPIKeys) come as "Authorization: Bearer KEY" or as the
// subprotocol "openai-insecure-api-key.KEY" of browsers. Client events
// over WithMaxMessageBytes or over WithRateLimit are answered with an
// error event and dropped; so are malformed events, unknown types and
// commands out of order (each named by its event_id). A client refusing to
// read is disconnected (WithSendQueue).
package rtserver
