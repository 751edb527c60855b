// Package realtimetest runs an in-process server that speaks OpenAI's
// Realtime protocol in transcription mode, for tests and benchmarks of
// code that uses a Realtime recogniser.
//
// The server listens on 127.0.0.1 at URL + "/realtime". It sends
// session.created, answers session.update with session.updated, keeps the
// appended audio (audio/pcm 24 kHz, audio/pcmu or audio/pcma, as the
// session says), and for each input_audio_buffer.commit sends
// input_audio_buffer.committed, then the transcript as deltas and a
// completed event. Replies are scripted in a queue, one per commit, and
// fall back to a default reply when the queue is empty, so a bare server
// is "a Realtime server that transcribes at once".
//
// A reply can be slow (a delay before the first delta and between deltas),
// fail (a transcription.failed event or an error event), or cut the
// connection after some deltas. Connections can be refused with an HTTP
// status. In beta mode the server takes the older session shape, as
// speaches does, and sends no deltas. Every connection, session update and
// commit is recorded so tests can assert on what the client sent.
package realtimetest
