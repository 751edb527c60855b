package agent_test

import (
	"context"
	"io"
	"runtime"
	"runtime/debug"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// phoneLine is a transport for TestConversationAllocations: an 8 kHz
// microphone that says utterance, then is silent for pause, over and over
// (a caller who does not wait for the whole answer), a frame every 20 ms of
// (fake) time; and a speaker that discards what it is given.
type phoneLine struct {
	utterance []int16
	pause     int // frames of silence after the utterance
	pos       int // into utterance; -1 while silent
	quiet     int // frames of silence left before speaking again
	silence   []int16
	frame     []int16
}

func (p *phoneLine) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	time.Sleep(pipeline.FrameDuration)
	if ctx.Err() != nil {
		return pcm.Frame{}, io.EOF
	}
	n := len(p.silence)
	out := p.silence
	switch {
	case p.pos >= 0:
		out = append(p.frame[:0], p.utterance[p.pos:min(p.pos+n, len(p.utterance))]...)
		out = append(out, p.silence[len(out):]...)
		if p.pos += n; p.pos >= len(p.utterance) {
			p.pos, p.quiet = -1, p.pause
		}
	case p.quiet > 0:
		p.quiet--
	default:
		p.pos = 0
	}
	return pcm.Frame{Format: pcm.Mono8k, Samples: out}, nil
}

func (p *phoneLine) WriteAudio(context.Context, pcm.Frame) error { return nil }
func (p *phoneLine) OutputFormat() pcm.Format                    { return pcm.Mono8k }
func (p *phoneLine) Flush(context.Context) error                 { return nil }

// maxExchangeBytes bounds what one steady exchange allocates.
const maxExchangeBytes = 96 << 10

// TestConversationAllocations measures what a phone session allocates in
// steady conversation: the per-call memory churn that sets how often the
// garbage collector runs on a loaded server, whose mark phase on one core
// delays every call's playout. One exchange is the caller's question and
// the agent's 3.5 s reply, on the engines the capacity bench uses (Silero
// at 8 kHz, a fixed transcript, reply and speech), in fake time.
func TestConversationAllocations(t *testing.T) {
	w, err := silero.Load()
	if err != nil {
		t.Skipf("Silero model not available (run make deps): %v", err)
	}
	question, err := resample.Frame(pcm.Frame{Format: pcm.Mono16k, Samples: speechClip(t, "timer_awb.wav")}, pcm.Mono8k)
	if err != nil {
		t.Fatal(err)
	}
	engines := agenttest.Fixed(speechClip(t, "agent_reply_slt.wav"), 3500*time.Millisecond)
	synctest.Test(t, func(t *testing.T) {
		// The capacity bench's callers: the question, then 5 s of silence,
		// in which the reply of two 3.5 s chunks is interrupted.
		line := &phoneLine{utterance: question.Samples, pause: 250, pos: -1, quiet: 10,
			silence: make([]int16, 160), frame: make([]int16, 0, 160)}
		done := make(chan struct{}, 1)
		s, err := agent.New(line, append(engines, agent.WithPreset(agent.PresetPhone),
			agent.WithVAD(func() (vad.Model, error) { return w.NewModel(8000) }),
			agent.WithEventHandler(func(ev agent.Event) {
				if ev.Type == agent.EventUserFinal {
					done <- struct{}{}
				}
			}))...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		ended := make(chan error, 1)
		go func() { ended <- s.Run(ctx) }()
		// Warm up: the session's buffers reach their working size.
		for range 3 {
			<-done
		}
		// No collection meanwhile, as on a server whose heap is large
		// beside what it allocates (pooled storage survives it).
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const exchanges = 20
		for range exchanges {
			<-done
		}
		runtime.ReadMemStats(&after)
		cancel()
		<-ended
		per := (after.TotalAlloc - before.TotalAlloc) / exchanges
		t.Logf("%d bytes, %d allocations per exchange", per, (after.Mallocs-before.Mallocs)/exchanges)
		if per > maxExchangeBytes && !raceEnabled { // the race detector allocates too
			t.Errorf("a steady exchange allocates %d bytes, want at most %d", per, maxExchangeBytes)
		}
	})
}
