//go:build !cgo

package espeak

import (
	"context"
	"iter"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Synthesizer speaks with eSpeak NG. This build has no cgo, so it cannot be
// created.
type Synthesizer struct{}

var _ pipeline.TTS = (*Synthesizer)(nil)

// New returns ErrUnavailable: eSpeak NG needs cgo.
func New(opts ...Option) (*Synthesizer, error) {
	if _, err := newConfig(opts); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Voices returns nothing.
func (s *Synthesizer) Voices() []Voice { return nil }

// Format is the format eSpeak NG produces.
func (s *Synthesizer) Format() pcm.Format { return pcm.Format{Rate: 22050, Channels: 1} }

// VoiceFor returns ErrUnavailable.
func (s *Synthesizer) VoiceFor(string) (string, error) { return "", ErrUnavailable }

// Synthesize yields ErrUnavailable.
func (s *Synthesizer) Synthesize(context.Context, pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) { yield(pcm.Frame{}, ErrUnavailable) }
}
