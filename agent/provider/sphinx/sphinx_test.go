package sphinx_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/flite"
	"github.com/harkvoice/hark/agent/provider/sphinx"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if general != nil {
		general.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// general is a recogniser with the general model and two decoders, shared
// by the tests that do not close or exhaust theirs.
var (
	general     *sphinx.Recognizer
	generalOnce sync.Once
	generalErr  error
)

func shared(t testing.TB) *sphinx.Recognizer {
	t.Helper()
	generalOnce.Do(func() { general, generalErr = sphinx.New(sphinx.WithDecoders(2)) })
	if generalErr != nil {
		t.Fatal(generalErr)
	}
	return general
}

// phrases are what callers of a support line and users of a smart speaker
// say; each is spoken by one of three flite voices.
var phrases = []struct{ voice, text string }{
	{"slt", "where is my order one two three four"},
	{"rms", "i would like to return a pair of shoes"},
	{"awb", "what are your shipping times to canada"},
	{"slt", "can i talk to a human please"},
	{"rms", "set a timer for five minutes"},
	{"awb", "turn on the lights in the kitchen"},
	{"slt", "what time is it"},
	{"rms", "my package never arrived"},
	{"awb", "i want a refund for my order"},
	{"slt", "how long does shipping take"},
	{"rms", "turn off the bedroom lights"},
	{"awb", "thank you very much goodbye"},
}

// wordErrors returns the word-level edit distance between ref and hyp.
func wordErrors(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	cur := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(hyp)]
}

// spoken holds the phrases as flite speaks them, made once.
var spoken = sync.OnceValues(func() ([]pcm.Frame, error) {
	s, err := flite.New()
	if err != nil {
		return nil, err
	}
	var out []pcm.Frame
	for _, p := range phrases {
		var fr pcm.Frame
		for c, err := range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: p.text, Voice: p.voice}) {
			if err != nil {
				return nil, err
			}
			fr.Format = c.Format
			fr.Samples = append(fr.Samples, c.Samples...)
		}
		out = append(out, fr)
	}
	return out, nil
})

// wer recognises every phrase, two at a time, and returns the word error
// rate.
func wer(t *testing.T, r *sphinx.Recognizer) float64 {
	audio, err := spoken()
	if err != nil {
		t.Fatal(err)
	}
	hyps := make([]string, len(phrases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i := range phrases {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			tr, err := r.Transcribe(context.Background(), audio[i], "en-US")
			if err != nil {
				t.Error(err)
			}
			hyps[i] = tr.Text
		})
	}
	wg.Wait()
	var errs, words int
	for i, p := range phrases {
		ref := strings.Fields(p.text)
		e := wordErrors(ref, strings.Fields(hyps[i]))
		if e > 0 {
			t.Logf("%s %q -> %q", p.voice, p.text, hyps[i])
		}
		errs += e
		words += len(ref)
	}
	return float64(errs) / float64(words)
}

func TestWER(t *testing.T) {
	w := wer(t, shared(t))
	fmt.Printf("sphinx: WER %.1f %% over %d flite phrases (general model)\n", 100*w, len(phrases))
	if w > 0.15 {
		t.Errorf("WER %.1f %%, want <= 15 %%", 100*w)
	}
}

func TestWERWithVocabulary(t *testing.T) {
	vocab := []string{
		"where is my order 1234", "where is my order", "what is the status of my order",
		"i would like to return an item", "how do returns work", "what are your shipping times",
		"talk to a human", "set a timer for ten minutes", "turn on the kitchen lights",
		"turn off the lights", "what time is it",
	}
	r, err := sphinx.New(sphinx.WithDecoders(2), sphinx.WithVocabulary(vocab, 0.3))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := wer(t, r)
	fmt.Printf("sphinx: WER %.1f %% over %d flite phrases (biased to %d phrases)\n", 100*w, len(phrases), len(vocab))
	if w > 0.15 {
		t.Errorf("WER %.1f %%, want <= 15 %%", 100*w)
	}
	// The shared clip whose "order" the general model hears as "ardor".
	tr, err := r.Transcribe(context.Background(), readWAV(t, "../../../testdata/speech/order_slt.wav"), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "where is my order one two three four"; tr.Text != want {
		t.Errorf("biased: %q, want %q", tr.Text, want)
	}
}

func TestConcurrent(t *testing.T) {
	r := shared(t)
	clips := []struct{ file, text string }{
		{"shipping_awb", "what are your shipping times to canada"},
		{"order_slt", "where is my order one two three four"},
		{"wait_rms", "wait what does that mean"},
	}
	var wg sync.WaitGroup
	for _, c := range clips {
		fr := readWAV(t, "../../../testdata/speech/"+c.file+".wav")
		wg.Go(func() {
			tr, err := r.Transcribe(context.Background(), fr, "")
			if err != nil {
				t.Error(err)
				return
			}
			if tr.Text != c.text || !tr.Final || tr.Language != "en" {
				t.Errorf("%s: %+v, want %q", c.file, tr, c.text)
			}
		})
	}
	wg.Wait()
}

func TestErrors(t *testing.T) {
	if _, err := sphinx.New(sphinx.WithModelDir(t.TempDir())); !errors.Is(err, sphinx.ErrModel) {
		t.Errorf("missing model: %v, want ErrModel", err)
	}
	for _, o := range []sphinx.Option{
		sphinx.WithDecoders(0),
		sphinx.WithModelDir(""),
		sphinx.WithVocabulary([]string{"hello"}, 1.5),
		sphinx.WithVocabulary([]string{" ... "}, 0.5),
	} {
		if _, err := sphinx.New(o); !errors.Is(err, sphinx.ErrOption) {
			t.Errorf("bad option: %v, want ErrOption", err)
		}
	}
	r, err := sphinx.New(sphinx.WithDecoders(1))
	if err != nil {
		t.Fatal(err)
	}
	fr := readWAV(t, "../../../testdata/speech/stop_slt.wav")
	if _, err := r.Transcribe(context.Background(), fr, "fr"); !errors.Is(err, sphinx.ErrLanguage) {
		t.Errorf("French: %v, want ErrLanguage", err)
	}
	if _, err := r.Transcribe(context.Background(), pcm.Frame{Samples: fr.Samples, Format: pcm.Format{Rate: 12345, Channels: 1}}, ""); err == nil {
		t.Error("12345 Hz: no error")
	}
	narrow, err := resample.NewConverter(pcm.Mono8k).Convert(nil, readWAV(t, "../../../testdata/speech/timer_awb.wav"))
	if err != nil {
		t.Fatal(err)
	}
	// 8 kHz is converted and decoded, but the wideband model recognises
	// narrowband speech poorly: only the call is checked.
	if tr, err := r.Transcribe(context.Background(), pcm.Frame{Samples: narrow, Format: pcm.Mono8k}, ""); err != nil {
		t.Errorf("8 kHz: %v", err)
	} else {
		t.Logf("8 kHz: %q", tr.Text)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("hung up")
	cancel(stop)
	if _, err := r.Transcribe(ctx, fr, ""); !errors.Is(err, stop) {
		t.Errorf("cancelled: %v, want the cause", err)
	}
	tr, err := r.Transcribe(context.Background(), pcm.Frame{Samples: make([]int16, 8000), Format: pcm.Mono16k}, "")
	if err != nil || tr.Text != "" {
		t.Errorf("silence: %+v, %v; want no words", tr, err)
	}
	stereo := pcm.Frame{Samples: pcm.ToStereo(nil, fr.Samples), Format: pcm.Format{Rate: 16000, Channels: 2}}
	if tr, err := r.Transcribe(context.Background(), stereo, ""); err != nil || tr.Text != "stop" {
		t.Errorf("stereo: %+v, %v; want \"stop\"", tr, err)
	}
	r.Close()
	if _, err := r.Transcribe(context.Background(), fr, ""); !errors.Is(err, sphinx.ErrClosed) {
		t.Errorf("closed: %v, want ErrClosed", err)
	}
}

func BenchmarkTranscribe(b *testing.B) {
	r := shared(b)
	fr := readWAV(b, "../../../testdata/speech/order_rms.wav")
	for b.Loop() {
		if _, err := r.Transcribe(context.Background(), fr, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/fr.Duration().Seconds(), "real-time-factor")
}
