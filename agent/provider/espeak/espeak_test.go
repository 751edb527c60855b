package espeak_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/espeak"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func speak(t *testing.T, s *espeak.Synthesizer, req pipeline.SpeechRequest) pcm.Frame {
	t.Helper()
	var all pcm.Frame
	for fr, err := range s.Synthesize(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		if want := fr.Format.Duration(len(all.Samples)); fr.Timestamp != want {
			t.Fatalf("timestamp %v, want %v", fr.Timestamp, want)
		}
		all.Format = fr.Format
		all.Samples = append(all.Samples, fr.Samples...)
	}
	return all
}

func TestLanguages(t *testing.T) {
	s, err := espeak.New()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Voices()); n < 90 {
		t.Errorf("%d voices, want about a hundred", n)
	}
	for _, tc := range []struct{ lang, text string }{
		{"en", "Your order shipped yesterday and arrives on Friday."},
		{"de", "Ihre Bestellung wurde gestern verschickt und kommt am Freitag an."},
		{"es-MX", "Su pedido fue enviado ayer y llega el viernes."},
		{"fr", "Votre commande est partie hier et arrive vendredi."},
		{"zh-CN", "您的订单昨天已发货，星期五到达。"},
		{"ja", "ごちゅうもんは きのう はっそうされました。"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			fr := speak(t, s, pipeline.SpeechRequest{Text: tc.text, Language: tc.lang})
			if fr.Format != (pcm.Format{Rate: 22050, Channels: 1}) {
				t.Errorf("format %s, want 22050 Hz mono", fr.Format)
			}
			d := fr.Duration()
			if d < 1500*time.Millisecond || d > 8*time.Second {
				t.Errorf("duration %v, want 1.5 s to 8 s", d)
			}
			if db := pcm.DBFS(fr.Samples); db < -35 {
				t.Errorf("level %.1f dBFS: silent", db)
			}
		})
	}
}

func TestVoiceFor(t *testing.T) {
	s, err := espeak.New(espeak.WithLanguage("de"), espeak.WithSpeed(140))
	if err != nil {
		t.Fatal(err)
	}
	for tag, want := range map[string]string{
		"de": "gmw/de", "DE-at": "gmw/de", "en": "gmw/en-US", "en-GB": "gmw/en",
		"zh-CN": "sit/cmn", "zh_TW": "sit/cmn", "zh-HK": "sit/yue", "pt-BR": "roa/pt-BR", "fr": "roa/fr",
	} {
		got, err := s.VoiceFor(tag)
		if err != nil || got != want {
			t.Errorf("VoiceFor(%q) = %q, %v; want %q", tag, got, err, want)
		}
	}
	if _, err := s.VoiceFor("tlh"); !errors.Is(err, espeak.ErrLanguage) {
		t.Errorf("Klingon: %v, want ErrLanguage", err)
	}
	// The default language is German: the same text speaks differently
	// from an explicit English request.
	de := speak(t, s, pipeline.SpeechRequest{Text: "Guten Tag"})
	en := speak(t, s, pipeline.SpeechRequest{Text: "Guten Tag", Language: "en"})
	if len(de.Samples) == len(en.Samples) {
		t.Error("default language ignored")
	}
}

func TestErrors(t *testing.T) {
	for _, o := range []espeak.Option{espeak.WithSpeed(10), espeak.WithLanguage(" ")} {
		if _, err := espeak.New(o); !errors.Is(err, espeak.ErrOption) {
			t.Errorf("bad option: %v, want ErrOption", err)
		}
	}
	if _, err := espeak.New(espeak.WithLanguage("tlh")); !errors.Is(err, espeak.ErrLanguage) {
		t.Errorf("bad default language: %v, want ErrLanguage", err)
	}
	s, err := espeak.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  pipeline.SpeechRequest
		want error
	}{
		{pipeline.SpeechRequest{Text: "hello", Voice: "no-such-voice"}, espeak.ErrVoice},
		{pipeline.SpeechRequest{Text: "hello", Language: "tlh"}, espeak.ErrLanguage},
	} {
		var got error
		for _, err := range s.Synthesize(context.Background(), tc.req) {
			got = err
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.req, got, tc.want)
		}
	}
}

func TestCancel(t *testing.T) {
	s, err := espeak.New()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("This sentence is one of many that make a very long reply. ", 40)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := errors.New("user talked")
	var got time.Duration
	var gotErr error
	for fr, err := range s.Synthesize(ctx, pipeline.SpeechRequest{Text: long}) {
		if err != nil {
			gotErr = err
			break
		}
		got += fr.Duration()
		cancel(stop)
	}
	if !errors.Is(gotErr, stop) {
		t.Errorf("error %v, want the cancel cause", gotErr)
	}
	if got > 10*time.Second {
		t.Errorf("%v of audio after cancel", got)
	}
	for range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: long}) {
		break
	}
	// The engine still works after an aborted synthesis.
	if fr := speak(t, s, pipeline.SpeechRequest{Text: "Still here."}); fr.Duration() < 500*time.Millisecond {
		t.Errorf("after cancel: %v of audio", fr.Duration())
	}
}

func TestPick(t *testing.T) {
	voices := []espeak.Voice{
		{Identifier: "a/en", Languages: []espeak.Language{{"en-gb", 2}, {"en", 2}}},
		{Identifier: "a/en-us", Languages: []espeak.Language{{"en-us", 2}, {"en", 3}}},
		{Identifier: "b/fr", Languages: []espeak.Language{{"fr-fr", 5}}},
		{Identifier: "b/fr-be", Languages: []espeak.Language{{"fr-be", 3}}},
	}
	for tag, want := range map[string]string{
		"en": "a/en-us", "en-AU": "a/en", "EN-us": "a/en-us", "fr": "b/fr-be", "fr-FR": "b/fr", "de": "",
	} {
		v, ok := espeak.Pick(voices, tag)
		if v.Identifier != want || ok != (want != "") {
			t.Errorf("Pick(%q) = %q, %v; want %q", tag, v.Identifier, ok, want)
		}
	}
}

func ExamplePick() {
	voices := []espeak.Voice{
		{Name: "Chinese (Mandarin)", Identifier: "sit/cmn", Languages: []espeak.Language{{Tag: "cmn", Priority: 5}}},
		{Name: "German", Identifier: "gmw/de", Languages: []espeak.Language{{Tag: "de", Priority: 5}}},
	}
	for _, tag := range []string{"zh-CN", "de-AT"} {
		v, _ := espeak.Pick(voices, tag)
		fmt.Println(tag, "->", v.Name)
	}
	// Output:
	// zh-CN -> Chinese (Mandarin)
	// de-AT -> German
}

// TestConcurrent synthesises different texts and languages at once: each
// caller gets audio of about the length it gets alone. (eSpeak varies its
// output a little from run to run.)
func TestConcurrent(t *testing.T) {
	s, err := espeak.New()
	if err != nil {
		t.Fatal(err)
	}
	reqs := []pipeline.SpeechRequest{
		{Text: "Good morning.", Language: "en"},
		{Text: "Guten Morgen, wie geht es Ihnen?", Language: "de"},
		{Text: "Buenos días.", Language: "es"},
	}
	alone := make([][]int16, len(reqs))
	for i, req := range reqs {
		alone[i] = speak(t, s, req).Samples
	}
	var wg sync.WaitGroup
	for range 3 {
		for i, req := range reqs {
			wg.Go(func() {
				var got []int16
				for fr, err := range s.Synthesize(context.Background(), req) {
					if err != nil {
						t.Error(err)
						return
					}
					got = append(got, fr.Samples...)
				}
				if d := len(got) - len(alone[i]); 100*max(d, -d) > 3*len(alone[i]) {
					t.Errorf("%+v: %d samples, %d made alone", req, len(got), len(alone[i]))
				}
			})
		}
	}
	wg.Wait()
}
