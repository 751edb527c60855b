//go:build cgo

package flite

/*
#cgo LDFLAGS: -lflite_cmu_us_slt -lflite_cmu_us_rms -lflite_cmu_us_awb -lflite_cmu_us_kal16 -lflite_usenglish -lflite_cmulex -lflite -lm
#include <stdint.h>
#include <stdlib.h>
#include <flite/flite.h>

cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);
cst_voice *register_cmu_us_kal16(const char *voxdir);

extern int harkFliteChunk(uintptr_t handle, short *samples, int n, int rate, int last);

static int hark_flite_cb(const cst_wave *w, int start, int size, int last, cst_audio_streaming_info *asi) {
	return harkFliteChunk((uintptr_t)asi->userdata, w->samples + start, size, w->sample_rate, last);
}

static cst_voice *hark_flite_voice(int i) {
	static int inited = 0;
	if (!inited) {
		flite_init();
		inited = 1;
	}
	switch (i) {
	case 0: return register_cmu_us_slt(NULL);
	case 1: return register_cmu_us_rms(NULL);
	case 2: return register_cmu_us_awb(NULL);
	case 3: return register_cmu_us_kal16(NULL);
	}
	return NULL;
}

// hark_flite_synth synthesises text, streaming audio to harkFliteChunk with
// handle. It returns 0 on success.
static int hark_flite_synth(cst_voice *v, const char *text, uintptr_t handle) {
	cst_utterance *u;
	cst_audio_streaming_info *asi = new_audio_streaming_info();
	asi->min_buffsize = 800;
	asi->asc = hark_flite_cb;
	asi->userdata = (void *)handle;
	u = new_utterance();
	feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
	utt_set_input_text(u, text);
	if (flite_do_synth(u, v, utt_synth) == NULL) {
		return -1;
	}
	delete_utterance(u);
	return 0;
}
*/
import "C"

import (
	"context"
	"fmt"
	"iter"
	"runtime/cgo"
	"slices"
	"sync"
	"unsafe"

	"github.com/harkvoice/hark/agent/provider/internal/cbstream"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// engine serialises all Flite calls: Flite keeps global state.
var engine struct {
	sync.Mutex
	voices map[string]*C.cst_voice
}

// voice returns a registered voice; call with engine locked.
func voice(name string) (*C.cst_voice, error) {
	if v, ok := engine.voices[name]; ok {
		return v, nil
	}
	i := slices.Index(Voices, name)
	if i < 0 {
		return nil, fmt.Errorf("%w: %q", ErrVoice, name)
	}
	v := C.hark_flite_voice(C.int(i))
	if v == nil {
		return nil, fmt.Errorf("%w: cannot load voice %q", ErrSynthesis, name)
	}
	if engine.voices == nil {
		engine.voices = map[string]*C.cst_voice{}
	}
	engine.voices[name] = v
	return v, nil
}

//export harkFliteChunk
func harkFliteChunk(handle C.uintptr_t, samples *C.short, n, rate, last C.int) C.int {
	s := cgo.Handle(handle).Value().(*cbstream.Stream)
	fr := pcm.Frame{
		Samples: slices.Clone(unsafe.Slice((*int16)(unsafe.Pointer(samples)), int(n))),
		Format:  pcm.Format{Rate: int(rate), Channels: 1},
	}
	if n > 0 && !s.Push(fr) {
		return C.CST_AUDIO_STREAM_STOP
	}
	return C.CST_AUDIO_STREAM_CONT
}

// Synthesizer speaks English with Flite. It is safe for concurrent use;
// syntheses run one at a time inside Flite, each much faster than real time.
type Synthesizer struct {
	cfg *config
}

var _ pipeline.TTS = (*Synthesizer)(nil)

// New returns a Synthesizer and loads its default voice.
func New(opts ...Option) (*Synthesizer, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	engine.Lock()
	_, err = voice(cfg.voice)
	engine.Unlock()
	if err != nil {
		return nil, err
	}
	return &Synthesizer{cfg: cfg}, nil
}

// Format is the format of the frames Synthesize yields.
func (s *Synthesizer) Format() pcm.Format { return pcm.Mono16k }

// Synthesize speaks req.Text sentence by sentence in req.Voice (one of
// Voices; empty for the default). req.Language must be empty or English.
// Frames are mono at the voice's rate (16 kHz for all of Voices), with
// timestamps counted from the first sample.
func (s *Synthesizer) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) {
		name := req.Voice
		if name == "" {
			name = s.cfg.voice
		}
		if err := checkLanguage(req.Language); err != nil {
			yield(pcm.Frame{}, err)
			return
		}
		if !slices.Contains(Voices, name) {
			yield(pcm.Frame{}, fmt.Errorf("%w: %q", ErrVoice, name))
			return
		}
		sentences := Sentences(req.Text)
		if len(sentences) == 0 {
			return
		}
		cbstream.Run(ctx, yield, func(st *cbstream.Stream) error {
			h := cgo.NewHandle(st)
			defer h.Delete()
			return synthesize(name, sentences, h, st)
		})
	}
}

// synthesize runs Flite on each sentence until done or stopped.
func synthesize(name string, sentences []string, h cgo.Handle, st *cbstream.Stream) error {
	for _, sentence := range sentences {
		if st.Stopped() {
			return nil
		}
		text := C.CString(sentence)
		engine.Lock()
		v, err := voice(name)
		var rc C.int
		if err == nil {
			rc = C.hark_flite_synth(v, text, C.uintptr_t(h))
		}
		engine.Unlock()
		C.free(unsafe.Pointer(text))
		if err != nil {
			return err
		}
		if rc != 0 {
			return fmt.Errorf("%w: %q", ErrSynthesis, sentence)
		}
	}
	return nil
}
