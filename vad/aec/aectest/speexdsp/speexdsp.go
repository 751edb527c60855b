//go:build speexdsp && cgo

package speexdsp

/*
#cgo pkg-config: speexdsp
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// Canceller is a speexdsp echo canceller for one stream, optionally
// followed by the preprocessor with residual echo suppression.
type Canceller struct {
	frame int
	echo  *C.SpeexEchoState
	pre   *C.SpeexPreprocessState
	buf   []int16
}

// New returns a canceller at rate with frames of frame samples and a
// filter of filterLen samples. With preprocess, the output goes through
// speex_preprocess_run with the echo state attached (echo suppression on,
// noise suppression as denoise says).
func New(rate, frame, filterLen int, preprocess, denoise bool) (*Canceller, error) {
	if rate <= 0 || frame <= 0 || filterLen <= 0 {
		return nil, errors.New("speexdsp: bad parameters")
	}
	c := &Canceller{frame: frame, buf: make([]int16, frame)}
	c.echo = C.speex_echo_state_init(C.int(frame), C.int(filterLen))
	if c.echo == nil {
		return nil, errors.New("speexdsp: speex_echo_state_init failed")
	}
	r := C.int(rate)
	C.speex_echo_ctl(c.echo, C.SPEEX_ECHO_SET_SAMPLING_RATE, unsafe.Pointer(&r))
	if preprocess {
		c.pre = C.speex_preprocess_state_init(C.int(frame), r)
		if c.pre == nil {
			c.Close()
			return nil, errors.New("speexdsp: speex_preprocess_state_init failed")
		}
		C.speex_preprocess_ctl(c.pre, C.SPEEX_PREPROCESS_SET_ECHO_STATE, unsafe.Pointer(c.echo))
		d := C.int(0)
		if denoise {
			d = 1
		}
		C.speex_preprocess_ctl(c.pre, C.SPEEX_PREPROCESS_SET_DENOISE, unsafe.Pointer(&d))
	}
	return c, nil
}

// Process cancels the echo of ref (the far end played at the same time)
// in mic, one frame, and appends the output to dst.
func (c *Canceller) Process(dst, mic, ref []int16) ([]int16, error) {
	if len(mic) != c.frame || len(ref) != c.frame {
		return dst, fmt.Errorf("speexdsp: frames of %d samples, got %d and %d", c.frame, len(mic), len(ref))
	}
	C.speex_echo_cancellation(c.echo, (*C.spx_int16_t)(unsafe.Pointer(&mic[0])),
		(*C.spx_int16_t)(unsafe.Pointer(&ref[0])), (*C.spx_int16_t)(unsafe.Pointer(&c.buf[0])))
	if c.pre != nil {
		C.speex_preprocess_run(c.pre, (*C.spx_int16_t)(unsafe.Pointer(&c.buf[0])))
	}
	return append(dst, c.buf...), nil
}

// Close frees the library's state.
func (c *Canceller) Close() {
	if c.pre != nil {
		C.speex_preprocess_state_destroy(c.pre)
		c.pre = nil
	}
	if c.echo != nil {
		C.speex_echo_state_destroy(c.echo)
		c.echo = nil
	}
}
