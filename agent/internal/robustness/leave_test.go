package robustness

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// errGone is what the leaving transport's writes return once the client
// has gone.
var errGone = errors.New("client gone")

// leavingTransport is a client that hangs up: from then on its writes
// fail at once, while its reads deliver the few frames already received
// before they report io.EOF, as a socket reader draining its queue does.
type leavingTransport struct {
	once   sync.Once
	gone   chan struct{}
	frames int // frames read after the hang-up; used by ReadAudio only
}

func (t *leavingTransport) hangUp() { t.once.Do(func() { close(t.gone) }) }

func (t *leavingTransport) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	select {
	case <-ctx.Done():
		return pcm.Frame{}, context.Cause(ctx)
	case <-time.After(pipeline.FrameDuration):
	}
	select {
	case <-t.gone:
		if t.frames++; t.frames > 3 {
			return pcm.Frame{}, io.EOF
		}
	default:
	}
	return pcm.Frame{Format: pcm.Mono16k, Samples: make([]int16, 320)}, nil
}

func (t *leavingTransport) WriteAudio(context.Context, pcm.Frame) error {
	select {
	case <-t.gone:
		return errGone
	default:
		return nil
	}
}

func (t *leavingTransport) OutputFormat() pcm.Format { return pcm.Mono16k }

func (t *leavingTransport) Flush(context.Context) error { return nil }

// TestHangUpMidReply: a client that hangs up while the agent speaks is the
// normal end of a call, so Run must return nil (the transport's io.EOF),
// not the write error that the playout met first.
func TestHangUpMidReply(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := &leavingTransport{gone: make(chan struct{})}
	log := newEventLog()
	s, err := agent.New(tr,
		agent.WithSTT(agenttest.NewSTT()),
		agent.WithLLM(agenttest.NewLLM(agenttest.Text("Here is a long answer that takes a while to say."))),
		agent.WithTTS(&agenttest.TTS{}),
		agent.WithVAD(energyVAD),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
		agent.WithEventHandler(log.add),
	)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()
	s.SendText("tell me something")
	if _, _, err := log.wait(0, 10*time.Second, isType(agent.EventAgentText)); err != nil {
		tr.hangUp()
		<-ran
		t.Fatal(err)
	}
	tr.hangUp()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run returned %v after the client hung up, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the client hung up")
	}
}
