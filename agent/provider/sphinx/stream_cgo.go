//go:build cgo

package sphinx

/*
#include <pocketsphinx.h>
#include <sphinxbase/fe.h>
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

var (
	_ pipeline.StreamingSTT    = (*Recognizer)(nil)
	_ pipeline.StreamCommitter = (*stream)(nil)
	_ pipeline.StreamAborter   = (*stream)(nil)
)

// StartStream starts recognising one utterance as it arrives. It returns at
// once: the stream's own goroutine takes one of the recogniser's decoders
// (waiting while all are busy, the audio queuing meanwhile), decodes what
// Write queues, and gives the decoder back when the stream is closed or
// aborted or ctx is done. Write never waits for the decoder; Partial returns
// the best hypothesis of the audio decoded so far; Commit ends the decoder's
// utterance at the audio written so far (its final search runs then, so
// Close has little left to do), and later audio starts another; Close waits
// for the rest and returns the final transcript; Abort drops the stream.
// A stream normalises the audio with PocketSphinx's live cepstral mean
// (carried from the decoder's previous utterance), so its transcript can
// differ from what Transcribe, which normalises by the whole utterance's own
// mean, gives. Telephone audio is mapped as Transcribe maps it; for 16 kHz
// streams that takes the first 100 ms of audio that is not silent to tell,
// so decoding starts that much later.
func (r *Recognizer) StartStream(ctx context.Context, format pcm.Format, language string) (pipeline.STTStream, error) {
	if !englishHint(language) {
		return nil, fmt.Errorf("%w: %q (only English models are installed)", ErrLanguage, language)
	}
	if err := format.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s := &stream{format: format, wake: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel}
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
	done   chan struct{}           // closed when decoding has ended
	cancel context.CancelCauseFunc // ends run: Abort, or run's own end

	mu      sync.Mutex
	pending []int16
	partial string
	commit  bool // Commit was called and run has not yet acted on it
	// covered: partial is the final text of everything written; whole: it
	// is a hypothesis of everything written.
	covered, whole bool
	closing        bool
	final          pipeline.Transcript
	err            error
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
	s.covered, s.whole = false, false
	s.signal()
	return nil
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Partial returns the best hypothesis of the audio decoded so far; it is
// Whole once all the audio written has been decoded, and Final once a
// Commit has been decoded and no audio was written since.
func (s *stream) Partial() pipeline.Transcript {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.Transcript{Text: s.partial, Language: "en", Final: s.covered, Whole: s.whole || s.covered}
}

// Commit ends the decoder's utterance at the audio written so far.
func (s *stream) Commit() {
	s.mu.Lock()
	s.commit = true
	s.mu.Unlock()
	s.signal()
}

// Abort stops decoding and gives the decoder back; Close then returns
// pipeline.ErrAborted.
func (s *stream) Abort() { s.cancel(pipeline.ErrAborted) }

// Close decodes what is still queued and returns the final transcript.
// Later calls return the same.
func (s *stream) Close() (pipeline.Transcript, error) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final, s.err
}

// run decodes queued audio until the stream is closed or ctx is done, then
// ends the utterance and gives the decoder back.
func (s *stream) run(ctx context.Context, r *Recognizer) {
	defer close(s.done)
	defer s.cancel(nil)
	d, err := r.acquire(ctx)
	if err != nil {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		return
	}
	defer r.release(d)
	var committed []string // final texts of the committed utterances
	open := false          // the decoder is inside an utterance
	// band decides whether the audio came through a telephone line, from
	// the format or from the first samples that are not silent: such audio is
	// decoded through the recogniser's band map.
	band := bandDecider{mapped: r.phone != nil, narrow: s.format.Rate <= 8000}
	var (
		bs       *bandStream
		cep, out []float32
	)
	fail := func(err error) {
		if open {
			C.ps_end_utt(d.ps)
		}
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	// end finishes the decoder's utterance and keeps its words.
	end := func() error {
		open = false
		if bs != nil {
			if err := d.search(bs.end(out[:0])); err != nil {
				C.ps_end_utt(d.ps)
				return err
			}
		}
		if C.ps_end_utt(d.ps) < 0 {
			return fmt.Errorf("%w: end", ErrDecode)
		}
		if h := finalHypothesis(d.ps); h != "" {
			committed = append(committed, h)
		}
		return nil
	}
	// draft shows the first pass's hypothesis of the audio decoded.
	draft := func() {
		p := strings.Join(append(committed[:len(committed):len(committed)], hypothesis(d.ps)), " ")
		s.mu.Lock()
		s.partial = strings.TrimSpace(p)
		s.whole = len(s.pending) == 0
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
		audio, closing, commit := s.pending, s.closing, s.commit
		s.pending, s.commit = nil, false
		s.mu.Unlock()
		audio = band.take(audio, closing || commit)
		if band.narrow && band.mapped && bs == nil && band.decided {
			bs = &bandStream{m: r.phone}
		}
		if len(audio) > 0 && !open {
			if C.ps_start_utt(d.ps) < 0 {
				fail(fmt.Errorf("%w: start", ErrDecode))
				return
			}
			if bs != nil {
				C.fe_start_utt(d.fe)
			}
			open = true
		}
		for off := 0; off < len(audio); off += chunk {
			if err := context.Cause(ctx); err != nil {
				fail(err)
				return
			}
			n := min(chunk, len(audio)-off)
			if bs != nil {
				if cep, err = d.moreCepstra(cep[:0], audio[off:off+n]); err == nil {
					out = bs.push(out[:0], cep)
					err = d.search(out)
				}
				if err != nil {
					fail(err)
					return
				}
				continue
			}
			if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&audio[off])), C.size_t(n), 0, 0) < 0 {
				fail(fmt.Errorf("%w: process", ErrDecode))
				return
			}
		}
		if closing {
			break
		}
		switch {
		case commit && open:
			// The final search takes a while: meanwhile, the first pass's
			// words of all the speech.
			if len(audio) > 0 {
				draft()
			}
			if err := end(); err != nil {
				fail(err)
				return
			}
			text := strings.Join(committed, " ")
			s.mu.Lock()
			s.partial = text
			s.covered = len(s.pending) == 0
			s.mu.Unlock()
		case commit:
			s.mu.Lock()
			s.covered = len(s.pending) == 0
			s.mu.Unlock()
		case len(audio) > 0:
			draft()
		}
	}
	if open {
		err = end()
	}
	text := strings.Join(committed, " ")
	s.mu.Lock()
	s.final = pipeline.Transcript{Text: text, Language: "en", Final: true}
	s.partial = text
	s.covered = true
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
