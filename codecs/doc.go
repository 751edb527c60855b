// Package codecs groups Hark's audio codecs and sample-format helpers.
//
// Each sub-package states the format it reads and writes:
//
//	pcm       Format, Frame and conversions (pure Go)
//	resample  streaming polyphase resampler (pure Go)
//	g711      μ-law and A-law (pure Go)
//	opus      Opus encoder and decoder (cgo, libopus)
//	wav       16-bit PCM WAV files (pure Go)
package codecs
