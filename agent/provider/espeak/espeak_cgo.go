//go:build cgo

package espeak

/*
#cgo pkg-config: espeak-ng
#include <stdlib.h>
#include <espeak-ng/speak_lib.h>

extern int harkEspeakChunk(short *wav, int n);

static int hark_espeak_cb(short *wav, int n, espeak_EVENT *events) {
	return harkEspeakChunk(wav, n);
}

// hark_espeak_init starts eSpeak NG in synchronous mode with 100 ms
// callbacks; it returns the sample rate, or a negative number.
static int hark_espeak_init(void) {
	int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 100, NULL, espeakINITIALIZE_DONT_EXIT);
	if (rate > 0) {
		espeak_SetSynthCallback(hark_espeak_cb);
	}
	return rate;
}

static int hark_espeak_synth(const char *text, size_t size) {
	return espeak_Synth(text, size, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL);
}
*/
import "C"

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"unsafe"

	"github.com/harkvoice/hark/agent/provider/internal/cbstream"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// engine holds eSpeak NG's global state; all calls hold its lock.
var engine struct {
	sync.Mutex
	once    sync.Once
	rate    int
	voices  []Voice
	err     error
	current *cbstream.Stream // the synthesis the callback feeds
}

func start() error {
	engine.once.Do(func() {
		engine.Lock()
		defer engine.Unlock()
		rate := int(C.hark_espeak_init())
		if rate <= 0 {
			engine.err = fmt.Errorf("%w: no data files?", ErrInit)
			return
		}
		engine.rate = rate
		engine.voices = listVoices()
	})
	return engine.err
}

// listVoices reads eSpeak's voice table; call with engine locked.
func listVoices() []Voice {
	list := C.espeak_ListVoices(nil)
	if list == nil {
		return nil
	}
	var out []Voice
	for _, v := range unsafe.Slice(list, 1<<16) {
		if v == nil {
			break
		}
		voice := Voice{Name: C.GoString(v.name), Identifier: C.GoString(v.identifier)}
		// languages: (priority byte, NUL-terminated name)*, then a NUL.
		p := unsafe.Pointer(v.languages)
		for p != nil && *(*C.char)(p) != 0 {
			prio := int(*(*C.uchar)(p))
			name := C.GoString((*C.char)(unsafe.Add(p, 1)))
			voice.Languages = append(voice.Languages, Language{Tag: name, Priority: prio})
			p = unsafe.Add(p, 2+len(name))
		}
		out = append(out, voice)
	}
	return out
}

//export harkEspeakChunk
func harkEspeakChunk(wav *C.short, n C.int) C.int {
	s := engine.current
	if s == nil {
		return 1
	}
	if wav == nil || n <= 0 {
		if s.Stopped() {
			return 1
		}
		return 0
	}
	fr := pcm.Frame{Samples: slices.Clone(unsafe.Slice((*int16)(unsafe.Pointer(wav)), int(n))), Format: pcm.Format{Rate: engine.rate, Channels: 1}}
	if !s.Push(fr) {
		return 1
	}
	return 0
}

// Synthesizer speaks with eSpeak NG. It is safe for concurrent use;
// syntheses run one at a time inside eSpeak, each much faster than real
// time.
type Synthesizer struct {
	cfg *config
}

var _ pipeline.TTS = (*Synthesizer)(nil)

// New starts eSpeak NG (once per process) and returns a Synthesizer.
func New(opts ...Option) (*Synthesizer, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := start(); err != nil {
		return nil, err
	}
	if _, ok := Pick(engine.voices, cfg.language); !ok {
		return nil, fmt.Errorf("%w: %q", ErrLanguage, cfg.language)
	}
	return &Synthesizer{cfg: cfg}, nil
}

// Voices lists the installed voices.
func (s *Synthesizer) Voices() []Voice { return slices.Clone(engine.voices) }

// Format is the format of the frames Synthesize yields (22.05 kHz mono).
func (s *Synthesizer) Format() pcm.Format { return pcm.Format{Rate: engine.rate, Channels: 1} }

// VoiceFor returns the identifier of the voice that speaks the BCP-47
// language tag, or an error wrapping ErrLanguage.
func (s *Synthesizer) VoiceFor(tag string) (string, error) {
	v, ok := Pick(engine.voices, tag)
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrLanguage, tag)
	}
	return v.Identifier, nil
}

// Synthesize speaks req.Text in req.Voice (an eSpeak voice name or
// identifier, optionally with a variant: "de+f3"), or else in the voice for
// req.Language, or else for the configured default language.
func (s *Synthesizer) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) {
		voice := req.Voice
		if voice == "" {
			lang := req.Language
			if lang == "" {
				lang = s.cfg.language
			}
			var err error
			if voice, err = s.VoiceFor(lang); err != nil {
				yield(pcm.Frame{}, err)
				return
			}
		}
		if len(req.Text) == 0 {
			return
		}
		cbstream.Run(ctx, yield, func(st *cbstream.Stream) error { return s.run(voice, req.Text, st) })
	}
}

// run synthesises text under the engine lock, feeding st.
func (s *Synthesizer) run(voice, text string, st *cbstream.Stream) error {
	cvoice := C.CString(voice)
	defer C.free(unsafe.Pointer(cvoice))
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))

	engine.Lock()
	defer engine.Unlock()
	if st.Stopped() {
		return nil
	}
	if C.espeak_SetVoiceByName(cvoice) != C.EE_OK {
		return fmt.Errorf("%w: %q", ErrVoice, voice)
	}
	C.espeak_SetParameter(C.espeakRATE, C.int(s.cfg.speed), 0)
	engine.current = st
	rc := C.hark_espeak_synth(ctext, C.size_t(len(text)+1))
	engine.current = nil
	if rc != C.EE_OK {
		return fmt.Errorf("%w: code %d", ErrSynthesis, int(rc))
	}
	return nil
}
