// Package opus encodes and decodes Opus audio (RFC 6716) through libopus,
// for 20 ms frames of 16-bit PCM at 48 or 16 kHz (also 8, 12 and 24 kHz),
// mono or stereo.
//
// The Encoder defaults to the VoIP application at complexity 5 and lets
// callers set complexity, bitrate, in-band forward error correction and DTX
// with EncoderOption values. The Decoder decodes packets, conceals lost ones
// (Conceal, libopus packet loss concealment) and rebuilds a lost packet from
// the in-band FEC data carried by the next one (DecodeFEC).
//
// Bad input never panics: an empty packet returns an error wrapping
// ErrEmpty, a structurally invalid one an error wrapping ErrCorrupt, a frame
// of the wrong length ErrFrameSize, and an unusable format pcm.ErrFormat.
//
// The package needs cgo and libopus (Debian: libopus-dev, libopusfile-dev);
// built without cgo, NewEncoder and NewDecoder return ErrUnavailable.
package opus
