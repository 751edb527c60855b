package flite_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/flite"
	"github.com/harkvoice/hark/agent/provider/sphinx"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// speak collects all audio of one request.
func speak(t testing.TB, s *flite.Synthesizer, req pipeline.SpeechRequest) pcm.Frame {
	t.Helper()
	var all pcm.Frame
	for fr, err := range s.Synthesize(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		if fr.Format != pcm.Mono16k {
			t.Fatalf("format %s, want %s", fr.Format, pcm.Mono16k)
		}
		if want := pcm.Mono16k.Duration(len(all.Samples)); fr.Timestamp != want {
			t.Fatalf("timestamp %v, want %v", fr.Timestamp, want)
		}
		all.Format = fr.Format
		all.Samples = append(all.Samples, fr.Samples...)
	}
	return all
}

func TestSynthesizeVoices(t *testing.T) {
	s, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	// Eight words at a normal speaking rate last two to four seconds.
	const text = "Your order shipped yesterday and arrives on Friday."
	for _, v := range flite.Voices {
		t.Run(v, func(t *testing.T) {
			fr := speak(t, s, pipeline.SpeechRequest{Text: text, Voice: v, Language: "en-US"})
			d := fr.Duration()
			if d < 2*time.Second || d > 4500*time.Millisecond {
				t.Errorf("duration %v, want 2 s to 4.5 s", d)
			}
			if db := pcm.DBFS(fr.Samples); db < -35 {
				t.Errorf("level %.1f dBFS: silent", db)
			}
			t.Logf("%s: %v, %.1f dBFS", v, d, pcm.DBFS(fr.Samples))
		})
	}
}

func TestSynthesizeStreamsSentences(t *testing.T) {
	s, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	one := speak(t, s, pipeline.SpeechRequest{Text: "Thank you for calling."})
	var frames, samples int
	for fr, err := range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: "Thank you for calling. Is there anything else I can help you with today?"}) {
		if err != nil {
			t.Fatal(err)
		}
		frames++
		samples += len(fr.Samples)
	}
	if samples < 2*len(one.Samples) {
		t.Errorf("two sentences gave %d samples, the first alone %d", samples, len(one.Samples))
	}
	if frames < 10 {
		t.Errorf("%d frames: audio is not streamed in pieces", frames)
	}
}

func TestRecognisedBySphinx(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the recogniser")
	}
	r, err := sphinx.New(sphinx.WithDecoders(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	const text = "what are your shipping times to canada"
	fr := speak(t, s, pipeline.SpeechRequest{Text: text, Voice: "rms"})
	tr, err := r.Transcribe(context.Background(), fr, "en")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != text {
		t.Errorf("recognised %q, want %q", tr.Text, text)
	}
}

func TestCancel(t *testing.T) {
	s, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("This sentence is one of many that make a very long reply. ", 40)
	full := 40 * 4 * time.Second / 2 // far more than what arrives before the cancel

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
	if got >= full/4 {
		t.Errorf("%v of audio after cancel", got)
	}

	// Stopping the loop early also ends synthesis (goleak checks the
	// goroutine is gone).
	for range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: long}) {
		break
	}
}

func TestErrors(t *testing.T) {
	if _, err := flite.New(flite.WithVoice("hal9000")); !errors.Is(err, flite.ErrVoice) {
		t.Errorf("New with a bad voice: %v, want ErrVoice", err)
	}
	s, err := flite.New(flite.WithVoice("awb"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  pipeline.SpeechRequest
		want error
	}{
		{pipeline.SpeechRequest{Text: "Hallo", Language: "de"}, flite.ErrLanguage},
		{pipeline.SpeechRequest{Text: "Hello", Voice: "nobody"}, flite.ErrVoice},
	} {
		var got error
		for _, err := range s.Synthesize(context.Background(), tc.req) {
			got = err
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.req, got, tc.want)
		}
	}
	for range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: " ... "}) {
		t.Error("punctuation alone made audio")
	}
}

func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello.", []string{"Hello."}},
		{"Hi there! How are you? Fine.", []string{"Hi there!", "How are you?", "Fine."}},
		{"It costs 3.50 dollars. Ok", []string{"It costs 3.50 dollars.", "Ok"}},
		{" ... ", nil},
	} {
		got := flite.Sentences(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Sentences(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkFirstAudio measures the time to the first audio and the whole
// synthesis as the real-time factor: for a two-sentence reply (streamed
// sentence by sentence) and for one long sentence (streamed by Flite's
// callback while the sentence is made).
func BenchmarkFirstAudio(b *testing.B) {
	s, err := flite.New()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, text string }{
		{"two-sentences", "Thank you for calling. Your order one two three four shipped yesterday and should arrive on Friday."},
		{"long-sentence", "Your order of running shoes left our warehouse in Ohio on Tuesday morning with the express carrier and should reach your door on Friday afternoon unless the storm in the mountains delays the trucks by a day or two."},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := pipeline.SpeechRequest{Text: bc.text}
			var first, total, audio time.Duration
			for b.Loop() {
				start := time.Now()
				seen := false
				for fr, err := range s.Synthesize(context.Background(), req) {
					if err != nil {
						b.Fatal(err)
					}
					if !seen {
						first += time.Since(start)
						seen = true
					}
					audio += fr.Duration()
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(first.Microseconds())/float64(b.N), "µs-first-audio")
			b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-total")
			b.ReportMetric(total.Seconds()/audio.Seconds(), "real-time-factor")
		})
	}
}

func ExampleSentences() {
	for _, s := range flite.Sentences("Your order shipped. It arrives Friday!") {
		fmt.Println(s)
	}
	// Output:
	// Your order shipped.
	// It arrives Friday!
}

// BenchmarkCancel measures how long a cancelled synthesis takes to stop:
// from the cancel to the end of the loop, with the synthesis goroutine gone.
func BenchmarkCancel(b *testing.B) {
	s, err := flite.New()
	if err != nil {
		b.Fatal(err)
	}
	req := pipeline.SpeechRequest{Text: strings.Repeat("This sentence is one of many that make a long reply. ", 10)}
	var stop time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var at time.Time
		for _, err := range s.Synthesize(ctx, req) {
			if err != nil {
				break
			}
			if at.IsZero() {
				at = time.Now()
				cancel()
			}
		}
		stop += time.Since(at)
		cancel()
	}
	b.ReportMetric(float64(stop.Microseconds())/float64(b.N), "µs-to-stop")
}

// TestConcurrent synthesises different texts at once: each caller gets
// audio of the length it gets alone. (Flite's voices add random noise, so
// the samples themselves differ from run to run.)
func TestConcurrent(t *testing.T) {
	s, err := flite.New()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"One. Two.", "The quick brown fox.", "Your order has shipped. It arrives Friday.", "Hello there."}
	alone := make([][]int16, len(texts))
	for i, text := range texts {
		alone[i] = speak(t, s, pipeline.SpeechRequest{Text: text, Voice: flite.Voices[i%len(flite.Voices)]}).Samples
	}
	var wg sync.WaitGroup
	for round := range 3 {
		for i, text := range texts {
			wg.Go(func() {
				var got []int16
				for fr, err := range s.Synthesize(context.Background(), pipeline.SpeechRequest{Text: text, Voice: flite.Voices[i%len(flite.Voices)]}) {
					if err != nil {
						t.Error(err)
						return
					}
					got = append(got, fr.Samples...)
				}
				if len(got) != len(alone[i]) {
					t.Errorf("round %d, %q: %d samples, %d made alone", round, text, len(got), len(alone[i]))
				}
			})
		}
	}
	wg.Wait()
}
