package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gws "github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/harkvoice/hark/codecs/opus"
)

// capacityResult holds the capacity section's results.
type capacityResult struct {
	SessionsPerCore int     `json:"sessions_per_core"`
	Steps           []step  `json:"steps"`
	IdleKB          float64 `json:"mem_per_idle_session_kb"`
	ActiveKB        float64 `json:"mem_per_active_session_kb"`
	IdleStackKB     float64 `json:"stack_per_idle_session_kb"`
	ActiveStackKB   float64 `json:"stack_per_active_session_kb"`
	MemSessions     int     `json:"mem_sessions"`
	ChildCPU        int     `json:"child_cpu"`
	Pinned          bool    `json:"pinned"`
	Realtime        bool    `json:"realtime"`
	UserClipS       float64 `json:"user_clip_s"`
	ReplyS          float64 `json:"reply_s"`
	// AEC tells whether the sessions ran the echo canceller.
	AEC bool `json:"aec"`
}

// step is one load level tried.
type step struct {
	Sessions  int     `json:"sessions"`
	Pass      bool    `json:"pass"`
	MaxLateMs float64 `json:"max_late_ms"`
	P99LateMs float64 `json:"p99_late_ms"`
	// LateFrames counts frames later than 10 ms, of Frames.
	LateFrames int64 `json:"late_frames"`
	Frames     int64 `json:"frames"`
	// Preempted counts the server's involuntary context switches.
	Preempted int64 `json:"preempted"`
	// Speaking is the fraction of the window the agents spoke.
	Speaking float64 `json:"speaking"`
	CPUPct   float64 `json:"cpu_pct"`
	// GCs counts the server's garbage collections in the window, and
	// AllocMBps is its allocation rate.
	GCs       int64   `json:"gcs"`
	AllocMBps float64 `json:"alloc_mb_s"`
	Overruns  int64   `json:"overruns"`
	Errors    int64   `json:"errors"`
	// ErrorCodes are the distinct codes of the errors, for the reader.
	ErrorCodes []string `json:"error_codes,omitempty"`
	Why        string   `json:"why,omitempty"`
}

// capChild is the running capacity child process.
type capChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	base  string // http://127.0.0.1:port
	extra string // what the child printed after its address
	// pinned and realtime tell whether the affinity and the SCHED_FIFO
	// policy could be set.
	pinned, realtime bool
}

// startCapacityChild starts this program as a capacity server (job
// childCapacity or childPhone) with GOMAXPROCS=1, pinned to cpu (see
// startPinned).
func startCapacityChild(cfg config, job string, cpu int) (*capChild, error) {
	cmd, err := childCommand(cfg, job, envReplyMs+"="+strconv.Itoa(int(cfg.replyLen/time.Millisecond)))
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	pinned, rt, err := startPinned(cmd, cpu, cfg.realtime)
	if err != nil {
		return nil, err
	}
	c := &capChild{cmd: cmd, stdin: stdin, pinned: pinned, realtime: rt}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		c.stop()
		return nil, fmt.Errorf("bench: capacity child did not start: %q %v", line, err)
	}
	addr, extra, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")), " ")
	c.base, c.extra = "http://"+addr, extra
	return c, nil
}

// stop closes the child's stdin and waits for it.
func (c *capChild) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func (c *capChild) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

// waitSessions waits until the child runs n sessions.
func (c *capChild) waitSessions(ctx context.Context, n int, d time.Duration) error {
	end := time.Now().Add(d)
	for {
		var st capStats
		if err := c.get(ctx, "/stats", &st); err != nil {
			return err
		}
		if st.Sessions == n {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("bench: child runs %d sessions, want %d", st.Sessions, n)
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// simDevice is one simulated device: Opus microphone audio every 20 ms (the
// user's clip, then silence until the agent has answered) and a reader
// counting the agent's audio and the server's errors.
type simDevice struct {
	conn     *gws.Conn
	active   atomic.Bool
	frames   atomic.Int64
	overruns atomic.Int64
	errors   atomic.Int64
	errCode  atomic.Pointer[string] // the latest error's code
	done     chan struct{}          // agent_done events
	wg       sync.WaitGroup
	wmu      sync.Mutex
}

// devAudio is the pre-encoded audio every device sends.
type devAudio struct {
	clip    [][]byte // the user's utterance, 20 ms Opus packets at 16 kHz
	silence []byte
}

func newDevAudio(clip []int16) (*devAudio, error) {
	enc, err := opus.NewEncoder(16000, 1)
	if err != nil {
		return nil, err
	}
	const n = 320
	a := &devAudio{}
	for off := 0; off+n <= len(clip); off += n {
		p, err := enc.Encode(clip[off:off+n], nil)
		if err != nil {
			return nil, err
		}
		a.clip = append(a.clip, p)
	}
	if a.silence, err = enc.Encode(make([]int16, n), nil); err != nil {
		return nil, err
	}
	return a, nil
}

// dialDevice connects a device. With aec, its hello leaves "aec" out, as
// a device without echo cancellation of its own does, and the server runs
// its canceller; without, the hello says "aec": false (a device that
// cancels its echo itself).
func dialDevice(ctx context.Context, base string, aec bool) (*simDevice, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + "/device"
	conn, _, err := gws.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	hello := `{"type":"hello","version":1,"device":"bench","language":"en","audio":{"encoding":"opus","sample_rate":16000}}`
	if !aec {
		hello = `{"type":"hello","version":1,"device":"bench","language":"en","audio":{"encoding":"opus","sample_rate":16000},"aec":false}`
	}
	if err := conn.WriteMessage(gws.TextMessage, []byte(hello)); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || !strings.Contains(string(msg), `"hello"`) {
		conn.Close()
		return nil, fmt.Errorf("bench: device hello: %q %v", msg, err)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return &simDevice{conn: conn, done: make(chan struct{}, 1)}, nil
}

// run streams the microphone and reads the server until ctx is done.
func (d *simDevice) run(ctx context.Context, a *devAudio, startDelay time.Duration) {
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		d.read()
	}()
	go func() {
		defer d.wg.Done()
		d.speak(ctx, a, startDelay)
	}()
}

func (d *simDevice) read() {
	for {
		typ, msg, err := d.conn.ReadMessage()
		if err != nil {
			return
		}
		if typ == gws.BinaryMessage {
			d.frames.Add(1)
			continue
		}
		var m struct{ Type, Code string }
		if json.Unmarshal(msg, &m) != nil {
			continue
		}
		switch {
		case m.Type == "agent_done":
			select {
			case d.done <- struct{}{}:
			default:
			}
		case m.Type == "error" && m.Code == "overrun":
			d.overruns.Add(1)
		case m.Type == "error":
			d.errCode.Store(&m.Code)
			d.errors.Add(1)
		}
	}
}

// speak sends a packet every 20 ms: silence for startDelay, then while
// active, the utterance followed by silence until the agent has answered
// (or 15 s), and a 300 ms pause.
func (d *simDevice) speak(ctx context.Context, a *devAudio, startDelay time.Duration) {
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	quietUntil := time.Now().Add(startDelay)
	next, waiting := -1, false // index into a.clip while speaking
	var answerBy time.Time
	for {
		pkt := a.silence
		now := time.Now()
		switch {
		case next >= 0:
			pkt = a.clip[next]
			if next++; next == len(a.clip) {
				next, waiting, answerBy = -1, true, now.Add(15*time.Second)
				select {
				case <-d.done: // a stale answer
				default:
				}
			}
		case waiting:
			select {
			case <-d.done:
				waiting, quietUntil = false, now.Add(300*time.Millisecond)
			default:
				if now.After(answerBy) {
					waiting = false
				}
			}
		case d.active.Load() && now.After(quietUntil):
			next = 0
		}
		d.wmu.Lock()
		_ = d.conn.SetWriteDeadline(now.Add(5 * time.Second))
		err := d.conn.WriteMessage(gws.BinaryMessage, pkt)
		d.wmu.Unlock()
		if err != nil {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// close says goodbye, closes the connection and waits for the device's
// goroutines.
func (d *simDevice) close() {
	d.wmu.Lock()
	_ = d.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = d.conn.WriteMessage(gws.TextMessage, []byte(`{"type":"bye"}`))
	d.wmu.Unlock()
	_ = d.conn.Close()
	d.wg.Wait()
}

// load is the simulated clients of a capacity run.
type load interface {
	// activate makes idle clients start talking.
	activate()
	// counts returns the agent frames received, input overruns and errors
	// the clients saw since the last call.
	counts() loadCounts
	// stop hangs up and waits.
	stop()
}

// startLoad connects n clients to the child, talking (active) or silent.
type startLoad func(ctx context.Context, n int, active bool) (load, error)

// fleet is a set of devices talking to the child.
type fleet struct {
	devs   []*simDevice
	cancel context.CancelFunc
}

// loadCounts is what the clients of a load saw.
type loadCounts struct {
	frames, overruns, errs int64
	// codes are the distinct error codes, sorted.
	codes []string
}

// startFleet connects n devices (asking for the server's echo canceller
// with aec); active ones start talking at random points of their first
// cycle.
func startFleet(ctx context.Context, base string, n int, a *devAudio, aec, active bool, cycle time.Duration, rng *rand.Rand) (*fleet, error) {
	fctx, cancel := context.WithCancel(ctx)
	f := &fleet{cancel: cancel}
	for range n {
		d, err := dialDevice(ctx, base, aec)
		if err != nil {
			f.stop()
			return nil, err
		}
		d.active.Store(active)
		d.run(fctx, a, time.Duration(rng.Int64N(int64(cycle))))
		f.devs = append(f.devs, d)
	}
	return f, nil
}

func (f *fleet) activate() {
	for _, d := range f.devs {
		d.active.Store(true)
	}
}

// counts sums the devices' counters and resets them.
func (f *fleet) counts() loadCounts {
	var c loadCounts
	for _, d := range f.devs {
		c.frames += d.frames.Swap(0)
		c.overruns += d.overruns.Swap(0)
		c.errs += d.errors.Swap(0)
		if code := d.errCode.Swap(nil); code != nil && !slices.Contains(c.codes, *code) {
			c.codes = append(c.codes, *code)
		}
	}
	slices.Sort(c.codes)
	return c
}

func (f *fleet) stop() {
	f.cancel()
	for _, d := range f.devs {
		d.close()
	}
}

// pinSelf restricts every thread of this process to cpus and returns a
// function restoring the previous set (best effort).
func pinSelf(cpus unix.CPUSet) func() {
	var old unix.CPUSet
	if unix.SchedGetaffinity(0, &old) != nil {
		return func() {}
	}
	set := func(s unix.CPUSet) {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return
		}
		for _, t := range tasks {
			if tid, err := strconv.Atoi(t.Name()); err == nil {
				_ = unix.SchedSetaffinity(tid, &s)
			}
		}
	}
	set(cpus)
	return func() { set(old) }
}

// runCapacity finds how many device sessions one pinned core sustains with
// playout on time, with the server's echo canceller in every session
// (aec) or in none.
func runCapacity(ctx context.Context, cfg config, aec bool, progress io.Writer) (*capacityResult, error) {
	clip, err := loadClip(cfg.speechDir, "timer_awb.wav", 16000)
	if err != nil {
		return nil, err
	}
	audio, err := newDevAudio(clip)
	if err != nil {
		return nil, err
	}
	userClip := time.Duration(len(clip)) * time.Second / 16000
	cycle := userClip + cfg.replyLen + 1500*time.Millisecond
	rng := rand.New(rand.NewPCG(cfg.seed, 3))
	res, err := measureCapacity(ctx, cfg, childCapacity, userClip, progress, func(child *capChild) startLoad {
		return func(ctx context.Context, n int, active bool) (load, error) {
			return startFleet(ctx, child.base, n, audio, aec, active, cycle, rng)
		}
	})
	if res != nil {
		res.AEC = aec
	}
	return res, err
}

// measureCapacity starts the capacity child job and finds how many
// sessions it sustains with playout on time, loaded by the clients
// starter makes.
func measureCapacity(ctx context.Context, cfg config, job string, userClip time.Duration, progress io.Writer,
	starter func(*capChild) startLoad) (*capacityResult, error) {
	start := time.Now()
	cpu, rest, err := childCPU()
	if err != nil {
		return nil, err
	}
	if rest.Count() > 0 {
		defer pinSelf(rest)()
	}
	child, err := startCapacityChild(cfg, job, cpu)
	if err != nil {
		return nil, err
	}
	defer child.stop()
	if cfg.realtime && !child.realtime {
		fmt.Fprintln(progress, "  could not give the server SCHED_FIFO (needs CAP_SYS_NICE): other processes may disturb it")
	}
	res := &capacityResult{ChildCPU: cpu, Pinned: child.pinned, Realtime: child.realtime, UserClipS: userClip.Seconds(), ReplyS: cfg.replyLen.Seconds()}
	startClients := starter(child)

	// Memory: idle sessions, then the same sessions in conversation.
	var base capMem
	if err := child.get(ctx, "/mem", &base); err != nil {
		return nil, err
	}
	m := cfg.memSessions
	f, err := startClients(ctx, m, false)
	if err != nil {
		return nil, err
	}
	if err := child.waitSessions(ctx, m, 10*time.Second); err != nil {
		f.stop()
		return nil, err
	}
	sleepCtx(ctx, cfg.capWarmup)
	var idle, active capMem
	err = child.get(ctx, "/mem", &idle)
	if err == nil {
		f.activate()
		sleepCtx(ctx, userClip+cfg.replyLen+1500*time.Millisecond) // every client has started talking
		err = child.get(ctx, "/mem", &active)
	}
	f.stop()
	if err != nil {
		return nil, err
	}
	kb := func(after, before uint64) float64 {
		return round1((float64(after) - float64(before)) / 1024 / float64(m))
	}
	res.MemSessions = m
	res.IdleKB, res.ActiveKB = kb(idle.HeapInuse, base.HeapInuse), kb(active.HeapInuse, base.HeapInuse)
	res.IdleStackKB, res.ActiveStackKB = kb(idle.StackInuse, base.StackInuse), kb(active.StackInuse, base.StackInuse)
	fmt.Fprintf(progress, "  memory per session (%d sessions): idle %.0f KB, active %.0f KB heap in use\n", m, res.IdleKB, res.ActiveKB)
	if err := child.waitSessions(ctx, 0, 10*time.Second); err != nil {
		return nil, err
	}

	// Capacity: double until a level fails, then bisect, within the budget.
	// A level that fails only on lateness gets up to capTries windows unless
	// it is plainly overloaded: on a shared virtual machine other processes
	// and the hypervisor can stall the server for longer than 10 ms.
	try := func(n int) (step, error) {
		var st step
		for attempt := 0; attempt < capTries; attempt++ {
			var err error
			if st, err = capacityStep(ctx, cfg, child, n, startClients); err != nil {
				return st, err
			}
			fmt.Fprintf(progress, "  %4d sessions: late max %6.1f ms p99 %3.0f ms (%d of %d frames > 10 ms), speaking %3.0f%%, cpu %3.0f%%, %d GC (%.1f MB/s), preempted %d, pass=%v %s\n",
				n, st.MaxLateMs, st.P99LateMs, st.LateFrames, st.Frames, 100*st.Speaking, st.CPUPct, st.GCs, st.AllocMBps, st.Preempted, st.Pass, st.Why)
			res.Steps = append(res.Steps, st)
			if st.Pass || st.Why != whyLate || st.overloaded() {
				break
			}
		}
		return st, nil
	}
	lo, hi := 0, 0
	for n := cfg.capStart; hi == 0; n *= 2 {
		st, err := try(n)
		if err != nil {
			return nil, err
		}
		if st.Pass {
			lo = n
		} else {
			hi = n
		}
		if time.Since(start) > cfg.capBudget {
			break
		}
	}
	for hi > 0 && hi-lo > max(1, lo/20) && time.Since(start) < cfg.capBudget {
		n := (lo + hi) / 2
		st, err := try(n)
		if err != nil {
			return nil, err
		}
		if st.Pass {
			lo = n
		} else {
			hi = n
		}
	}
	res.SessionsPerCore = lo
	return res, nil
}

// capacityStep runs n sessions: connect, warm up, measure a window, hang up.
func capacityStep(ctx context.Context, cfg config, child *capChild, n int, startClients startLoad) (step, error) {
	st := step{Sessions: n}
	// An overloaded level before may take long to hang up all of its
	// calls: start from none.
	if err := child.waitSessions(ctx, 0, 90*time.Second); err != nil {
		return st, err
	}
	f, err := startClients(ctx, n, true)
	if err != nil {
		return st, err
	}
	defer func() {
		f.stop()
		_ = child.waitSessions(ctx, 0, 20*time.Second)
	}()
	if err := child.waitSessions(ctx, n, 20*time.Second); err != nil {
		return st, err
	}
	sleepCtx(ctx, cfg.capWarmup)
	var cs capStats
	if err := child.get(ctx, "/stats?reset=1", &cs); err != nil {
		return st, err
	}
	f.counts()
	sleepCtx(ctx, cfg.capWindow)
	if err := child.get(ctx, "/stats", &cs); err != nil {
		return st, err
	}
	lc := f.counts()
	st.Overruns, st.Errors, st.ErrorCodes = lc.overruns, lc.errs, lc.codes
	st.MaxLateMs, st.P99LateMs = round1(cs.MaxLateMs), cs.P99LateMs
	st.Frames, st.LateFrames, st.Preempted = cs.Frames, cs.LateFrames, cs.Preempted
	st.Speaking = round1(100*float64(cs.Frames)*frameDur.Seconds()/(float64(n)*cs.WindowS)) / 100
	st.CPUPct = round1(100 * cs.CPUSeconds / cs.WindowS)
	st.GCs, st.AllocMBps = cs.GCs, round1(cs.AllocMB/cs.WindowS)
	var why []string
	if cs.Sessions != n {
		why = append(why, fmt.Sprintf("%d sessions left", cs.Sessions))
	}
	if st.MaxLateMs > 10 {
		why = append(why, whyLate)
	}
	if st.Overruns > 0 {
		why = append(why, "input overrun")
	}
	if st.Errors > 0 {
		why = append(why, "errors")
		if len(st.ErrorCodes) > 0 {
			why[len(why)-1] += " (" + strings.Join(st.ErrorCodes, ", ") + ")"
		}
	}
	st.Pass = len(why) == 0
	st.Why = strings.Join(why, ", ")
	return st, ctx.Err()
}

// whyLate is the failure of a level whose playout ran late.
const whyLate = "late playout"

// capTries is how many windows a level failing only on lateness may take.
const capTries = 3

// overloaded reports a level that is late because the server cannot keep
// up, not because of a stall: over 1% of frames late with the server busy
// more than half the time.
func (s step) overloaded() bool { return s.P99LateMs > 10 && s.CPUPct > 50 }

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
