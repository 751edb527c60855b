//go:build cgo

package opus

import (
	"errors"
	"fmt"

	"github.com/harkvoice/hark/codecs/pcm"
	libopus "github.com/hraban/opus"
)

// maxPacketBytes bounds one encoded packet (libopus's recommendation).
const maxPacketBytes = 4000

// wrap maps a libopus error to this package's sentinels.
func wrap(op string, err error) error {
	var code libopus.Error
	if errors.As(err, &code) && (code == libopus.ErrInvalidPacket || code == libopus.ErrBufferTooSmall) {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, op, err)
	}
	return fmt.Errorf("opus: %s: %w", op, err)
}

// Encoder encodes PCM frames into Opus packets. It is not safe for
// concurrent use.
type Encoder struct {
	enc    *libopus.Encoder
	format pcm.Format
	// frameSizes are the valid input lengths (interleaved samples).
	frameSizes [6]int
	buf        [maxPacketBytes]byte
}

// NewEncoder returns an encoder for rate Hz (one of Rates) and 1 or 2
// channels, in VoIP mode at DefaultComplexity unless options say otherwise.
func NewEncoder(rate, channels int, opts ...EncoderOption) (*Encoder, error) {
	format, err := checkFormat(rate, channels)
	if err != nil {
		return nil, err
	}
	cfg := encoderConfig{app: AppVoIP, complexity: DefaultComplexity}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	app := map[Application]libopus.Application{
		AppVoIP:     libopus.AppVoIP,
		AppAudio:    libopus.AppAudio,
		AppLowDelay: libopus.AppRestrictedLowdelay,
	}[cfg.app]
	enc, err := libopus.NewEncoder(rate, channels, app)
	if err != nil {
		return nil, fmt.Errorf("opus: new encoder: %w", err)
	}
	settings := []struct {
		name string
		set  func() error
		on   bool
	}{
		{"complexity", func() error { return enc.SetComplexity(cfg.complexity) }, true},
		{"bitrate", func() error { return enc.SetBitrate(cfg.bitrate) }, cfg.bitrate > 0},
		{"in-band FEC", func() error { return enc.SetInBandFEC(true) }, cfg.fec},
		{"packet loss", func() error { return enc.SetPacketLossPerc(cfg.lossPerc) }, cfg.fec},
		{"DTX", func() error { return enc.SetDTX(true) }, cfg.dtx},
	}
	for _, s := range settings {
		if !s.on {
			continue
		}
		if err := s.set(); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, s.name, err)
		}
	}
	e := &Encoder{enc: enc, format: format}
	for i, tenths := range []int{25, 50, 100, 200, 400, 600} {
		e.frameSizes[i] = rate * tenths / 10000 * channels
	}
	return e, nil
}

// Format returns the PCM format the encoder takes.
func (e *Encoder) Format() pcm.Format { return e.format }

// String describes the stage, e.g. "opus(encode 48000Hz/1ch)".
func (e *Encoder) String() string { return "opus(encode " + e.format.String() + ")" }

// Encode encodes one frame of interleaved samples (2.5, 5, 10, 20, 40 or
// 60 ms; Hark uses 20) and appends the packet to dst, returning the
// extended slice. With a dst of sufficient capacity it does not allocate.
func (e *Encoder) Encode(samples []int16, dst []byte) ([]byte, error) {
	ok := false
	for _, n := range e.frameSizes {
		ok = ok || len(samples) == n
	}
	if !ok {
		return dst, fmt.Errorf("%w: %d samples at %v, want %d (20 ms) or another of %v",
			ErrFrameSize, len(samples), e.format, e.frameSizes[3], e.frameSizes)
	}
	n, err := e.enc.Encode(samples, e.buf[:])
	if err != nil {
		return dst, fmt.Errorf("opus: encode: %w", err)
	}
	return append(dst, e.buf[:n]...), nil
}

// Reset returns the encoder to its state when new, keeping its settings:
// the next packet owes nothing to the audio encoded before. It costs far
// less than a new encoder and allocates nothing.
func (e *Encoder) Reset() error {
	if err := e.enc.Reset(); err != nil {
		return wrap("reset", err)
	}
	return nil
}

// Decoder decodes Opus packets into PCM. It is not safe for concurrent use.
type Decoder struct {
	dec    *libopus.Decoder
	format pcm.Format
	// last is the per-channel sample count of the last decoded or concealed
	// packet: the length Conceal and DecodeFEC produce.
	last int
}

// NewDecoder returns a decoder producing rate Hz (one of Rates) with 1 or 2
// channels; it decodes packets encoded at any rate or channel count.
func NewDecoder(rate, channels int) (*Decoder, error) {
	format, err := checkFormat(rate, channels)
	if err != nil {
		return nil, err
	}
	dec, err := libopus.NewDecoder(rate, channels)
	if err != nil {
		return nil, fmt.Errorf("opus: new decoder: %w", err)
	}
	return &Decoder{dec: dec, format: format, last: format.SamplesPerChannel(FrameDuration)}, nil
}

// Format returns the PCM format the decoder produces.
func (d *Decoder) Format() pcm.Format { return d.format }

// String describes the stage, e.g. "opus(decode 48000Hz/1ch)".
func (d *Decoder) String() string { return "opus(decode " + d.format.String() + ")" }

// window returns dst with room for n more samples and the slice of exactly
// that room (its capacity equals its length: libopus writes up to cap).
func window(dst []int16, n int) (grown, room []int16) {
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, make([]int16, n)...)[:l]
	}
	return dst, dst[l : l+n : l+n]
}

// Decode decodes one packet and appends its samples (interleaved) to dst,
// returning the extended slice. An empty packet returns ErrEmpty, an invalid
// one ErrCorrupt; dst is returned unchanged on error. With a dst of
// sufficient capacity (120 ms) it does not allocate.
func (d *Decoder) Decode(packet []byte, dst []int16) ([]int16, error) {
	if len(packet) == 0 {
		return dst, ErrEmpty
	}
	if _, err := PacketDuration(packet); err != nil {
		return dst, err
	}
	grown, room := window(dst, d.format.Samples(maxPacketDuration))
	n, err := d.dec.Decode(packet, room)
	if err != nil {
		return dst, wrap("decode", err)
	}
	d.last = n
	return grown[:len(dst)+n*d.format.Channels], nil
}

// Conceal appends audio that stands in for one lost packet (libopus packet
// loss concealment), as long as the last packet decoded (20 ms before the
// first). Call it once per missing packet, in order.
func (d *Decoder) Conceal(dst []int16) ([]int16, error) {
	n := d.last * d.format.Channels
	grown, room := window(dst, n)
	if err := d.dec.DecodePLC(room); err != nil {
		return dst, wrap("conceal", err)
	}
	return grown[:len(dst)+n], nil
}

// DecodeFEC rebuilds the packet lost just before packet from the in-band
// FEC data packet carries (see WithFEC) and appends it to dst; where packet
// has no FEC data it conceals instead. The rebuilt audio is as long as the
// last packet decoded. Afterwards, decode packet itself with Decode.
func (d *Decoder) DecodeFEC(packet []byte, dst []int16) ([]int16, error) {
	if len(packet) == 0 {
		return dst, ErrEmpty
	}
	if _, err := PacketDuration(packet); err != nil {
		return dst, err
	}
	n := d.last * d.format.Channels
	grown, room := window(dst, n)
	if err := d.dec.DecodeFEC(packet, room); err != nil {
		return dst, wrap("decode FEC", err)
	}
	return grown[:len(dst)+n], nil
}
