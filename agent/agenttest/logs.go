package agenttest

import (
	"bytes"
	"sync"
)

// Logs collects output written from any goroutine, even after the test
// has ended (pion, browsers and servers write after Close), without
// touching testing.T: give it to a logger or a child process, read it in
// the failure message.
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
