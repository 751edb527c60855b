package resample

import (
	"fmt"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Converter converts frames of any supported format to one target format:
// it mixes stereo down to mono (or duplicates mono to stereo) and resamples.
// It keeps stream state between calls and starts afresh whenever the input
// format changes. A Converter is not safe for concurrent use.
type Converter struct {
	to   pcm.Format
	from pcm.Format // format of the previous input; zero before the first
	rs   [2]*Resampler
	nrs  int // resamplers in use: 2 for stereo to stereo, else 1
	// Scratch buffers reused across calls.
	mono, left, right, outL, outR []int16
}

// NewConverter returns a converter to the format to. An invalid or
// unsupported target format is reported by the first Convert.
func NewConverter(to pcm.Format) *Converter { return &Converter{to: to} }

// String describes the conversion, e.g. "convert(48000Hz/2ch -> 16000Hz/1ch)";
// the input side reads "?" before the first frame.
func (c *Converter) String() string {
	from := "?"
	if c.nrs > 0 {
		from = c.from.String()
	}
	return fmt.Sprintf("convert(%s -> %s)", from, c.to)
}

// Delay returns the delay the conversion adds (zero before the first frame
// and when no resampling is needed).
func (c *Converter) Delay() time.Duration {
	if c.nrs == 0 {
		return 0
	}
	return c.rs[0].Delay()
}

// Reset forgets the stream history.
func (c *Converter) Reset() {
	for _, r := range c.rs[:c.nrs] {
		r.Reset()
	}
}

// prepare checks fr against the target format and (re)creates the
// resamplers when the input format differs from the previous frame's.
func (c *Converter) prepare(fr pcm.Frame) error {
	if err := c.to.Validate(); err != nil {
		return fmt.Errorf("resample: target: %w", err)
	}
	if err := fr.Format.Validate(); err != nil {
		return fmt.Errorf("resample: input: %w", err)
	}
	if len(fr.Samples)%fr.Format.Channels != 0 {
		return fmt.Errorf("resample: %w: %d samples for %d channels", pcm.ErrFormat, len(fr.Samples), fr.Format.Channels)
	}
	if c.nrs > 0 && fr.Format == c.from {
		return nil
	}
	n := 1
	if fr.Format.Channels == 2 && c.to.Channels == 2 {
		n = 2
	}
	var rs [2]*Resampler
	for i := range n {
		r, err := New(fr.Format.Rate, c.to.Rate)
		if err != nil {
			return err
		}
		rs[i] = r
	}
	c.rs, c.nrs, c.from = rs, n, fr.Format
	return nil
}

// Convert converts fr to the target format and appends the samples to dst,
// returning the extended slice. An invalid format (or a sample count that is
// not a multiple of the channel count) returns an error wrapping
// pcm.ErrFormat; a rate outside Rates returns one wrapping
// ErrUnsupportedRate. With a reused dst, steady-state calls do not allocate.
func (c *Converter) Convert(dst []int16, fr pcm.Frame) ([]int16, error) {
	if err := c.prepare(fr); err != nil {
		return dst, err
	}
	return c.run(dst, fr.Samples), nil
}

func (c *Converter) run(dst, src []int16) []int16 {
	from, to := c.from.Channels, c.to.Channels
	switch {
	case from == 1 && to == 1:
		return c.rs[0].Process(dst, src)
	case from == 2 && to == 1:
		c.mono = pcm.ToMono(c.mono[:0], src)
		return c.rs[0].Process(dst, c.mono)
	case from == 1 && to == 2:
		c.mono = c.rs[0].Process(c.mono[:0], src)
		return pcm.ToStereo(dst, c.mono)
	default:
		c.left, c.right = c.left[:0], c.right[:0]
		for i := 0; i+1 < len(src); i += 2 {
			c.left = append(c.left, src[i])
			c.right = append(c.right, src[i+1])
		}
		c.outL = c.rs[0].Process(c.outL[:0], c.left)
		c.outR = c.rs[1].Process(c.outR[:0], c.right)
		for i := range c.outL {
			dst = append(dst, c.outL[i], c.outR[i])
		}
		return dst
	}
}

// flush appends the output held back by the filter delay and resets.
func (c *Converter) flush(dst []int16) []int16 {
	if c.nrs == 0 || c.rs[0].f == nil {
		return dst
	}
	zeros := make([]int16, c.rs[0].f.taps*c.from.Channels)
	dst = c.run(dst, zeros)
	c.Reset()
	return dst
}
