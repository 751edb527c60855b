// Package realtime is a streaming speech recogniser over OpenAI's Realtime
// API in transcription mode: one WebSocket per utterance to
// wss://HOST/v1/realtime?intent=transcription, configured with
// session.update {type: "transcription", audio: {input: {format,
// transcription: {model, language, prompt}, turn_detection: null}}}.
//
// Hark's own VAD decides where speech ends, so the server's turn detection
// is off: a Recognizer's stream appends audio as it arrives (resampled once
// to 24 kHz PCM, or to 8 kHz G.711 with WithFormat), commits it when the
// stream's Commit is called or when it is closed, shows the transcript
// deltas that stream back as the partial result, and returns the completed
// transcripts as the final one. StartStream returns at once; the
// connection is made while the user speaks, the audio queuing meanwhile.
//
// A connection that drops before the final transcript is made again (see
// WithRetries) and the audio not yet transcribed is sent again; when that
// fails too, Close returns ErrConnectionLost, never hangs (WithTimeout
// bounds the wait for a transcript). Error events come back as
// *realtimeapi.APIError wrapped with ErrServer, a refused connection as
// *HandshakeError. Cancelling the stream's context closes the connection at
// once.
//
// Other servers: LocalAI speaks the GA shape with the model in the URL
// (WithURLModel); speaches speaks the older beta shape and sends no deltas
// (WithBeta).
package realtime
