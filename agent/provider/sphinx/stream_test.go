package sphinx_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/provider/sphinx"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestStream(t *testing.T) {
	r := shared(t)
	fr := readWAV(t, "../../../testdata/speech/order_rms.wav")
	want := "where is my order one two three four"

	st, err := r.StartStream(context.Background(), pcm.Mono16k, "en-US")
	if err != nil {
		t.Fatal(err)
	}
	// 20 ms writes, as a session sends them; partial results grow.
	var partials []string
	for off := 0; off < len(fr.Samples); off += 320 {
		if err := st.Write(fr.Samples[off:min(off+320, len(fr.Samples))]); err != nil {
			t.Fatal(err)
		}
		if p := st.Partial().Text; p != "" && (len(partials) == 0 || partials[len(partials)-1] != p) {
			partials = append(partials, p)
		}
		time.Sleep(time.Millisecond)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if p := st.Partial().Text; p != "" && (len(partials) == 0 || partials[len(partials)-1] != p) {
			partials = append(partials, p)
			if p == want {
				break
			}
		}
	}
	tr, err := st.Close()
	if err != nil || tr.Text != want || !tr.Final {
		t.Errorf("final %+v, %v; want %q", tr, err, want)
	}
	if len(partials) == 0 {
		t.Error("no partial result while the audio arrived")
	}
	t.Logf("partials: %q", partials)
	if again, err := st.Close(); err != nil || again != tr {
		t.Errorf("second Close: %+v, %v", again, err)
	}
	if err := st.Write(fr.Samples[:320]); !errors.Is(err, sphinx.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if st.Partial().Text != want {
		t.Errorf("Partial after Close: %q", st.Partial().Text)
	}

	// The decoder went back to the pool: a batch call gets it.
	if tr, err := r.Transcribe(context.Background(), fr, ""); err != nil || tr.Text != want {
		t.Errorf("after the stream: %+v, %v", tr, err)
	}
}

// writeFrames writes samples in 20 ms frames.
func writeFrames(t *testing.T, st pipeline.STTStream, samples []int16) {
	t.Helper()
	for off := 0; off < len(samples); off += 320 {
		if err := st.Write(samples[off:min(off+320, len(samples))]); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFinal polls the partial result until it is final.
func waitFinal(t *testing.T, st pipeline.STTStream) pipeline.Transcript {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if tr := st.Partial(); tr.Final {
			return tr
		}
	}
	t.Fatalf("partial %+v never final", st.Partial())
	return pipeline.Transcript{}
}

func TestStreamCommit(t *testing.T) {
	r := shared(t)
	order := readWAV(t, "../../../testdata/speech/order_rms.wav")
	timer := readWAV(t, "../../../testdata/speech/timer_awb.wav")
	st, err := r.StartStream(context.Background(), pcm.Mono16k, "en")
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, st, order.Samples)
	st.(pipeline.StreamCommitter).Commit()
	if tr := waitFinal(t, st); tr.Text != "where is my order one two three four" {
		t.Errorf("committed partial %+v", tr)
	}
	// More audio: the words so far stay, the new ones join them.
	writeFrames(t, st, timer.Samples)
	if tr := st.Partial(); tr.Final {
		t.Errorf("partial %+v final after more audio", tr)
	}
	tr, err := st.Close()
	if want := "where is my order one two three four set a timer for five minutes"; err != nil || tr.Text != want || !tr.Final {
		t.Errorf("final %+v, %v; want %q", tr, err, want)
	}
}

func TestStreamAbort(t *testing.T) {
	r := shared(t)
	fr := readWAV(t, "../../../testdata/speech/order_rms.wav")
	st, err := r.StartStream(context.Background(), pcm.Mono16k, "en")
	if err != nil {
		t.Fatal(err)
	}
	writeFrames(t, st, fr.Samples)
	st.(pipeline.StreamAborter).Abort()
	if _, err := st.Close(); !errors.Is(err, pipeline.ErrAborted) {
		t.Errorf("Close after Abort: %v", err)
	}
	// The decoder went back to the pool.
	if tr, err := r.Transcribe(context.Background(), fr, ""); err != nil || tr.Text != "where is my order one two three four" {
		t.Errorf("after the aborted stream: %+v, %v", tr, err)
	}
}

func TestStreamStereo48k(t *testing.T) {
	r := shared(t)
	fr := readWAV(t, "../../../testdata/speech/timer_awb.wav")
	// Upsample to 48 kHz stereo by repeating samples: crude, but it keeps
	// the speech below 8 kHz intact.
	var wide []int16
	for _, s := range fr.Samples {
		for range 3 {
			wide = append(wide, s, s)
		}
	}
	st, err := r.StartStream(context.Background(), pcm.Format{Rate: 48000, Channels: 2}, "")
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(wide); off += 1920 {
		if err := st.Write(wide[off:min(off+1920, len(wide))]); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := st.Close()
	if err != nil || tr.Text != "set a timer for five minutes" {
		t.Errorf("48 kHz stereo: %+v, %v", tr, err)
	}
}

func TestStreamCancel(t *testing.T) {
	r, err := sphinx.New(sphinx.WithDecoders(1))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.StartStream(context.Background(), pcm.Mono16k, "de"); !errors.Is(err, sphinx.ErrLanguage) {
		t.Errorf("German: %v, want ErrLanguage", err)
	}
	if _, err := r.StartStream(context.Background(), pcm.Format{}, ""); !errors.Is(err, pcm.ErrFormat) {
		t.Errorf("no format: %v, want pcm.ErrFormat", err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	st, err := r.StartStream(ctx, pcm.Mono16k, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(readWAV(t, "../../../testdata/speech/stop_slt.wav").Samples); err != nil {
		t.Fatal(err)
	}
	// A partial result shows the stream has the only decoder.
	for deadline := time.Now().Add(30 * time.Second); st.Partial().Text == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no partial result")
		}
	}
	// The only decoder is taken: a second stream starts at once, queues
	// its audio and waits for a decoder until its context gives up.
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	waiting, err := r.StartStream(short, pcm.Mono16k, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := waiting.Write(make([]int16, 320)); err != nil {
		t.Errorf("Write while waiting for a decoder: %v", err)
	}
	if _, err := waiting.Close(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("busy pool: %v, want the deadline", err)
	}
	hungUp := errors.New("hung up")
	cancel(hungUp)
	if _, err := st.Close(); !errors.Is(err, hungUp) {
		t.Errorf("Close after cancel: %v, want the cause", err)
	}
	// The cancelled stream gave its decoder back.
	if _, err := r.Transcribe(context.Background(), pcm.Frame{Samples: make([]int16, 1600), Format: pcm.Mono16k}, ""); err != nil {
		t.Errorf("after a cancelled stream: %v", err)
	}
}
