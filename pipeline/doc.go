// Package pipeline holds the pieces of a voice-agent turn that do not depend
// on any transport or provider: the stage interfaces (STT, LLM, TTS) with Func
// adapters, turn generations for interruption, the sentence chunker, and the
// playout clock that knows what the listener actually heard.
//
// Importing pipeline pulls in no cgo, pion or provider SDK.
package pipeline
