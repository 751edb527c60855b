//go:build cgo

package sphinx

/*
#cgo pkg-config: pocketsphinx sphinxbase
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/ngram_model.h>

// hark_ps_new makes a decoder; lm may be NULL when the caller sets a
// language model itself.
static ps_decoder_t *hark_ps_new(const char *hmm, const char *dict, const char *lm) {
	cmd_ln_t *cfg;
	ps_decoder_t *ps;
	err_set_logfp(NULL);
	if (lm != NULL) {
		cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict, "-lm", lm, NULL);
	} else {
		cfg = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", hmm, "-dict", dict, NULL);
	}
	if (cfg == NULL) {
		return NULL;
	}
	ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

// hark_ps_bias interpolates the general model with a phrase model (ARPA file)
// and selects the result as the active search. It returns 0 on success.
static int hark_ps_bias(ps_decoder_t *ps, const char *lm, const char *phrases, float weight) {
	cmd_ln_t *cfg = ps_get_config(ps);
	logmath_t *lmath = ps_get_logmath(ps);
	ngram_model_t *models[2];
	char *names[2] = {"general", "phrases"};
	float32 weights[2] = {1.0f - weight, weight};
	ngram_model_t *set;
	int rc;

	models[0] = ngram_model_read(cfg, lm, NGRAM_AUTO, lmath);
	if (models[0] == NULL) {
		return -1;
	}
	models[1] = ngram_model_read(cfg, phrases, NGRAM_ARPA, lmath);
	if (models[1] == NULL) {
		ngram_model_free(models[0]);
		return -1;
	}
	set = ngram_model_set_init(cfg, models, names, weights, 2);
	if (set == NULL) {
		ngram_model_free(models[0]);
		ngram_model_free(models[1]);
		return -1;
	}
	rc = ps_set_lm(ps, "bias", set);
	ngram_model_free(set);
	if (rc < 0) {
		return -1;
	}
	return ps_set_search(ps, "bias");
}
// hark_first_pass_ran reports whether the n-gram search's first pass saw
// the ended utterance: it runs pl_window frames behind the audio, so an
// utterance of fewer frames leaves it empty while the second pass searches
// them, and building the lattice from that (ps_get_hyp) fails an assertion
// that aborts the process.
static int hark_first_pass_ran(ps_decoder_t *ps) {
	return ps_get_n_frames(ps) - 1 >= cmd_ln_int32_r(ps_get_config(ps), "-pl_window");
}
*/
import "C"

import (
	"context"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

// chunk is how many samples are decoded between context checks (100 ms).
const chunk = 1600

// Recognizer transcribes English utterances with PocketSphinx. It is safe
// for concurrent use; Close frees its decoders.
type Recognizer struct {
	cfg    *config
	arpa   string   // the phrase model in ARPA format; empty without bias
	phone  *bandMap // maps telephone-band cepstra; nil to decode them as they are
	slots  chan struct{}
	mu     sync.Mutex
	idle   []*decoder
	closed bool
}

var _ pipeline.STT = (*Recognizer)(nil)

// New returns a Recognizer. It loads one decoder at once so that a missing
// model is reported here rather than on the first utterance; the others are
// loaded when concurrent calls need them.
func New(opts ...Option) (*Recognizer, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	r := &Recognizer{cfg: cfg, slots: make(chan struct{}, cfg.decoders)}
	if len(cfg.vocabulary) > 0 {
		r.arpa = BuildARPA(cfg.vocabulary)
	}
	d, err := r.newDecoder()
	if err != nil {
		return nil, err
	}
	r.idle = append(r.idle, d)
	// The map was fitted for the installed model's cepstra.
	if !cfg.wideOnly && len(d.sum) == phoneMap.dim {
		r.phone = phoneMap
	}
	return r, nil
}

func (r *Recognizer) newDecoder() (*decoder, error) {
	ps, err := r.newPS()
	if err != nil {
		return nil, err
	}
	d, err := newDecoderState(ps)
	if err != nil {
		C.ps_free(ps)
		return nil, err
	}
	return d, nil
}

func (r *Recognizer) newPS() (*C.ps_decoder_t, error) {
	hmm, dict, lm := C.CString(r.cfg.hmm), C.CString(r.cfg.dict), C.CString(r.cfg.lm)
	defer C.free(unsafe.Pointer(hmm))
	defer C.free(unsafe.Pointer(dict))
	defer C.free(unsafe.Pointer(lm))
	if r.arpa == "" {
		d := C.hark_ps_new(hmm, dict, lm)
		if d == nil {
			return nil, fmt.Errorf("%w: %s", ErrModel, r.cfg.hmm)
		}
		return d, nil
	}
	// The phrase model goes through a file: sphinxbase reads models only
	// from files.
	f, err := os.CreateTemp("", "hark-sphinx-*.arpa")
	if err != nil {
		return nil, fmt.Errorf("%w: phrase model: %w", ErrModel, err)
	}
	defer os.Remove(f.Name())
	_, werr := f.WriteString(r.arpa)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("%w: phrase model: %w", ErrModel, werr)
	}
	d := C.hark_ps_new(hmm, dict, nil)
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrModel, r.cfg.hmm)
	}
	arpa := C.CString(f.Name())
	defer C.free(unsafe.Pointer(arpa))
	if C.hark_ps_bias(d, lm, arpa, C.float(r.cfg.biasWeight)) != 0 {
		C.ps_free(d)
		return nil, fmt.Errorf("%w: cannot build the biased language model", ErrModel)
	}
	return d, nil
}

// acquire takes an idle decoder, making one if the pool is not full.
func (r *Recognizer) acquire(ctx context.Context) (*decoder, error) {
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.slots
		return nil, ErrClosed
	}
	if n := len(r.idle); n > 0 {
		d := r.idle[n-1]
		r.idle = r.idle[:n-1]
		r.mu.Unlock()
		return d, nil
	}
	r.mu.Unlock()
	d, err := r.newDecoder()
	if err != nil {
		<-r.slots
		return nil, err
	}
	return d, nil
}

func (r *Recognizer) release(d *decoder) {
	r.mu.Lock()
	if r.closed {
		d.free()
	} else {
		r.idle = append(r.idle, d)
	}
	r.mu.Unlock()
	<-r.slots
}

// Transcribe recognises one utterance. Audio in other formats than 16 kHz
// mono is converted first (any rate codecs/resample supports). The
// installed model is wideband: telephone speech (8 kHz input, or 16 kHz
// audio with nothing above 4.6 kHz) goes through a map that restores the
// wideband cepstra it lacks (see WithoutPhoneBandMap).
// language must be empty or English. Cancelling ctx stops decoding within
// about 100 ms of audio.
func (r *Recognizer) Transcribe(ctx context.Context, audio pcm.Frame, language string) (pipeline.Transcript, error) {
	if !englishHint(language) {
		return pipeline.Transcript{}, fmt.Errorf("%w: %q (only English models are installed)", ErrLanguage, language)
	}
	samples := audio.Samples
	if audio.Format != pcm.Mono16k {
		var err error
		if samples, err = resample.NewConverter(pcm.Mono16k).Convert(nil, audio); err != nil {
			return pipeline.Transcript{}, err
		}
	}
	d, err := r.acquire(ctx)
	if err != nil {
		return pipeline.Transcript{}, err
	}
	defer r.release(d)

	if r.phone != nil && (audio.Format.Rate <= 8000 || narrowband(samples)) {
		return r.transcribePhone(ctx, d, samples)
	}
	d.startUtt()
	d.observe(samples)
	if C.ps_start_utt(d.ps) < 0 {
		return pipeline.Transcript{}, fmt.Errorf("%w: start", ErrDecode)
	}
	for off := 0; off < len(samples); off += chunk {
		if err := context.Cause(ctx); err != nil {
			C.ps_end_utt(d.ps)
			return pipeline.Transcript{}, err
		}
		n := min(chunk, len(samples)-off)
		if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&samples[off])), C.size_t(n), 0, 0) < 0 {
			C.ps_end_utt(d.ps)
			return pipeline.Transcript{}, fmt.Errorf("%w: process", ErrDecode)
		}
	}
	if C.ps_end_utt(d.ps) < 0 {
		return pipeline.Transcript{}, fmt.Errorf("%w: end", ErrDecode)
	}
	return pipeline.Transcript{Text: finalHypothesis(d.ps), Language: "en", Final: true}, nil
}

// finalHypothesis returns the hypothesis of an ended utterance, empty for
// one too short for the search (under about 50 ms of features), where
// PocketSphinx would abort the process.
func finalHypothesis(d *C.ps_decoder_t) string {
	if C.hark_first_pass_ran(d) == 0 {
		return ""
	}
	return hypothesis(d)
}

// Close frees the decoders; calls in flight finish first and free theirs.
func (r *Recognizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for _, d := range r.idle {
		d.free()
	}
	r.idle = nil
	return nil
}
