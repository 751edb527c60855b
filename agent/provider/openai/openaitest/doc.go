// Package openaitest runs an in-process server that speaks the OpenAI wire
// protocol, for tests and benchmarks of code that uses an OpenAI-compatible
// provider.
//
// The server listens on 127.0.0.1 and answers three endpoints under /v1:
// chat completions (streamed as server-sent events, with text deltas and
// tool-call deltas split into fragments, ending in [DONE]), multipart audio
// transcriptions (json, verbose_json or text), and speech (raw 24 kHz PCM16
// streamed in chunks). Each endpoint takes scripted replies from a queue and
// falls back to a default reply when the queue is empty, so a bare server
// is "an OpenAI-compatible server that answers at once".
//
// A reply can carry a Fault: an HTTP error status, a delay before the first
// byte and between chunks, or a dropped connection in the middle of the
// stream. The server records every request it receives so tests can assert
// on what the client sent.
package openaitest
