package frameq

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Overrun sums the frames dropped since the last report.
type Overrun struct {
	Frames int           // frames dropped
	Audio  time.Duration // their audio
}

// spareBuffers is how many emptied sample buffers a queue keeps for reuse:
// a session in step with its peer holds one, one waits in the queue and
// one is being filled.
const spareBuffers = 4

// Queue holds decoded frames for ReadAudio. One goroutine pushes; one
// pops.
type Queue struct {
	ch    chan pcm.Frame
	free  Spares[int16] // emptied sample buffers, for Buffer
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex
	pending  Overrun
	reported time.Time // when drops were last reported; zero before the first
	lent     []int16   // the samples Pop returned last
}

// New returns a queue of capacity frames that reports drops at most once
// per every.
func New(capacity int, every time.Duration) *Queue {
	return &Queue{ch: make(chan pcm.Frame, max(capacity, 1)), free: NewSpares[int16](spareBuffers),
		every: every, now: time.Now}
}

// Buffer returns an empty sample buffer with room for n samples, for the
// pusher to fill and Push: one that came back from an earlier frame when
// there is one, so a steady stream allocates nothing.
func (q *Queue) Buffer(n int) []int16 { return q.free.Get(n, 0) }

// release keeps b's storage for Buffer, unless enough is spare.
func (q *Queue) release(b []int16) {
	if cap(b) == 0 {
		return
	}
	q.free.Put(b)
}

// Push queues fr without blocking, dropping the oldest frame while the
// queue is full. When drops are due to be reported, it returns their sum
// and true; the caller logs or tells the peer.
func (q *Queue) Push(fr pcm.Frame) (Overrun, bool) {
	for {
		select {
		case q.ch <- fr:
			return q.report()
		default:
		}
		select {
		case old := <-q.ch:
			q.mu.Lock()
			q.pending.Frames++
			q.pending.Audio += old.Duration()
			q.mu.Unlock()
			q.release(old.Samples)
		default:
		}
	}
}

// report returns the drops not yet reported if the interval since the last
// report has passed.
func (q *Queue) report() (Overrun, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending.Frames == 0 {
		return Overrun{}, false
	}
	now := q.now()
	if !q.reported.IsZero() && now.Sub(q.reported) < q.every {
		return Overrun{}, false
	}
	o := q.pending
	q.pending, q.reported = Overrun{}, now
	return o, true
}

// Pop returns the next frame. Once done is closed it returns the frames
// still queued, then io.EOF; when ctx has ended, its cause (also when done
// closed because ctx ended: a server shutting down is not the peer's bye). A frame's
// samples are the caller's until its next Pop, which takes their storage
// back for Buffer (as transport.Transport's ReadAudio lends them).
func (q *Queue) Pop(ctx context.Context, done <-chan struct{}) (pcm.Frame, error) {
	select {
	case fr := <-q.ch:
		return q.lend(fr), nil
	case <-ctx.Done():
		return pcm.Frame{}, context.Cause(ctx)
	case <-done:
		select {
		case fr := <-q.ch:
			return q.lend(fr), nil
		default:
		}
		if ctx.Err() != nil {
			return pcm.Frame{}, context.Cause(ctx)
		}
		return pcm.Frame{}, io.EOF
	}
}

// lend takes back the samples lent before fr's and lends fr's.
func (q *Queue) lend(fr pcm.Frame) pcm.Frame {
	q.mu.Lock()
	prev := q.lent
	q.lent = fr.Samples
	q.mu.Unlock()
	q.release(prev)
	return fr
}
