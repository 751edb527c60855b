package cbstream_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/internal/cbstream"
	"github.com/harkvoice/hark/codecs/pcm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func frame(n int) pcm.Frame { return pcm.Frame{Samples: make([]int16, n), Format: pcm.Mono16k} }

func collect(ctx context.Context, synth func(*cbstream.Stream) error, stopAfter int) ([]pcm.Frame, error) {
	var got []pcm.Frame
	var last error
	cbstream.Run(ctx, func(fr pcm.Frame, err error) bool {
		if err != nil {
			last = err
			return false
		}
		got = append(got, fr)
		return len(got) != stopAfter
	}, synth)
	return got, last
}

func TestRunTimestamps(t *testing.T) {
	got, err := collect(t.Context(), func(s *cbstream.Stream) error {
		for _, n := range []int{160, 320, 80} {
			s.Push(frame(n))
		}
		return nil
	}, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d frames, %v", len(got), err)
	}
	for i, want := range []time.Duration{0, 10 * time.Millisecond, 30 * time.Millisecond} {
		if got[i].Timestamp != want {
			t.Errorf("frame %d at %v, want %v", i, got[i].Timestamp, want)
		}
	}
}

func TestRunEngineError(t *testing.T) {
	boom := errors.New("engine failed")
	got, err := collect(t.Context(), func(s *cbstream.Stream) error {
		s.Push(frame(160))
		return boom
	}, 0)
	if len(got) != 1 || !errors.Is(err, boom) {
		t.Errorf("%d frames, %v; want 1 and the engine's error", len(got), err)
	}
}

// A consumer that stops makes Push report false, and Run waits for the
// engine to return.
func TestRunConsumerStops(t *testing.T) {
	returned := false
	got, _ := collect(t.Context(), func(s *cbstream.Stream) error {
		for s.Push(frame(160)) {
			time.Sleep(time.Millisecond)
		}
		returned = s.Stopped()
		return nil
	}, 2)
	if len(got) != 2 || !returned {
		t.Errorf("%d frames, engine saw the stop: %v", len(got), returned)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(t.Context())
	why := errors.New("barge-in")
	_, err := collect(ctx, func(s *cbstream.Stream) error {
		cancel(why)
		for !s.Stopped() {
			time.Sleep(time.Millisecond)
		}
		return nil
	}, 0)
	if !errors.Is(err, why) {
		t.Errorf("got %v, want the context's cause", err)
	}
}
