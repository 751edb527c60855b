// Package openai provides speech recognition, chat and speech synthesis over
// the OpenAI HTTP API, or any server compatible with it (llama.cpp's
// llama-server, vLLM, Ollama, Groq, ...): point WithBaseURL at it.
//
// A Client implements pipeline.STT (Whisper-style /audio/transcriptions
// with the audio sent as an in-memory WAV), pipeline.LLM (streamed
// /chat/completions with tool calls and image parts) and pipeline.TTS
// (/audio/speech with response_format "pcm", streamed in 20 ms frames as
// the bytes arrive).
//
// Failures come back typed: *APIError for an error answer from the server,
// ErrTimeout when the server is too slow, ErrStreamBroken when a stream
// ends before it is complete, ErrConnect when no connection could be made.
// Requests are retried only when the connection could not be made, never
// once bytes were sent. Cancelling the context stops a request promptly.
package openai
