//go:build cgo

package espeak

import (
	"sync"
	"sync/atomic"
)

// stream carries audio from eSpeak's callback (on the synthesis goroutine)
// to the consumer. The callback never blocks: chunks queue up, so the global
// eSpeak lock is held only as long as synthesis itself takes.
type stream struct {
	stop   atomic.Bool
	notify chan struct{} // one pending wake-up for the consumer

	mu     sync.Mutex
	chunks [][]int16
	done   bool
	err    error
}

func newStream() *stream { return &stream{notify: make(chan struct{}, 1)} }

func (s *stream) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// push queues a chunk the stream now owns; it reports false once the
// consumer has asked synthesis to stop.
func (s *stream) push(chunk []int16) bool {
	if s.stop.Load() {
		return false
	}
	s.mu.Lock()
	s.chunks = append(s.chunks, chunk)
	s.mu.Unlock()
	s.wake()
	return true
}

// finish marks the end of synthesis, with err if it failed.
func (s *stream) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.mu.Unlock()
	s.wake()
}

// take returns the queued chunks and whether synthesis has finished.
func (s *stream) take() ([][]int16, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chunks
	s.chunks = nil
	return c, s.done, s.err
}
