// Package prosody measures how an utterance is spoken: the voice's pitch,
// its level and how long it is active, for comparing one speaker's turns
// with each other (a raised, louder voice against the same speaker's
// calm one). It is cheap enough to run on every turn of a conversation.
//
// Analyze brings the audio to 8 kHz (any rate that is a multiple of
// 8 kHz), cuts it into 32 ms frames every 20 ms, and keeps the frames whose
// level is within 35 dB of the loudest and above -60 dBFS (active). In each
// active frame the fundamental frequency is estimated with the YIN method
// (the cumulative-mean-normalised difference function, its first dip below
// 0.2, refined by parabolic interpolation) between 60 and 400 Hz; a frame
// where no dip is found is unvoiced. Pitch is the median over the voiced
// frames, Level the mean level of the active frames in dBFS.
//
// Judge listens to a stretch of voice as it streams and tells non-lexical
// sounds (laughter, humming, a sigh) from sound that may be words, in any
// language, from the same YIN analysis and six band energies above 300 Hz.
package prosody
