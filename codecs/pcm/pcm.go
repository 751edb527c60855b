package pcm

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Common formats.
var (
	Mono8k  = Format{Rate: 8000, Channels: 1}
	Mono16k = Format{Rate: 16000, Channels: 1}
	Mono24k = Format{Rate: 24000, Channels: 1}
	Mono48k = Format{Rate: 48000, Channels: 1}
)

// ErrFormat reports an unusable or mismatched sample format.
var ErrFormat = errors.New("pcm: bad format")

// Format describes interleaved signed 16-bit PCM.
type Format struct {
	Rate     int // samples per second per channel
	Channels int // 1 (mono) or 2 (stereo)
}

// String prints the format as "16000Hz/1ch".
func (f Format) String() string { return fmt.Sprintf("%dHz/%dch", f.Rate, f.Channels) }

// Validate returns an error wrapping ErrFormat if f cannot describe audio.
func (f Format) Validate() error {
	if f.Rate <= 0 || f.Rate > 384000 || f.Channels < 1 || f.Channels > 2 {
		return fmt.Errorf("%w: %d Hz, %d channels", ErrFormat, f.Rate, f.Channels)
	}
	return nil
}

// SamplesPerChannel returns how many samples per channel span d.
func (f Format) SamplesPerChannel(d time.Duration) int {
	return int(int64(f.Rate) * int64(d) / int64(time.Second))
}

// Samples returns the interleaved sample count that spans d.
func (f Format) Samples(d time.Duration) int { return f.SamplesPerChannel(d) * f.Channels }

// Duration returns how long n interleaved samples last.
func (f Format) Duration(n int) time.Duration {
	if f.Rate <= 0 || f.Channels <= 0 {
		return 0
	}
	return time.Duration(int64(n/f.Channels) * int64(time.Second) / int64(f.Rate))
}

// Frame is a block of interleaved samples in a known format.
type Frame struct {
	Samples   []int16
	Format    Format
	Timestamp time.Duration // position of the first sample from the stream start
}

// Duration returns how long the frame lasts.
func (fr Frame) Duration() time.Duration { return fr.Format.Duration(len(fr.Samples)) }

// ToFloat32 converts samples to floats in [-1, 1), appending to dst.
func ToFloat32(dst []float32, src []int16) []float32 {
	for _, s := range src {
		dst = append(dst, float32(s)/32768)
	}
	return dst
}

// FromFloat32 converts floats to samples with clipping, appending to dst;
// NaN becomes 0.
func FromFloat32(dst []int16, src []float32) []int16 {
	for _, v := range src {
		x := v * 32768
		switch {
		case x != x: // NaN
			dst = append(dst, 0)
		case x >= 32767:
			dst = append(dst, 32767)
		case x <= -32768:
			dst = append(dst, -32768)
		default:
			dst = append(dst, int16(x))
		}
	}
	return dst
}

// ToMono averages interleaved stereo into mono, appending to dst.
func ToMono(dst []int16, stereo []int16) []int16 {
	for i := 0; i+1 < len(stereo); i += 2 {
		dst = append(dst, int16((int32(stereo[i])+int32(stereo[i+1]))/2))
	}
	return dst
}

// ToStereo duplicates each mono sample into both channels, appending to dst.
func ToStereo(dst []int16, mono []int16) []int16 {
	for _, s := range mono {
		dst = append(dst, s, s)
	}
	return dst
}

// Append appends src to dst, doubling dst's capacity when it runs out:
// for a buffer that grows by one frame at a time into seconds of audio
// (a recording, a reply) it allocates about twice the final size, where
// the built-in append, which grows large slices by a quarter, allocates
// about five times.
func Append(dst, src []int16) []int16 {
	if n := len(dst) + len(src); n > cap(dst) {
		dst = slices.Grow(dst, max(n, 2*cap(dst))-len(dst))
	}
	return append(dst, src...)
}

// RMS returns the root-mean-square level of samples in the range [0, 1].
func RMS(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		v := float64(s) / 32768
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// DBFS returns the level of samples in decibels relative to full scale;
// silence gives -inf.
func DBFS(samples []int16) float64 { return 20 * math.Log10(RMS(samples)) }
