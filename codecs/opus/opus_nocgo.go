//go:build !cgo

package opus

import "github.com/harkvoice/hark/codecs/pcm"

// Encoder encodes PCM frames into Opus packets. Without cgo it cannot be
// created: NewEncoder returns ErrUnavailable.
type Encoder struct{ format pcm.Format }

// NewEncoder returns ErrUnavailable in builds without cgo.
func NewEncoder(rate, channels int, opts ...EncoderOption) (*Encoder, error) {
	if _, err := checkFormat(rate, channels); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Format returns the PCM format the encoder takes.
func (e *Encoder) Format() pcm.Format { return e.format }

// String describes the stage, e.g. "opus(encode 48000Hz/1ch)".
func (e *Encoder) String() string { return "opus(encode " + e.format.String() + ")" }

// Encode returns ErrUnavailable in builds without cgo.
func (e *Encoder) Encode(samples []int16, dst []byte) ([]byte, error) { return dst, ErrUnavailable }

// Reset returns ErrUnavailable.
func (e *Encoder) Reset() error { return ErrUnavailable }

// Decoder decodes Opus packets into PCM. Without cgo it cannot be created:
// NewDecoder returns ErrUnavailable.
type Decoder struct{ format pcm.Format }

// NewDecoder returns ErrUnavailable in builds without cgo.
func NewDecoder(rate, channels int) (*Decoder, error) {
	if _, err := checkFormat(rate, channels); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Format returns the PCM format the decoder produces.
func (d *Decoder) Format() pcm.Format { return d.format }

// String describes the stage, e.g. "opus(decode 48000Hz/1ch)".
func (d *Decoder) String() string { return "opus(decode " + d.format.String() + ")" }

// Decode returns ErrUnavailable in builds without cgo.
func (d *Decoder) Decode(packet []byte, dst []int16) ([]int16, error) { return dst, ErrUnavailable }

// Conceal returns ErrUnavailable in builds without cgo.
func (d *Decoder) Conceal(dst []int16) ([]int16, error) { return dst, ErrUnavailable }

// DecodeFEC returns ErrUnavailable in builds without cgo.
func (d *Decoder) DecodeFEC(packet []byte, dst []int16) ([]int16, error) { return dst, ErrUnavailable }
