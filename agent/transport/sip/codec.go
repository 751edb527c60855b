package sip

import (
	"fmt"
	"strings"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

// Codec is an audio codec a call can use.
type Codec struct {
	name     string // as in rtpmap
	clock    int    // RTP clock rate
	channels int    // as in rtpmap
	fmtp     string // parameters Hark answers with
}

// The codecs Hark speaks. Opus needs a cgo build (libopus); without it the
// server leaves Opus out of its codecs.
var (
	PCMU = Codec{name: "PCMU", clock: 8000, channels: 1}
	PCMA = Codec{name: "PCMA", clock: 8000, channels: 1}
	Opus = Codec{name: "opus", clock: 48000, channels: 2, fmtp: "minptime=20;useinbandfec=1"}
)

// String returns the codec's name, as SDP writes it.
func (c Codec) String() string { return c.name }

// ParseCodec returns the codec named name (case-insensitive: pcmu, pcma,
// opus).
func ParseCodec(name string) (Codec, error) {
	for _, c := range []Codec{PCMU, PCMA, Opus} {
		if strings.EqualFold(name, c.name) {
			return c, nil
		}
	}
	return Codec{}, fmt.Errorf("%w: unknown codec %q (pcmu, pcma, opus)", ErrOption, name)
}

func (c Codec) matches(f rtpFormat) bool {
	if f.name != strings.ToLower(c.name) || f.rate != c.clock {
		return false
	}
	// RFC 7587: Opus is always opus/48000/2, whatever the stream carries.
	return c.channels == f.channels
}

func (c Codec) rtpmap() string {
	if c.channels > 1 {
		return fmt.Sprintf("%s/%d/%d", c.name, c.clock, c.channels)
	}
	return fmt.Sprintf("%s/%d", c.name, c.clock)
}

// frameTicks is the RTP timestamp advance of one 20 ms packet.
func (c Codec) frameTicks() uint32 { return uint32(c.clock / 50) }

// available reports whether this build can encode and decode c.
func (c Codec) available() bool {
	if c.name != Opus.name {
		return true
	}
	_, err := opus.NewDecoder(16000, 1)
	return err == nil
}

// coder is one call's codec state.
type coder interface {
	// format is the PCM both ways: what ReadAudio returns and WriteAudio
	// takes.
	format() pcm.Format
	// encode appends the payload of one 20 ms frame to dst.
	encode(dst []byte, samples []int16) ([]byte, error)
	// decode appends the samples of payload to dst.
	decode(dst []int16, payload []byte) ([]int16, error)
	// conceal appends 20 ms standing in for one lost packet.
	conceal(dst []int16) []int16
}

func (c Codec) newCoder() (coder, error) {
	switch c.name {
	case PCMU.name:
		return &g711Coder{ulaw: true}, nil
	case PCMA.name:
		return &g711Coder{}, nil
	case Opus.name:
		// Opus runs at 16 kHz on Hark's side: the RTP clock stays 48 kHz,
		// and 16 kHz is what the VAD and recognisers want.
		dec, err := opus.NewDecoder(16000, 1)
		if err != nil {
			return nil, err
		}
		enc, err := opus.NewEncoder(16000, 1, opus.WithComplexity(opus.SpeechComplexity))
		if err != nil {
			return nil, err
		}
		return &opusCoder{enc: enc, dec: dec}, nil
	}
	return nil, fmt.Errorf("%w: codec %q", ErrNoCodec, c.name)
}

// g711Coder is μ-law or A-law at 8 kHz. It conceals a lost packet by
// repeating the last one at half level, then with silence.
type g711Coder struct {
	ulaw bool
	last []int16 // the last 20 ms decoded
	lost int     // packets concealed since the last one received
}

func (g *g711Coder) format() pcm.Format { return pcm.Mono8k }

func (g *g711Coder) encode(dst []byte, s []int16) ([]byte, error) {
	if g.ulaw {
		return g711.EncodeUlaw(dst, s), nil
	}
	return g711.EncodeAlaw(dst, s), nil
}

func (g *g711Coder) decode(dst []int16, p []byte) ([]int16, error) {
	n := len(dst)
	if g.ulaw {
		dst = g711.DecodeUlaw(dst, p)
	} else {
		dst = g711.DecodeAlaw(dst, p)
	}
	g.last = append(g.last[:0], dst[n:]...)
	g.lost = 0
	return dst, nil
}

func (g *g711Coder) conceal(dst []int16) []int16 {
	g.lost++
	if g.lost > 1 || len(g.last) != 160 {
		for range 160 {
			dst = append(dst, 0)
		}
		return dst
	}
	for _, s := range g.last {
		dst = append(dst, s/2)
	}
	return dst
}

// opusCoder is Opus at 16 kHz mono on Hark's side.
type opusCoder struct {
	enc *opus.Encoder
	dec *opus.Decoder
}

func (o *opusCoder) format() pcm.Format { return pcm.Mono16k }

func (o *opusCoder) encode(dst []byte, s []int16) ([]byte, error) {
	return o.enc.Encode(s, dst)
}

func (o *opusCoder) decode(dst []int16, p []byte) ([]int16, error) {
	return o.dec.Decode(p, dst)
}

func (o *opusCoder) conceal(dst []int16) []int16 {
	out, err := o.dec.Conceal(dst)
	if err != nil {
		return append(dst, make([]int16, 320)...)
	}
	return out
}
