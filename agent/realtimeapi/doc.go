// Package realtimeapi holds the event types of OpenAI's Realtime protocol
// (the GA names), shared by a client of the protocol (the streaming
// recogniser in agent/provider/realtime) and a server speaking it.
//
// Every event is a struct whose EventType method gives its wire name; the
// "type" field is written by Marshal and read by DecodeClient and
// DecodeServer, which return a pointer to the typed struct (for example
// *InputAudioTranscriptionDelta for "conversation.item.input_audio_transcription.delta").
// An unknown type is a *DecodeError matching ErrUnknownEvent; malformed JSON
// matches ErrMalformed.
//
// The session shape is the GA one, session.update {session: {type:
// "realtime" | "transcription", audio: {input: {format, transcription,
// turn_detection}, output: {...}}}}. For servers that speak only the older
// beta shape (speaches, older clients), Session also carries the beta
// fields (input_audio_transcription, input_audio_format, top-level
// turn_detection, ...), and the decoders accept the beta names of the
// response events (response.audio.delta, response.audio_transcript.delta,
// response.text.delta and their .done events) as their GA types.
//
// The package depends on encoding/json only.
package realtimeapi
