package livekit

import "time"

// slots is a worker's book of jobs, a plain type without goroutines or a
// clock: which jobs it offered to take (answered an availability request
// with yes and waits for the assignment), which run, and whether it drains.
// The worker reports its load from it and asks it before saying yes.
type slots struct {
	max      int
	draining bool
	offered  map[string]time.Time // job id -> when it was offered
	running  map[string]bool
}

func newSlots(max int) *slots {
	return &slots{max: max, offered: map[string]time.Time{}, running: map[string]bool{}}
}

// offer reports whether the worker can take job id now, and if so holds a
// slot for it until assign, finish or expire.
func (s *slots) offer(id string, now time.Time) bool {
	if s.draining || s.used() >= s.max {
		return false
	}
	if _, ok := s.offered[id]; ok || s.running[id] {
		return false
	}
	s.offered[id] = now
	return true
}

// assign moves an offered job to running. It reports false for a job the
// worker never offered to take (or whose offer expired): the worker then
// declines it.
func (s *slots) assign(id string) bool {
	if _, ok := s.offered[id]; !ok {
		return false
	}
	delete(s.offered, id)
	s.running[id] = true
	return true
}

// finish frees job id's slot, offered or running.
func (s *slots) finish(id string) {
	delete(s.offered, id)
	delete(s.running, id)
}

// expire drops offers older than ttl (the server chose another worker or
// failed to send the assignment) and returns their ids.
func (s *slots) expire(now time.Time, ttl time.Duration) []string {
	var gone []string
	for id, at := range s.offered {
		if now.Sub(at) > ttl {
			delete(s.offered, id)
			gone = append(gone, id)
		}
	}
	return gone
}

// drain stops new offers; running jobs go on.
func (s *slots) drain() { s.draining = true }

func (s *slots) used() int { return len(s.offered) + len(s.running) }

// idle reports whether no job holds a slot.
func (s *slots) idle() bool { return s.used() == 0 }

// targetLoad is livekit-server's default agents.target_load: it sends a
// job only to workers reporting a lower load.
const targetLoad = 0.7

// status is what the worker reports to the server: its load, the number of
// running jobs, and whether it takes no more (the server then sends it no
// availability requests). The load is the share of slots in use scaled to
// targetLoad, so that a server with the default target sends jobs until
// every slot is used; draining or full reports 1.
func (s *slots) status() (load float32, jobs int, full bool) {
	full = s.draining || s.used() >= s.max
	load = targetLoad * float32(s.used()) / float32(s.max)
	if full {
		load = 1
	}
	return load, len(s.running), full
}
