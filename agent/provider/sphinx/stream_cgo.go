//go:build cgo

package sphinx

/*
#include <pocketsphinx.h>
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

var _ pipeline.StreamingSTT = (*Recognizer)(nil)

// StartStream starts recognising one utterance as it arrives. It returns at
// once: the stream's own goroutine takes one of the recogniser's decoders
// (waiting while all are busy, the audio queuing meanwhile), decodes what
// Write queues, and gives the decoder back when the stream is closed or ctx
// is done. Write never waits for the decoder; Partial returns the best
// hypothesis of the audio decoded so far; Close waits for the rest and
// returns the final transcript (the same as Transcribe gives for the whole
// audio).
func (r *Recognizer) StartStream(ctx context.Context, format pcm.Format, language string) (pipeline.STTStream, error) {
	if !englishHint(language) {
		return nil, fmt.Errorf("%w: %q (only English models are installed)", ErrLanguage, language)
	}
	if err := format.Validate(); err != nil {
		return nil, err
	}
	s := &stream{format: format, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if format != pcm.Mono16k {
		s.conv = resample.NewConverter(pcm.Mono16k)
	}
	go s.run(ctx, r)
	return s, nil
}

// stream is one utterance being decoded.
type stream struct {
	format pcm.Format
	conv   *resample.Converter // nil for 16 kHz mono input
	wake   chan struct{}
	done   chan struct{} // closed when decoding has ended

	mu      sync.Mutex
	pending []int16
	partial string
	closing bool
	final   pipeline.Transcript
	err     error
}

// Write queues samples in the stream's format for decoding.
func (s *stream) Write(samples []int16) error {
	frame := pcm.Frame{Samples: samples, Format: s.format}
	var conv []int16
	if s.conv != nil {
		var err error
		if conv, err = s.conv.Convert(nil, frame); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return ErrClosed
	case s.err != nil:
		return s.err
	case s.conv != nil:
		s.pending = append(s.pending, conv...)
	default:
		s.pending = append(s.pending, samples...)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Partial returns the best hypothesis of the audio decoded so far.
func (s *stream) Partial() pipeline.Transcript {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.Transcript{Text: s.partial, Language: "en"}
}

// Close decodes what is still queued and returns the final transcript.
// Later calls return the same.
func (s *stream) Close() (pipeline.Transcript, error) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final, s.err
}

// run decodes queued audio until the stream is closed or ctx is done, then
// ends the utterance and gives the decoder back.
func (s *stream) run(ctx context.Context, r *Recognizer) {
	defer close(s.done)
	d, err := r.acquire(ctx)
	if err == nil && C.ps_start_utt(d) < 0 {
		r.release(d)
		err = fmt.Errorf("%w: start", ErrDecode)
	}
	if err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		return
	}
	defer r.release(d)
	fail := func(err error) {
		C.ps_end_utt(d)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	for {
		select {
		case <-ctx.Done():
			fail(context.Cause(ctx))
			return
		case <-s.wake:
		}
		s.mu.Lock()
		audio, closing := s.pending, s.closing
		s.pending = nil
		s.mu.Unlock()
		for off := 0; off < len(audio); off += chunk {
			if err := context.Cause(ctx); err != nil {
				fail(err)
				return
			}
			n := min(chunk, len(audio)-off)
			if C.ps_process_raw(d, (*C.int16)(unsafe.Pointer(&audio[off])), C.size_t(n), 0, 0) < 0 {
				fail(fmt.Errorf("%w: process", ErrDecode))
				return
			}
		}
		if closing {
			break
		}
		if len(audio) > 0 {
			p := hypothesis(d)
			s.mu.Lock()
			s.partial = p
			s.mu.Unlock()
		}
	}
	if C.ps_end_utt(d) < 0 {
		err = fmt.Errorf("%w: end", ErrDecode)
	}
	text := hypothesis(d)
	s.mu.Lock()
	s.final = pipeline.Transcript{Text: text, Language: "en", Final: true}
	s.partial = text
	s.err = err
	s.mu.Unlock()
}

// hypothesis returns the decoder's current best hypothesis, cleaned.
func hypothesis(d *C.ps_decoder_t) string {
	var score C.int32
	if h := C.ps_get_hyp(d, &score); h != nil {
		return cleanHyp(C.GoString(h))
	}
	return ""
}

// cleanHyp drops filler and alternate-pronunciation marks ("word(2)").
func cleanHyp(h string) string {
	f := strings.Fields(h)
	out := f[:0]
	for _, w := range f {
		if strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}
