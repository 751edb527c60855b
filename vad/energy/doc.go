// Package energy is a pure-Go voice activity model that compares each
// window's level with a tracked noise floor. It needs no model file and
// almost no CPU, so it suits tiny devices and fast tests; Silero (package
// vad/silero) is far better at telling speech from noise.
//
// The noise floor is the lowest window level of the last few seconds, so it
// drops to quieter noise at once, learns louder steady noise within that
// span, and is not lifted by a sentence of speech (which has pauses). A
// window's probability is a logistic function of its level above the floor,
// and windows below an absolute minimum level always read as silence.
package energy
