package rtserver

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
)

// decodeAudio decodes the base64 audio of input_audio_buffer.append in
// format f to a frame: 24 kHz PCM, or 8 kHz for μ-law and A-law.
func decodeAudio(audio string, f *realtimeapi.AudioFormat) (pcm.Frame, error) {
	b, err := base64.StdEncoding.DecodeString(audio)
	if err != nil {
		return pcm.Frame{}, fmt.Errorf("audio is not base64: %w", err)
	}
	switch f.Type {
	case realtimeapi.FormatPCMU:
		return pcm.Frame{Samples: g711.DecodeUlaw(make([]int16, 0, len(b)), b), Format: formatG711}, nil
	case realtimeapi.FormatPCMA:
		return pcm.Frame{Samples: g711.DecodeAlaw(make([]int16, 0, len(b)), b), Format: formatG711}, nil
	}
	if len(b)%2 != 0 {
		return pcm.Frame{}, fmt.Errorf("audio/pcm needs an even number of bytes, got %d", len(b))
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm.Frame{Samples: s, Format: formatPCM24k}, nil
}

// encoder turns the session's 24 kHz output into the base64 audio of
// response.output_audio.delta in the client's output format.
type encoder struct {
	typ  string
	conv *resample.Converter // to 8 kHz, for G.711
	buf  []int16
	out  []byte
}

// encode returns samples (24 kHz mono) as base64 in format f.
func (e *encoder) encode(samples []int16, f *realtimeapi.AudioFormat) (string, error) {
	if f.Type != e.typ {
		e.typ, e.conv = f.Type, nil
	}
	if f.Type == realtimeapi.FormatPCM {
		return realtimeapi.EncodePCM16(samples), nil
	}
	if e.conv == nil {
		e.conv = resample.NewConverter(formatG711)
	}
	var err error
	if e.buf, err = e.conv.Convert(e.buf[:0], pcm.Frame{Samples: samples, Format: formatPCM24k}); err != nil {
		return "", err
	}
	if f.Type == realtimeapi.FormatPCMU {
		e.out = g711.EncodeUlaw(e.out[:0], e.buf)
	} else {
		e.out = g711.EncodeAlaw(e.out[:0], e.buf)
	}
	return base64.StdEncoding.EncodeToString(e.out), nil
}

// silent reports whether every sample is zero: the playout's filler while
// a reply is paused or waits for speech, which is not sent.
func silent(samples []int16) bool {
	for _, s := range samples {
		if s != 0 {
			return false
		}
	}
	return true
}
