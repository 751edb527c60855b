//go:build cgo

package sphinx

/*
#include <pocketsphinx.h>
#include <sphinxbase/fe.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/cmn.h>

// hark_fe_new makes a front end with the decoder's own parameters.
static fe_t *hark_fe_new(ps_decoder_t *ps) {
	return fe_init_auto_r(ps_get_config(ps));
}

static int hark_veclen(ps_decoder_t *ps) {
	return ps_get_feat(ps)->cmn_struct->veclen;
}

// hark_cep_sum adds the cepstra of n samples to sum (veclen values), over
// the frames live CMN counts (those with c0 >= 0), and returns how many
// frames it added, or -1.
static int hark_cep_sum(fe_t *fe, const int16 *spch, size_t n, double *sum, int veclen) {
	mfcc_t **cep = NULL;
	int32 nfr = 0, used = 0, i, j;
	if (fe_process_utt(fe, spch, n, &cep, &nfr) < 0) {
		return -1;
	}
	for (i = 0; i < nfr; i++) {
		if (cep[i][0] < 0) {
			continue;
		}
		for (j = 0; j < veclen; j++) {
			sum[j] += cep[i][j];
		}
		used++;
	}
	if (cep != NULL) {
		fe_free_2d(cep);
	}
	return used;
}

static void hark_cmn_get(ps_decoder_t *ps, float *mean) {
	cmn_t *c = ps_get_feat(ps)->cmn_struct;
	int j;
	for (j = 0; j < c->veclen; j++) {
		mean[j] = c->cmn_mean[j];
	}
}

static void hark_cmn_set(ps_decoder_t *ps, const float *mean) {
	cmn_t *c = ps_get_feat(ps)->cmn_struct;
	mfcc_t m[64];
	int j;
	for (j = 0; j < c->veclen && j < 64; j++) {
		m[j] = mean[j];
	}
	cmn_live_set(c, m);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// priorFrames weighs the model's initial cepstral mean against an
// utterance's own frames (10 ms each), so that a very short utterance is
// not normalised by a handful of frames alone.
const priorFrames = 20.0

// decoder is one PocketSphinx decoder and a front end of its own that
// measures each utterance's cepstral mean.
type decoder struct {
	ps    *C.ps_decoder_t
	fe    *C.fe_t
	prior []float32 // the model's initial cepstral mean
	sum   []float64
	n     int
	mean  []float32
}

func newDecoderState(ps *C.ps_decoder_t) (*decoder, error) {
	fe := C.hark_fe_new(ps)
	if fe == nil {
		return nil, fmt.Errorf("%w: front end", ErrModel)
	}
	n := int(C.hark_veclen(ps))
	d := &decoder{ps: ps, fe: fe, prior: make([]float32, n), sum: make([]float64, n), mean: make([]float32, n)}
	C.hark_cmn_get(ps, (*C.float)(unsafe.Pointer(&d.prior[0])))
	return d, nil
}

func (d *decoder) free() {
	C.fe_free(d.fe)
	C.ps_free(d.ps)
}

// startUtt forgets the previous utterance's cepstra.
func (d *decoder) startUtt() {
	C.fe_start_utt(d.fe)
	clear(d.sum)
	d.n = 0
}

// observe adds samples to the utterance's cepstral statistics and sets
// the decoder's mean from them.
func (d *decoder) observe(samples []int16) {
	if len(samples) == 0 {
		return
	}
	n := C.hark_cep_sum(d.fe, (*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)),
		(*C.double)(unsafe.Pointer(&d.sum[0])), C.int(len(d.sum)))
	if n > 0 {
		d.n += int(n)
	}
	d.setMean()
}

// setMean sets the decoder's cepstral mean from the utterance's statistics,
// weighed against the model's initial mean.
func (d *decoder) setMean() {
	w := float64(priorFrames)
	for j := range d.mean {
		d.mean[j] = float32((w*float64(d.prior[j]) + d.sum[j]) / (w + float64(d.n)))
	}
	C.hark_cmn_set(d.ps, (*C.float)(unsafe.Pointer(&d.mean[0])))
}
