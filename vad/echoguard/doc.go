// Package echoguard tells a voice agent's own voice, coming back through a
// speakerphone or a smart speaker's microphone, from the user's.
//
// A Guard receives the audio the agent plays (Reference, typically as a
// playout tap) and scores each microphone window (Score): the normalised
// cross-correlation, at 4 kHz in the 450–1,800 Hz band, between the window
// and the reference over a range of echo delays (600 ms by default). A
// delay is acquired when two windows running agree on it, then tracked
// within 2 ms; the microphone being louder than the echo of the reference
// around that delay can be (in the band or in the full band) is double talk
// and scores 0. Wrap puts a Guard in front of a vad.Model so that windows
// scoring above the threshold do not count as speech.
//
// Both streams are brought to 4 kHz by codecs/resample, so any rate it
// supports works on either side; a fourth-order Butterworth high-pass at
// 450 Hz then drops the voice's fundamental, which echo paths (phone bands,
// small speakers) cut unevenly.
//
// The guard does not remove echo from the microphone signal; it only keeps
// echo from counting as the user barging in.
package echoguard
