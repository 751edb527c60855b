package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/language"
	"github.com/harkvoice/hark/agent/transport"
)

// guard counts the requests being served (WebSocket ones included, which
// http.Server.Shutdown does not wait for) and the sessions running, and
// turns new sessions away while the server drains.
type guard struct {
	log      *slog.Logger
	draining atomic.Bool

	mu       sync.Mutex
	requests int
	idle     chan struct{} // closed when requests drops to zero; nil while it is
	sessions map[*liveSession]struct{}
}

func newGuard(log *slog.Logger) *guard {
	return &guard{log: log, sessions: map[*liveSession]struct{}{}}
}

// ServeHTTP routes a request, refusing a bad ?lang= (it would reach the
// prompt) or a session's ?aec= (the page's own ?aec= only preselects) and,
// while draining, new sessions.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.begin()
	defer s.end()
	if q := r.URL.Query(); q.Has("lang") {
		if _, err := language.Parse(q.Get("lang")); err != nil {
			http.Error(w, "lang: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	if _, _, err := echoQuery(r); err != nil && startsSession(r) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if s.draining.Load() && startsSession(r) {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// echoQuery reads ?aec=on or off, the page's choice of the server-side
// echo canceller; set is false when the request leaves it to the preset.
func echoQuery(r *http.Request) (on, set bool, err error) {
	switch q := r.URL.Query().Get("aec"); q {
	case "":
		return false, false, nil
	case "on", "off":
		return q == "on", true, nil
	default:
		return false, false, fmt.Errorf("aec=%.20q: want on or off", q)
	}
}

// startsSession reports whether r would start a session.
func startsSession(r *http.Request) bool {
	switch r.URL.Path {
	case pathDevice, pathTwilioStream, pathTwilioVoice, pathRealtime:
		return true
	case pathWebRTC:
		return r.Method == http.MethodPost
	}
	return false
}

func (g *guard) begin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.requests == 0 {
		g.idle = make(chan struct{})
	}
	g.requests++
}

func (g *guard) end() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.requests--; g.requests == 0 {
		close(g.idle)
	}
}

// waitRequests waits until no request is being served, or ctx is done.
func (g *guard) waitRequests(ctx context.Context) error {
	g.mu.Lock()
	idle := g.idle
	n := g.requests
	g.mu.Unlock()
	if n == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// liveSession is a session the server knows about until its Run returns.
type liveSession struct {
	*agent.Session
	g *guard
}

// track registers sess until its Run returns.
func (g *guard) track(sess *agent.Session) transport.Session {
	ls := &liveSession{Session: sess, g: g}
	g.mu.Lock()
	g.sessions[ls] = struct{}{}
	g.mu.Unlock()
	return ls
}

// Run runs the session and forgets it when it returns.
func (ls *liveSession) Run(ctx context.Context) error {
	defer func() {
		ls.g.mu.Lock()
		delete(ls.g.sessions, ls)
		ls.g.mu.Unlock()
	}()
	return ls.Session.Run(ctx)
}

// busy counts the sessions with a turn in progress: the user speaking, a
// reply being prepared or spoken.
func (g *guard) busy() (busy, all int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for ls := range g.sessions {
		if ls.State() != agent.StateListening {
			busy++
		}
	}
	return busy, len(g.sessions)
}

// drain stops new sessions and waits until no session has a turn in
// progress, or ctx is done.
func (g *guard) drain(ctx context.Context) {
	g.draining.Store(true)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		busy, all := g.busy()
		if busy == 0 {
			g.log.Info("every reply has finished", "sessions", all)
			return
		}
		select {
		case <-ctx.Done():
			g.log.Warn("replies still in progress; ending them with a goodbye", "busy", busy, "sessions", all)
			return
		case <-t.C:
		}
	}
}

// requireToken lets a request through only if its Authorization header
// carries token, as a Bearer token or as the password of Basic
// authentication (what a Twilio webhook URL with credentials sends). An
// empty token lets everything through. Never in the URL: query strings end
// up in proxy logs and browser history.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			_, got, _ = r.BasicAuth()
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer, Basic realm="hark"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
