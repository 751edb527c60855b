// Package flite speaks English offline with CMU Flite (the Debian packages
// flite and flite1-dev), through cgo.
//
// A Synthesizer implements pipeline.TTS with the voices built into Debian's
// flite: slt (the default, female US English), rms, awb and kal16, all at
// 16 kHz mono. Text is split into sentences and each sentence is synthesised
// with Flite's audio streaming callback, so audio flows to the caller while
// the rest is still being made, and cancelling the context stops synthesis at
// the next callback.
//
// Flite's voices (all but kal16) mix random noise into unvoiced sounds, so the
// same text gives the same number of samples but not the same samples from one
// run to the next.
//
// Without cgo the package builds, but New returns ErrUnavailable.
package flite
