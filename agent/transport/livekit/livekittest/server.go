package livekittest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Network addresses of the isolated network (see Isolate): a veth pair in
// a network namespace of its own, nothing else.
const (
	// HostIP is the address the server listens on and advertises.
	HostIP = "10.200.0.1"
	hostIf = "lkv0"
	peerIf = "lkv1"
	// envIsolated marks a process already inside the namespace.
	envIsolated = "HARK_LIVEKIT_NETNS"
)

// Development credentials of the test server.
const (
	APIKey    = "devkey"
	APISecret = "hark-test-secret-of-at-least-32-chars"
)

// ErrNoServer reports that the livekit-server binary is not in the cache
// (`make deps` builds it).
var ErrNoServer = errors.New("livekittest: livekit-server not built (run `make deps`)")

// ServerPath returns the cached livekit-server binary:
// $HARK_CACHE/bin/livekit-server, HARK_CACHE defaulting to ~/.cache/hark.
func ServerPath() (string, error) {
	dir := os.Getenv("HARK_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".cache", "hark")
	}
	p := filepath.Join(dir, "bin", "livekit-server")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoServer, err)
	}
	return p, nil
}

// Isolated reports whether this process runs inside the isolated network.
func Isolated() bool { return os.Getenv(envIsolated) == "1" }

// Isolate runs this program again inside a new network namespace holding
// only the loopback interface and a veth pair (HostIP on one end), and
// returns its exit code: the LiveKit SDK takes ICE candidates from host
// interfaces and leaves loopback out, so the server and its clients meet on
// the veth, and no packet can leave the namespace. It needs `unshare` and
// `ip` and the right to create namespaces (root). Call it first thing in
// TestMain or main when Isolated() is false; run the program's real work
// when it is true.
func Isolate() (int, error) {
	if Isolated() {
		return 0, errors.New("livekittest: already isolated")
	}
	cmd, err := IsolatedCommand(os.Args[0], os.Args[1:]...)
	if err != nil {
		return 0, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("livekittest: run isolated: %w", err)
	}
	return 0, nil
}

// IsolatedCommand returns a command running name with args inside a new
// isolated network (see Isolate), its environment this process's plus the
// marker that makes Isolated report true.
func IsolatedCommand(name string, args ...string) (*exec.Cmd, error) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return nil, fmt.Errorf("livekittest: %w", err)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("livekittest: %w", err)
	}
	setup := strings.Join([]string{
		"ip link set lo up",
		"ip link add " + hostIf + " type veth peer name " + peerIf,
		"ip addr add " + HostIP + "/24 dev " + hostIf,
		"ip link set " + hostIf + " up",
		"ip link set " + peerIf + " up",
		`exec "$0" "$@"`,
	}, " && ")
	cmd := exec.Command(unshare, append([]string{"--net", "--", "/bin/sh", "-c", setup, name}, args...)...)
	cmd.Env = append(os.Environ(), envIsolated+"=1")
	return cmd, nil
}

// CanIsolate reports whether Isolate can work here, with the reason when
// not.
func CanIsolate() error {
	out, err := exec.Command("unshare", "--net", "--", "ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1").CombinedOutput()
	if err != nil {
		return fmt.Errorf("livekittest: cannot create a network namespace with a veth pair: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Server is a livekit-server process for tests: single node, no Redis,
// the development key, listening on HostIP only, media on one UDP port.
type Server struct {
	// URL is the server's WebSocket URL.
	URL string
	cmd *exec.Cmd
	log *bytes.Buffer
	mu  *sync.Mutex

	exited chan struct{}
}

// StartServer starts livekit-server (see ServerPath) on port (and UDP
// port+2 for media) and waits until it accepts connections. It must run
// inside the isolated network.
func StartServer(ctx context.Context, port int) (*Server, error) {
	if !Isolated() {
		return nil, errors.New("livekittest: StartServer runs only inside the isolated network (see Isolate)")
	}
	bin, err := ServerPath()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`port: %d
rtc:
  tcp_port: %d
  udp_port: %d
  use_external_ip: false
  enable_loopback_candidate: true
  interfaces:
    includes: [%s]
room:
  empty_timeout: 10
  departure_timeout: 5
keys:
  %s: %s
logging:
  level: warn
`, port, port+1, port+2, hostIf, APIKey, APISecret)
	cmd := exec.Command(bin, "--config-body", cfg, "--bind", HostIP, "--node-ip", HostIP)
	var buf bytes.Buffer
	mu := &sync.Mutex{}
	w := &lockedWriter{w: &buf, mu: mu}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("livekittest: start server: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("ws://%s:%d", HostIP, port), cmd: cmd, log: &buf, mu: mu, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	addr := net.JoinHostPort(HostIP, fmt.Sprint(port))
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("livekittest: server exited: %s", s.Logs())
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("livekittest: server not listening after 20 s: %s", s.Logs())
		}
	}
}

// HTTPURL returns the server's HTTP URL (for its Twirp API).
func (s *Server) HTTPURL() string { return "http" + strings.TrimPrefix(s.URL, "ws") }

// Logs returns what the server printed.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Close stops the server and waits for it to exit.
func (s *Server) Close() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
