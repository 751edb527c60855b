// Package pcm defines the sample format and frame types that every Hark stage
// exchanges: interleaved signed 16-bit PCM with an explicit rate and channel
// count, plus conversions to and from float32 and between mono and stereo.
package pcm
