//go:build !cgo

package flite

import (
	"context"
	"iter"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Synthesizer speaks English with Flite. This build has no cgo, so it cannot
// be created.
type Synthesizer struct{}

var _ pipeline.TTS = (*Synthesizer)(nil)

// New returns ErrUnavailable: Flite needs cgo.
func New(opts ...Option) (*Synthesizer, error) {
	if _, err := newConfig(opts); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Format is the format Flite's voices produce.
func (s *Synthesizer) Format() pcm.Format { return pcm.Mono16k }

// Synthesize yields ErrUnavailable.
func (s *Synthesizer) Synthesize(context.Context, pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) { yield(pcm.Frame{}, ErrUnavailable) }
}
