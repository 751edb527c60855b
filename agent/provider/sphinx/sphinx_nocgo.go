//go:build !cgo

package sphinx

import (
	"context"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Recognizer transcribes English utterances with PocketSphinx. This build
// has no cgo, so it cannot be created.
type Recognizer struct{}

var (
	_ pipeline.STT          = (*Recognizer)(nil)
	_ pipeline.StreamingSTT = (*Recognizer)(nil)
)

// New returns ErrUnavailable: PocketSphinx needs cgo.
func New(opts ...Option) (*Recognizer, error) {
	if _, err := newConfig(opts); err != nil {
		return nil, err
	}
	return nil, ErrUnavailable
}

// Transcribe returns ErrUnavailable.
func (r *Recognizer) Transcribe(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
	return pipeline.Transcript{}, ErrUnavailable
}

// StartStream returns ErrUnavailable.
func (r *Recognizer) StartStream(context.Context, pcm.Format, string) (pipeline.STTStream, error) {
	return nil, ErrUnavailable
}

// Close does nothing.
func (r *Recognizer) Close() error { return nil }
