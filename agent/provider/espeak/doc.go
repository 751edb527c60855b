// Package espeak speaks about a hundred languages offline with eSpeak NG
// (the Debian packages espeak-ng and libespeak-ng-dev), through cgo.
//
// A Synthesizer implements pipeline.TTS at 22.05 kHz mono. The voice is
// chosen from the request's BCP-47 language tag ("de", "pt-BR", "zh-CN")
// unless the request names an eSpeak voice; audio streams out in 100 ms
// pieces while synthesis goes on, and cancelling the context stops it. eSpeak
// NG is intelligible but robotic; for English, package flite sounds better
// (and speech recognisers understand it better).
//
// Without cgo the package builds, but New returns ErrUnavailable.
package espeak
