package cbstream

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Stream is one synthesis's queue. Push never blocks: frames queue up, so
// the engine's lock is held only as long as synthesis itself takes.
type Stream struct {
	stop   atomic.Bool
	notify chan struct{} // one pending wake-up for the consumer

	mu     sync.Mutex
	frames []pcm.Frame
	done   bool
	err    error
}

// Push queues a frame the stream now owns; it reports false once the
// consumer has stopped, and the engine should then stop too.
func (s *Stream) Push(fr pcm.Frame) bool {
	if s.stop.Load() {
		return false
	}
	s.mu.Lock()
	s.frames = append(s.frames, fr)
	s.mu.Unlock()
	s.wake()
	return true
}

// Stopped reports whether the consumer has stopped.
func (s *Stream) Stopped() bool { return s.stop.Load() }

func (s *Stream) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *Stream) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	s.wake()
}

func (s *Stream) take() ([]pcm.Frame, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.frames
	s.frames = nil
	return f, s.done, s.err
}

// Run runs synth on a goroutine of its own, feeding a new Stream, and
// yields the frames it pushes with timestamps counted from the first
// sample, then synth's error if it failed. It stops at ctx's end (yielding
// its cause) or when yield returns false, and returns only after synth has.
func Run(ctx context.Context, yield func(pcm.Frame, error) bool, synth func(*Stream) error) {
	s := &Stream{notify: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	wg.Go(func() { s.finish(synth(s)) })
	defer func() {
		s.stop.Store(true)
		wg.Wait()
	}()
	var pos int
	for {
		select {
		case <-ctx.Done():
			yield(pcm.Frame{}, context.Cause(ctx))
			return
		case <-s.notify:
		}
		frames, done, err := s.take()
		for _, fr := range frames {
			fr.Timestamp = fr.Format.Duration(pos)
			pos += len(fr.Samples)
			if !yield(fr, nil) {
				return
			}
		}
		if done {
			if err != nil {
				yield(pcm.Frame{}, err)
			}
			return
		}
	}
}
