package livekit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/livekit/livekittest"
)

// TestLiveKitDispatch: two workers (one in this process, one a child
// process) register with the same agent name; ten callers join rooms that
// dispatch the agent, and both workers take calls. The child is killed
// mid-call: new rooms are still served, and the surviving worker's room
// sweep picks up the rooms that lost their agent. Finally the survivor
// drains: it keeps its calls until the callers leave, then Run returns.
func TestLiveKitDispatch(t *testing.T) {
	needServer(t)
	srv := startServer(t, 7890)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var mu sync.Mutex
	served := map[string]bool{} // rooms the in-process worker served
	sessions := scriptedSessions(agenttest.NewLevelModel())
	w, err := NewWorker(srv.URL, livekittest.APIKey, livekittest.APISecret, func(j Job, c *Conn) (Session, error) {
		mu.Lock()
		served[j.Room] = true
		mu.Unlock()
		return sessions(j, c)
	}, WithAgentName(agentName), WithMaxJobs(20), WithRoomSweep(time.Second, 2*time.Second),
		WithPingInterval(time.Second), WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	wctx, drain := context.WithCancel(ctx)
	defer drain()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	<-w.Ready()

	child := exec.Command(os.Args[0], "-test.run", "^$")
	child.Env = append(os.Environ(), envChild+"="+srv.URL)
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	}()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("child worker: %q, %v", line, err)
	}

	var clients []*livekittest.Client
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	call := func(room string) *livekittest.Client {
		tok, err := livekittest.Token(room, "caller-"+room, agentName)
		if err != nil {
			t.Fatal(err)
		}
		c, err := livekittest.Join(ctx, srv.URL, tok)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		return c
	}
	listening := func(c *livekittest.Client, n int, timeout time.Duration) error {
		return c.Wait(ctx, timeout, func() bool {
			k := 0
			for _, s := range c.States() {
				if s == "listening" {
					k++
				}
			}
			return k >= n
		})
	}
	rooms := map[string]*livekittest.Client{}
	for i := range 10 {
		name := fmt.Sprintf("room-%d", i)
		rooms[name] = call(name)
	}
	for name, c := range rooms {
		if err := listening(c, 1, 30*time.Second); err != nil {
			t.Fatalf("%s: no agent: %v", name, err)
		}
	}
	mu.Lock()
	var orphans []string
	for name := range rooms {
		if !served[name] {
			orphans = append(orphans, name)
		}
	}
	mine := len(served)
	mu.Unlock()
	t.Logf("in-process worker took %d rooms, the child %d", mine, len(orphans))
	if mine == 0 || len(orphans) == 0 {
		t.Fatalf("one worker took every room (in-process %d of 10)", mine)
	}

	// Kill the child mid-call.
	killed = true
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killedAt := time.Now()

	// New rooms are served by the survivor.
	for i := range 3 {
		name := fmt.Sprintf("late-%d", i)
		if err := listening(call(name), 1, 30*time.Second); err != nil {
			t.Fatalf("%s after the kill: no agent: %v", name, err)
		}
	}
	// The rooms that lost their agent get one again.
	for _, name := range orphans {
		if err := listening(rooms[name], 2, 90*time.Second); err != nil {
			t.Fatalf("%s lost its agent and got none back: %v (states %v)", name, err, rooms[name].States())
		}
	}
	t.Logf("all %d orphaned rooms served again %v after the kill", len(orphans), time.Since(killedAt).Round(100*time.Millisecond))
	mu.Lock()
	for _, name := range orphans {
		if !served[name] {
			t.Errorf("%s: served again, but not by the survivor", name)
		}
	}
	mu.Unlock()

	// Drain: Run waits for the calls in progress.
	drain()
	select {
	case err := <-ran:
		t.Fatalf("Run returned with %d calls in progress: %v", w.Jobs(), err)
	case <-time.After(time.Second):
	}
	for _, c := range clients {
		c.Close()
	}
	clients = nil
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("Run did not return after the callers left (%d jobs)", w.Jobs())
	}
}
