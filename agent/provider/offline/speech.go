package offline

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/harkvoice/hark/agent/provider/espeak"
	"github.com/harkvoice/hark/agent/provider/flite"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Speech is a pipeline.TTS that routes by language: English (and requests
// naming a Flite voice) to Flite at 16 kHz, everything else to eSpeak NG at
// 22.05 kHz. Frames state their format; the session resamples.
type Speech struct {
	English *flite.Synthesizer  // English, and requests naming a Flite voice
	Other   *espeak.Synthesizer // every other language
}

var _ pipeline.TTS = (*Speech)(nil)

// NewSpeech starts both synthesisers; opts configure Flite.
func NewSpeech(opts ...flite.Option) (*Speech, error) {
	en, err := flite.New(opts...)
	if err != nil {
		return nil, err
	}
	other, err := espeak.New()
	if err != nil {
		return nil, err
	}
	return &Speech{English: en, Other: other}, nil
}

// Synthesize speaks req with the engine its voice or language picks. A
// request naming a Flite voice is spoken by Flite whatever its language.
func (s *Speech) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	if req.Voice != "" {
		if slices.Contains(flite.Voices, req.Voice) {
			req.Language = ""
			return s.English.Synthesize(ctx, req)
		}
		return s.Other.Synthesize(ctx, req)
	}
	l := strings.ToLower(req.Language)
	if l == "" || l == "en" || strings.HasPrefix(l, "en-") || strings.HasPrefix(l, "en_") {
		return s.English.Synthesize(ctx, req)
	}
	return s.Other.Synthesize(ctx, req)
}
