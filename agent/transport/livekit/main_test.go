package livekit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	lklog "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/livekit/livekittest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// envChild makes the test binary a worker process (for the test that kills
// one); its value is the server URL.
const envChild = "HARK_LIVEKIT_TEST_WORKER"

// agentName is the agent name the test workers register.
const agentName = "hark-test"

// unavailable says why the tests that need livekit-server cannot run.
var unavailable error

func TestMain(m *testing.M) {
	lksdk.SetLogger(lklog.GetDiscardLogger())
	if url := os.Getenv(envChild); url != "" {
		os.Exit(childWorker(url))
	}
	if !livekittest.Isolated() {
		if _, err := livekittest.ServerPath(); err != nil {
			unavailable = err
		} else if err := livekittest.CanIsolate(); err != nil {
			unavailable = err
		} else {
			code, err := livekittest.Isolate()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(code)
		}
	}
	goleak.VerifyTestMain(m, leakOptions()...)
}

// leakOptions ignores goroutines the LiveKit SDK and pion leave running
// for a while after a room is left.
func leakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/livekit/server-sdk-go/v2.(*RTCEngine).startICECandidateTimer"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/nack.(*GeneratorInterceptor).loop"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/report.(*SenderInterceptor).loop"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/report.(*ReceiverInterceptor).loop"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/twcc.(*SenderInterceptor).loop"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/twcc.(*HeaderExtensionInterceptor).loop"),
		goleak.IgnoreAnyFunction("github.com/pion/interceptor/pkg/rtpfb.(*Interceptor).loop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	}
}

// needServer skips or fails t when livekit-server cannot run: without the
// binary a local run skips, CI fails.
func needServer(t *testing.T) {
	t.Helper()
	if livekittest.Isolated() {
		return
	}
	if os.Getenv("CI") != "" || !errors.Is(unavailable, livekittest.ErrNoServer) {
		t.Fatalf("livekit-server cannot run: %v", unavailable)
	}
	t.Skipf("skipping: %v", unavailable)
}

// startServer starts livekit-server for t on port.
func startServer(t *testing.T, port int) *livekittest.Server {
	t.Helper()
	srv, err := livekittest.StartServer(context.Background(), port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", srv.Logs())
		}
	})
	return srv
}

// speech loads a clip of testdata/speech at 48 kHz, after lead silence.
func speech(tb testing.TB, name string, lead time.Duration) []int16 {
	tb.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "..", "..", "testdata", "speech", name))
	if err != nil {
		tb.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono48k); err != nil {
		tb.Fatal(err)
	}
	return append(make([]int16, pcm.Mono48k.Samples(lead)), fr.Samples...)
}

// onset returns where the first 10 ms above -40 dBFS begins in a 48 kHz
// clip.
func onset(clip []int16) time.Duration {
	n := pcm.Mono48k.Samples(10 * time.Millisecond)
	for i := 0; i+n <= len(clip); i += n {
		if pcm.DBFS(clip[i:i+n]) > -40 {
			return pcm.Mono48k.Duration(i)
		}
	}
	return 0
}

const (
	question = "where is my order one two three four"
	reply    = "Thank you for calling. Your order one two three four shipped yesterday " +
		"and should arrive on Friday. Is there anything else I can help you with today?"
)

// newVAD returns Silero, or agenttest's level detector without the model.
func newVAD(tb testing.TB) func() (vad.Model, error) {
	w, err := silero.Load()
	if err != nil {
		tb.Logf("using a level VAD: %v", err)
		return agenttest.NewLevelModel()
	}
	return func() (vad.Model, error) { return w.NewModel(16000) }
}

// scriptedSessions returns a NewSessionFunc running a Hark session with a
// scripted recogniser (a long utterance is the question, a short one
// "stop"), a scripted LLM giving the reply, and the fake TTS.
func scriptedSessions(newVAD func() (vad.Model, error)) NewSessionFunc {
	return func(_ Job, c *Conn) (Session, error) {
		stt := &agenttest.STT{Fn: func(_ context.Context, audio pcm.Frame, _ string) (pipeline.Transcript, error) {
			text := "stop"
			if audio.Duration() > 1500*time.Millisecond {
				text = question
			}
			return pipeline.Transcript{Text: text, Final: true}, nil
		}}
		return agent.New(c, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text(reply), agenttest.Text(reply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(newVAD))
	}
}

// childWorker runs a worker process until it is killed.
func childWorker(url string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w, err := NewWorker(url, livekittest.APIKey, livekittest.APISecret, scriptedSessions(agenttest.NewLevelModel()),
		WithAgentName(agentName), WithMaxJobs(10), WithLogger(log), WithPingInterval(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		<-w.Ready()
		fmt.Println("ready")
	}()
	if err := w.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testLogger returns a logger writing to stderr when HARK_LIVEKIT_VERBOSE
// is set, else nowhere.
func testLogger() *slog.Logger {
	var out io.Writer = io.Discard
	if os.Getenv("HARK_LIVEKIT_VERBOSE") != "" {
		out = os.Stderr
	}
	return slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
