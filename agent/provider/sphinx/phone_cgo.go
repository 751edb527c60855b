//go:build cgo

package sphinx

/*
#include <stdlib.h>
#include <string.h>
#include <pocketsphinx.h>
#include <sphinxbase/fe.h>

// hark_cepstra computes the cepstra of n samples into out (room for max
// frames of veclen values) and returns how many frames it wrote, or -1.
static int hark_cepstra(fe_t *fe, const int16 *spch, size_t n, float *out, int max, int veclen) {
	mfcc_t **cep = NULL;
	int32 nfr = 0, i;
	if (fe_process_utt(fe, spch, n, &cep, &nfr) < 0) {
		return -1;
	}
	if (nfr > max) {
		nfr = max;
	}
	for (i = 0; i < nfr; i++) {
		memcpy(out + (size_t)i * veclen, cep[i], veclen * sizeof(float));
	}
	if (cep != NULL) {
		fe_free_2d(cep);
	}
	return nfr;
}

// hark_process_cep searches nfr frames of veclen cepstra.
static int hark_process_cep(ps_decoder_t *ps, float *cep, int nfr, int veclen) {
	mfcc_t *rows[64];
	int i;
	if (nfr > 64) {
		return -1;
	}
	for (i = 0; i < nfr; i++) {
		rows[i] = cep + (size_t)i * veclen;
	}
	return ps_process_cep(ps, rows, nfr, 0, 0);
}
*/
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/harkvoice/hark/pipeline"
)

// cepFrames is how many frames (10 ms each) are searched between context
// checks.
const cepFrames = 10

// cepstra returns the cepstra of one utterance of 16 kHz samples, veclen
// values a frame.
func (d *decoder) cepstra(samples []int16) ([]float32, error) {
	C.fe_start_utt(d.fe)
	return d.moreCepstra(nil, samples)
}

// moreCepstra appends to dst the cepstra of the next samples of the
// utterance the front end is in (the last partial frame waits for more).
func (d *decoder) moreCepstra(dst []float32, samples []int16) ([]float32, error) {
	if len(samples) == 0 {
		return dst, nil
	}
	dim := len(d.sum)
	max := len(samples)/160 + 2
	at := len(dst)
	dst = append(dst, make([]float32, max*dim)...)
	n := C.hark_cepstra(d.fe, (*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)),
		(*C.float)(unsafe.Pointer(&dst[at])), C.int(max), C.int(dim))
	if n < 0 {
		return nil, fmt.Errorf("%w: front end", ErrDecode)
	}
	return dst[:at+int(n)*dim], nil
}

// search decodes frames of cepstra in the decoder's utterance.
func (d *decoder) search(cep []float32) error {
	dim := len(d.sum)
	for off := 0; off < len(cep); off += 64 * dim {
		n := min(64*dim, len(cep)-off) / dim
		if C.hark_process_cep(d.ps, (*C.float)(unsafe.Pointer(&cep[off])), C.int(n), C.int(dim)) < 0 {
			return fmt.Errorf("%w: process", ErrDecode)
		}
	}
	return nil
}

// decodeCepstra searches one utterance given as cepstra, normalised by
// their own mean (weighed against the model's, as observe does).
func (d *decoder) decodeCepstra(ctx context.Context, cep []float32) error {
	dim := len(d.sum)
	clear(d.sum)
	d.n = 0
	for f := 0; f+dim <= len(cep); f += dim {
		if cep[f] < 0 {
			continue
		}
		for j, v := range cep[f : f+dim] {
			d.sum[j] += float64(v)
		}
		d.n++
	}
	d.setMean()
	if C.ps_start_utt(d.ps) < 0 {
		return fmt.Errorf("%w: start", ErrDecode)
	}
	for off := 0; off < len(cep); off += cepFrames * dim {
		if err := context.Cause(ctx); err != nil {
			C.ps_end_utt(d.ps)
			return err
		}
		if err := d.search(cep[off:min(off+cepFrames*dim, len(cep))]); err != nil {
			C.ps_end_utt(d.ps)
			return err
		}
	}
	if C.ps_end_utt(d.ps) < 0 {
		return fmt.Errorf("%w: end", ErrDecode)
	}
	return nil
}

// transcribePhone recognises telephone-band samples (upsampled to 16 kHz)
// through the band map.
func (r *Recognizer) transcribePhone(ctx context.Context, d *decoder, samples []int16) (pipeline.Transcript, error) {
	cep, err := d.cepstra(samples)
	if err != nil {
		return pipeline.Transcript{}, err
	}
	mapped := r.phone.apply(make([]float32, 0, len(cep)), cep)
	if err := d.decodeCepstra(ctx, mapped); err != nil {
		return pipeline.Transcript{}, err
	}
	return pipeline.Transcript{Text: finalHypothesis(d.ps), Language: "en", Final: true}, nil
}
