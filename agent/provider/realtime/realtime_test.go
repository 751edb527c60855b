package realtime_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup starts a fake server and a recogniser for it.
func setup(t *testing.T, opts ...realtime.Option) (*realtimetest.Server, *realtime.Recognizer) {
	t.Helper()
	srv := realtimetest.NewServer()
	t.Cleanup(srv.Close)
	r, err := realtime.New(append([]realtime.Option{realtime.WithBaseURL(srv.URL), realtime.WithAPIKey("test-key")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, r
}

// tone returns d of a 16 kHz tone.
func tone(d time.Duration) []int16 {
	out := make([]int16, pcm.Mono16k.Samples(d))
	for i := range out {
		out[i] = int16(5000 * math.Sin(2*math.Pi*300*float64(i)/16000))
	}
	return out
}

// write sends audio in 20 ms frames.
func write(t *testing.T, st pipeline.STTStream, audio []int16) {
	t.Helper()
	for len(audio) > 0 {
		n := min(len(audio), 320)
		if err := st.Write(audio[:n]); err != nil {
			t.Fatal(err)
		}
		audio = audio[n:]
	}
}

// waitPartial polls the partial result until it reads want.
func waitPartial(t *testing.T, st pipeline.STTStream, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st.Partial().Text != want {
		if time.Now().After(deadline) {
			t.Fatalf("partial %q, want %q", st.Partial().Text, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestStream(t *testing.T) {
	srv, r := setup(t, realtime.WithModel("gpt-4o-mini-transcribe"), realtime.WithPrompt("order numbers"))
	srv.RequireAPIKey("test-key")
	release := make(chan struct{})
	srv.Transcription(realtimetest.Reply{Text: "Where is my order?", Release: release})
	st, err := r.StartStream(context.Background(), pcm.Mono16k, "en-US")
	if err != nil {
		t.Fatal(err)
	}
	write(t, st, tone(time.Second))
	st.(*realtime.Stream).Commit()
	// The deltas arrive as the partial result before the transcript is
	// complete.
	waitPartial(t, st, "Where is my order?")
	if tr := st.Partial(); tr.Final || tr.Language != "en" {
		t.Errorf("partial %+v", tr)
	}
	close(release)
	tr, err := st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if tr != (pipeline.Transcript{Text: "Where is my order?", Language: "en", Final: true}) {
		t.Errorf("final %+v", tr)
	}
	conns := srv.Connections()
	if len(conns) != 1 {
		t.Fatalf("%d connections", len(conns))
	}
	c := conns[0]
	if c.Query.Get("intent") != "transcription" || c.Query.Has("model") {
		t.Errorf("query %v", c.Query)
	}
	if got := c.Header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("Authorization %q", got)
	}
	if len(c.Events) == 0 || c.Events[0] != realtimeapi.TypeSessionUpdate {
		t.Fatalf("events %v", c.Events)
	}
	in := c.Sessions[0].Audio.Input
	if c.Sessions[0].Type != realtimeapi.SessionTranscription || *in.Format != (realtimeapi.AudioFormat{Type: realtimeapi.FormatPCM, Rate: 24000}) ||
		*in.Transcription != (realtimeapi.Transcription{Model: "gpt-4o-mini-transcribe", Language: "en", Prompt: "order numbers"}) ||
		in.TurnDetection != realtimeapi.NoTurnDetection {
		t.Errorf("session %+v, input %+v", c.Sessions[0], in)
	}
	if len(c.Commits) != 1 {
		t.Fatalf("%d commits", len(c.Commits))
	}
	// One second at 16 kHz becomes one second at 24 kHz, less the
	// resampler's delay.
	if d := c.Commits[0].Duration; d < 990*time.Millisecond || d > time.Second {
		t.Errorf("committed %v of audio", d)
	}
}

func TestFormats(t *testing.T) {
	for _, tt := range []struct {
		format string
		in     pcm.Format
		bytes  int // per second
	}{
		{realtimeapi.FormatPCM, pcm.Format{Rate: 24000, Channels: 1}, 48000},
		{realtimeapi.FormatPCMU, pcm.Format{Rate: 8000, Channels: 1}, 8000},
		{realtimeapi.FormatPCMA, pcm.Mono16k, 8000},
	} {
		t.Run(tt.format, func(t *testing.T) {
			srv, r := setup(t, realtime.WithFormat(tt.format))
			st, err := r.StartStream(context.Background(), tt.in, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Write(make([]int16, tt.in.Rate/2)); err != nil {
				t.Fatal(err)
			}
			if tr, err := st.Close(); err != nil || tr.Text != "hello" || tr.Language != "" {
				t.Fatalf("Close = %+v, %v", tr, err)
			}
			c := srv.Connections()[0]
			if f := c.Sessions[0].Audio.Input.Format; f.Type != tt.format || c.Sessions[0].Audio.Input.Transcription.Language != "" {
				t.Errorf("session format %+v", f)
			}
			got := len(c.Commits[0].Audio)
			if want := tt.bytes / 2; got > want || got < want*97/100 {
				t.Errorf("%d bytes for half a second, want about %d", got, want)
			}
		})
	}
}

func TestPieces(t *testing.T) {
	srv, r := setup(t)
	srv.Transcription(realtimetest.Reply{Text: "one two"}, realtimetest.Reply{Text: "three"})
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "en")
	write(t, st, tone(600*time.Millisecond))
	st.(*realtime.Stream).Commit()
	waitPartial(t, st, "one two")
	write(t, st, tone(400*time.Millisecond))
	write(t, st, tone(50 * time.Millisecond)[:0])
	tr, err := st.Close()
	if err != nil || tr.Text != "one two three" {
		t.Fatalf("Close = %+v, %v", tr, err)
	}
	if n := len(srv.Commits()); n != 2 {
		t.Errorf("%d commits, want 2", n)
	}
}

func TestCommittedPartialIsFinal(t *testing.T) {
	_, r := setup(t)
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "en")
	write(t, st, tone(500*time.Millisecond))
	if tr := st.Partial(); tr.Final {
		t.Fatalf("partial %+v before any commit", tr)
	}
	st.(*realtime.Stream).Commit()
	waitFinal(t, st, "hello")
	// Audio written after the commit is not covered until committed too.
	write(t, st, tone(200*time.Millisecond))
	if tr := st.Partial(); tr.Final {
		t.Errorf("partial %+v after more audio", tr)
	}
	st.(*realtime.Stream).Commit()
	waitFinal(t, st, "hello hello")
	if tr, err := st.Close(); err != nil || tr.Text != "hello hello" {
		t.Fatalf("Close = %+v, %v", tr, err)
	}
}

// waitFinal polls the partial result until it is final and reads want.
func waitFinal(t *testing.T, st pipeline.STTStream, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tr := st.Partial(); !tr.Final || tr.Text != want; tr = st.Partial() {
		if time.Now().After(deadline) {
			t.Fatalf("partial %+v, want %q final", tr, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAbort(t *testing.T) {
	srv, r := setup(t)
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "en")
	write(t, st, tone(500*time.Millisecond))
	// Wait until the audio is on the wire, then abort: nothing is committed.
	deadline := time.Now().Add(10 * time.Second)
	for c := srv.Connections(); len(c) == 0 || !slices.Contains(c[0].Events, realtimeapi.TypeInputAudioBufferAppend); c = srv.Connections() {
		if time.Now().After(deadline) {
			t.Fatal("no audio appended")
		}
		time.Sleep(2 * time.Millisecond)
	}
	st.(pipeline.StreamAborter).Abort()
	if _, err := st.Close(); !errors.Is(err, pipeline.ErrAborted) {
		t.Errorf("Close after Abort: %v", err)
	}
	if n := len(srv.Commits()); n != 0 {
		t.Errorf("%d commits after Abort", n)
	}
}

func TestCommitEvery(t *testing.T) {
	srv, r := setup(t, realtime.WithCommitEvery(time.Second))
	srv.Transcription(realtimetest.Reply{Text: "a"}, realtimetest.Reply{Text: "b"}, realtimetest.Reply{Text: "c"})
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "")
	write(t, st, tone(1100*time.Millisecond))
	waitPartial(t, st, "a")
	write(t, st, tone(1100*time.Millisecond))
	waitPartial(t, st, "a b")
	write(t, st, tone(300*time.Millisecond))
	if tr, err := st.Close(); err != nil || tr.Text != "a b c" {
		t.Fatalf("Close = %+v, %v", tr, err)
	}
}

func TestShortAudio(t *testing.T) {
	srv, r := setup(t)
	// Too little audio to commit: nothing is sent for transcription.
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "")
	write(t, st, tone(60*time.Millisecond))
	if tr, err := st.Close(); err != nil || tr.Text != "" || !tr.Final {
		t.Fatalf("Close = %+v, %v", tr, err)
	}
	// A short rest after a committed piece is dropped.
	st, _ = r.StartStream(context.Background(), pcm.Mono16k, "")
	write(t, st, tone(500*time.Millisecond))
	st.(*realtime.Stream).Commit()
	waitPartial(t, st, "hello")
	write(t, st, tone(40*time.Millisecond))
	if tr, err := st.Close(); err != nil || tr.Text != "hello" {
		t.Fatalf("Close = %+v, %v", tr, err)
	}
	if n := len(srv.Commits()); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
	if _, err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := st.Write(tone(20 * time.Millisecond)); !errors.Is(err, realtime.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
}

func TestBeta(t *testing.T) {
	srv, r := setup(t, realtime.WithBeta(), realtime.WithModel("Systran/faster-whisper-small"))
	srv.Beta(true)
	srv.Transcription(realtimetest.Reply{Text: "hola amigo"})
	tr, err := r.Transcribe(context.Background(), pcm.Frame{Samples: tone(time.Second), Format: pcm.Mono16k}, "es")
	if err != nil || tr.Text != "hola amigo" || tr.Language != "es" {
		t.Fatalf("Transcribe = %+v, %v", tr, err)
	}
	c := srv.Connections()[0]
	if c.Query.Get("intent") != "transcription" || c.Query.Get("model") != "Systran/faster-whisper-small" {
		t.Errorf("query %v", c.Query)
	}
	s := c.Sessions[0]
	if s.Audio != nil || s.Type != "" || *s.InputAudioTranscription != (realtimeapi.Transcription{Model: "Systran/faster-whisper-small", Language: "es"}) || s.TurnDetection != realtimeapi.NoTurnDetection {
		t.Errorf("session %+v", s)
	}
	if _, err := realtime.New(realtime.WithBeta(), realtime.WithFormat(realtimeapi.FormatPCMU)); !errors.Is(err, realtime.ErrInvalidOption) {
		t.Errorf("beta with G.711: %v", err)
	}
}

func TestURLModel(t *testing.T) {
	srv, r := setup(t, realtime.WithURLModel("whisper-pipeline"))
	if _, err := r.Transcribe(context.Background(), pcm.Frame{Samples: tone(time.Second), Format: pcm.Mono16k}, ""); err != nil {
		t.Fatal(err)
	}
	q := srv.Connections()[0].Query
	if q.Get("model") != "whisper-pipeline" || q.Has("intent") {
		t.Errorf("query %v", q)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    []realtime.Option
		refuse  []int
		replies []realtimetest.Reply
		want    error
		code    string // of the *realtimeapi.APIError
		status  int    // of the *realtime.HandshakeError
		conns   int
		text    string
	}{
		{name: "error event", replies: []realtimetest.Reply{{Error: &realtimeapi.APIError{Type: realtimeapi.ErrorServer, Code: "overloaded", Message: "busy"}}},
			want: realtime.ErrServer, code: "overloaded", conns: 1},
		{name: "failed", replies: []realtimetest.Reply{{Text: "x", Fail: &realtimeapi.APIError{Type: "transcription_error", Code: "audio_unintelligible"}}},
			want: realtime.ErrServer, code: "audio_unintelligible", conns: 1},
		{name: "drop then retry", replies: []realtimetest.Reply{{Text: "lost words here", Drop: true, DropAfter: 2}, {Text: "second try"}},
			conns: 2, text: "second try"},
		{name: "drop before any delta", replies: []realtimetest.Reply{{Text: "lost", Drop: true}, {Text: "again"}},
			conns: 2, text: "again"},
		{name: "drop twice", replies: []realtimetest.Reply{{Text: "a b", Drop: true, DropAfter: 1}, {Text: "a b", Drop: true, DropAfter: 1}},
			want: realtime.ErrConnectionLost, conns: 2},
		{name: "drop without retries", opts: []realtime.Option{realtime.WithRetries(0)}, replies: []realtimetest.Reply{{Text: "a b", Drop: true, DropAfter: 1}},
			want: realtime.ErrConnectionLost, conns: 1},
		{name: "refused", refuse: []int{http.StatusUnauthorized}, want: realtime.ErrConnect, status: http.StatusUnauthorized},
		{name: "server error then retry", refuse: []int{http.StatusBadGateway}, conns: 1, text: "hello"},
		{name: "server errors", refuse: []int{http.StatusBadGateway, http.StatusServiceUnavailable}, want: realtime.ErrConnect, status: http.StatusServiceUnavailable},
		{name: "slow", opts: []realtime.Option{realtime.WithTimeout(100 * time.Millisecond)}, replies: []realtimetest.Reply{{Text: "late", FirstDelay: time.Minute}},
			want: realtime.ErrTimeout, conns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, r := setup(t, tt.opts...)
			srv.Refuse(tt.refuse...)
			srv.Transcription(tt.replies...)
			st, _ := r.StartStream(context.Background(), pcm.Mono16k, "")
			// Writes fail once the stream has failed; Close tells why.
			_ = st.Write(tone(500 * time.Millisecond))
			tr, err := st.Close()
			if tt.want == nil {
				if err != nil || tr.Text != tt.text {
					t.Fatalf("Close = %+v, %v; want %q", tr, err, tt.text)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("Close = %+v, %v; want %v", tr, err, tt.want)
			}
			if tt.code != "" {
				var ae *realtimeapi.APIError
				if !errors.As(err, &ae) || ae.Code != tt.code {
					t.Errorf("error %v: want API error code %q", err, tt.code)
				}
			}
			if tt.status != 0 {
				var he *realtime.HandshakeError
				if !errors.As(err, &he) || he.StatusCode != tt.status {
					t.Errorf("error %v: want HTTP %d", err, tt.status)
				}
			}
			conns := srv.Connections()
			if len(conns) != tt.conns {
				t.Fatalf("%d connections, want %d", len(conns), tt.conns)
			}
			// A connection made again sends the untranscribed audio again.
			for _, c := range conns {
				if len(c.Commits) != 1 || c.Commits[0].Duration < 490*time.Millisecond {
					t.Errorf("commits %+v", c.Commits)
				}
			}
		})
	}
}

func TestWriteAfterFailure(t *testing.T) {
	srv, r := setup(t, realtime.WithCommitEvery(500*time.Millisecond))
	srv.Transcription(realtimetest.Reply{Error: &realtimeapi.APIError{Type: realtimeapi.ErrorInvalidRequest, Message: "bad model"}})
	st, _ := r.StartStream(context.Background(), pcm.Mono16k, "")
	write(t, st, tone(600*time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for st.Write(tone(20*time.Millisecond)) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Write never reported the failure")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := st.Close(); !errors.Is(err, realtime.ErrServer) {
		t.Errorf("Close: %v", err)
	}
}

func TestCancel(t *testing.T) {
	srv, r := setup(t)
	release := make(chan struct{})
	defer close(release)
	srv.Transcription(realtimetest.Reply{Text: "never finished", Release: release})
	ctx, cancel := context.WithCancelCause(context.Background())
	st, _ := r.StartStream(ctx, pcm.Mono16k, "")
	write(t, st, tone(500*time.Millisecond))
	st.(*realtime.Stream).Commit()
	waitPartial(t, st, "never finished")
	cause := errors.New("session over")
	cancel(cause)
	if _, err := st.Close(); !errors.Is(err, cause) {
		t.Errorf("Close after cancel: %v", err)
	}
	// A stream started on a cancelled context ends at once.
	st, _ = r.StartStream(ctx, pcm.Mono16k, "")
	_ = st.Write(tone(time.Second))
	if _, err := st.Close(); !errors.Is(err, cause) {
		t.Errorf("Close on a cancelled context: %v", err)
	}
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]realtime.Option{
		"base URL":     realtime.WithBaseURL("ftp://example.com"),
		"no host":      realtime.WithBaseURL("/v1"),
		"model":        realtime.WithModel(""),
		"format":       realtime.WithFormat("audio/opus"),
		"URL model":    realtime.WithURLModel(""),
		"timeout":      realtime.WithTimeout(0),
		"retries":      realtime.WithRetries(-1),
		"commit every": realtime.WithCommitEvery(100 * time.Millisecond),
		"dialer":       realtime.WithDialer(nil),
	} {
		if _, err := realtime.New(opt); !errors.Is(err, realtime.ErrInvalidOption) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for in, want := range map[string]string{
		"":                           "wss://api.openai.com/v1/realtime?intent=transcription",
		"http://127.0.0.1:8080/v1/":  "ws://127.0.0.1:8080/v1/realtime?intent=transcription",
		"wss://example.com/api/v1?x": "wss://example.com/api/v1/realtime?intent=transcription",
	} {
		var opts []realtime.Option
		if in != "" {
			opts = append(opts, realtime.WithBaseURL(in))
		}
		r, err := realtime.New(opts...)
		if err != nil || r.URL() != want {
			t.Errorf("%q: URL %q, %v; want %q", in, r.URL(), err, want)
		}
	}
	for _, tt := range []struct {
		opts []realtime.Option
		want string
	}{
		{[]realtime.Option{realtime.WithDialect(realtime.DialectOpenAI)}, "wss://api.openai.com/v1/realtime?intent=transcription"},
		{[]realtime.Option{realtime.WithDialect(realtime.DialectLocalAI), realtime.WithModel("whisper-1")}, "wss://api.openai.com/v1/realtime?model=whisper-1"},
		{[]realtime.Option{realtime.WithDialect(realtime.DialectSpeaches), realtime.WithModel("w")}, "wss://api.openai.com/v1/realtime?intent=transcription&model=w"},
	} {
		r, err := realtime.New(tt.opts...)
		if err != nil || r.URL() != tt.want {
			t.Errorf("URL %q, %v; want %q", r.URL(), err, tt.want)
		}
	}
	r, _ := realtime.New()
	if _, err := r.StartStream(context.Background(), pcm.Format{Rate: 7000, Channels: 1}, ""); err == nil {
		t.Error("StartStream accepted an unsupported rate")
	}
}

// BenchmarkWrite queues 20 ms of 16 kHz audio: resampling to 24 kHz and
// encoding, on the session loop's goroutine.
func BenchmarkWrite(b *testing.B) {
	srv := realtimetest.NewServer()
	defer srv.Close()
	r, err := realtime.New(realtime.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := r.StartStream(ctx, pcm.Mono16k, "en")
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		cancel()
		_, _ = st.Close()
	}()
	frame := tone(20 * time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
}
