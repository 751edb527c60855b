package frameq

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// frame returns a 20 ms frame stamped at n × 20 ms.
func frame(n int) pcm.Frame {
	return pcm.Frame{Format: pcm.Mono8k, Samples: make([]int16, 160), Timestamp: time.Duration(n) * 20 * time.Millisecond}
}

// TestDropOldest fills a queue past its capacity: the newest frames stay,
// and the drops are reported at once, then at most once per interval,
// summed.
func TestDropOldest(t *testing.T) {
	now := time.Unix(0, 0)
	q := New(3, time.Second)
	q.now = func() time.Time { return now }
	for _, step := range []struct {
		push     int
		advance  time.Duration
		report   bool
		frames   int
		duration time.Duration
	}{
		{push: 0},
		{push: 1},
		{push: 2},
		{push: 3, report: true, frames: 1, duration: 20 * time.Millisecond}, // the first drop: at once
		{push: 4, advance: 500 * time.Millisecond},                          // within the interval: held back
		{push: 5, advance: 400 * time.Millisecond},
		{push: 6, advance: 200 * time.Millisecond, report: true, frames: 3, duration: 60 * time.Millisecond},
		{push: 7, advance: 100 * time.Millisecond},
	} {
		now = now.Add(step.advance)
		o, report := q.Push(frame(step.push))
		if report != step.report || o.Frames != step.frames || o.Audio != step.duration {
			t.Fatalf("push %d: report %v %+v, want %v %d frames %v", step.push, report, o, step.report, step.frames, step.duration)
		}
	}
	done := make(chan struct{})
	close(done)
	for _, want := range []int{5, 6, 7} {
		fr, err := q.Pop(context.Background(), done)
		if err != nil || fr.Timestamp != frame(want).Timestamp {
			t.Fatalf("pop: frame at %v, err %v; want frame %d", fr.Timestamp, err, want)
		}
	}
	if _, err := q.Pop(context.Background(), done); !errors.Is(err, io.EOF) {
		t.Fatalf("pop after the end: %v, want io.EOF", err)
	}
}

func TestPopCancelled(t *testing.T) {
	q := New(2, time.Second)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	cancel(stop)
	if _, err := q.Pop(ctx, make(chan struct{})); !errors.Is(err, stop) {
		t.Fatalf("pop: %v, want the context's cause", err)
	}
	// Ended together (a server shutdown ends the connection because its
	// context ended): the cause, never io.EOF, whichever Pop sees first.
	done := make(chan struct{})
	close(done)
	for range 200 {
		if _, err := q.Pop(ctx, done); !errors.Is(err, stop) {
			t.Fatalf("pop with done closed: %v, want the context's cause", err)
		}
	}
}

// TestRecycle follows the samples' storage round: a popped frame's is not
// handed out again until the next Pop, then Buffer reuses it, and a steady
// stream allocates nothing.
func TestRecycle(t *testing.T) {
	q := New(10, time.Second)
	ctx, done := context.Background(), make(chan struct{})
	push := func() []int16 {
		b := append(q.Buffer(160), make([]int16, 160)...)
		q.Push(pcm.Frame{Format: pcm.Mono8k, Samples: b})
		return b
	}
	pop := func() []int16 {
		fr, err := q.Pop(ctx, done)
		if err != nil {
			t.Fatal(err)
		}
		return fr.Samples
	}
	first := push()
	if got := pop(); &got[0] != &first[0] {
		t.Fatal("Pop returned other storage than pushed")
	}
	second := push()
	if &second[0] == &first[0] {
		t.Fatal("Buffer handed out the storage of the frame the session holds")
	}
	pop() // takes back the first frame's storage
	if third := push(); &third[0] != &first[0] {
		t.Fatal("Buffer did not reuse the storage given back")
	}
	pop()
	if n := testing.AllocsPerRun(100, func() { push(); pop() }); n != 0 {
		t.Errorf("a steady push and pop allocate %.1f times", n)
	}
}

// BenchmarkPushPop measures one frame through the queue.
func BenchmarkPushPop(b *testing.B) {
	q := New(100, time.Second)
	fr := frame(1)
	ctx := context.Background()
	done := make(chan struct{})
	for b.Loop() {
		q.Push(fr)
		if _, err := q.Pop(ctx, done); err != nil {
			b.Fatal(err)
		}
	}
}
