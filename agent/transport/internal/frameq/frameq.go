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

// Queue holds decoded frames for ReadAudio. One goroutine pushes; any may
// pop.
type Queue struct {
	ch    chan pcm.Frame
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex
	pending  Overrun
	reported time.Time // when drops were last reported; zero before the first
}

// New returns a queue of capacity frames that reports drops at most once
// per every.
func New(capacity int, every time.Duration) *Queue {
	return &Queue{ch: make(chan pcm.Frame, max(capacity, 1)), every: every, now: time.Now}
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
// still queued, then io.EOF; when ctx ends first, its cause.
func (q *Queue) Pop(ctx context.Context, done <-chan struct{}) (pcm.Frame, error) {
	select {
	case fr := <-q.ch:
		return fr, nil
	case <-ctx.Done():
		return pcm.Frame{}, context.Cause(ctx)
	case <-done:
		select {
		case fr := <-q.ch:
			return fr, nil
		default:
		}
		return pcm.Frame{}, io.EOF
	}
}
