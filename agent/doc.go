// Package agent runs voice conversations: a Session owns one conversation and
// wires a Transport's audio through decode, resampling, voice-activity
// detection, STT, LLM, the sentence chunker, TTS and the paced playout clock
// back to the Transport, with a fast interrupt path that silences playout the
// moment the user talks over the agent.
package agent
