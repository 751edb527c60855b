package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/device"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad/silero"
)

// capStats is what the capacity child reports on /stats.
type capStats struct {
	Sessions int `json:"sessions"`
	// MaxLateMs is the largest playout lateness of any session in the
	// window: how much later than its clock slot a frame reached the
	// transport, against the session's earliest frame.
	MaxLateMs float64 `json:"max_late_ms"`
	P99LateMs float64 `json:"p99_late_ms"`
	// Frames is the number of agent frames written in the window, and
	// LateFrames those later than 10 ms.
	Frames     int64 `json:"frames"`
	LateFrames int64 `json:"late_frames"`
	// Preempted counts involuntary context switches: other processes
	// taking the CPU.
	Preempted int64 `json:"preempted"`
	// CPUSeconds is the process's CPU time in the window.
	CPUSeconds float64 `json:"cpu_s"`
	// GCs counts the garbage collections in the window, and AllocMB the
	// heap allocated: each collection's mark phase competes with the
	// sessions for the one core.
	GCs        int64   `json:"gcs"`
	AllocMB    float64 `json:"alloc_mb"`
	WindowS    float64 `json:"window_s"`
	GoMaxProcs int     `json:"gomaxprocs"`
	CPUs       int     `json:"cpus"` // CPUs the process may run on
}

// capMem is what the capacity child reports on /mem, after a GC.
type capMem struct {
	Sessions   int    `json:"sessions"`
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
}

// lateWindow is how many recent frames a session's clock anchor is taken
// from (one second of audio).
const lateWindow = 50

// playoutClock tracks one session's playout lateness. The playout stamps
// each frame with its slot on the 20 ms clock (Timestamp), so the offset
// between the frame's arrival at the transport and its slot is constant for
// a punctual clock. A frame's lateness is its offset less the smallest
// offset of the frames before it in the last second; the short window lets
// the anchor follow the clock after it skipped a tick (which the skipped
// frame itself reports as late).
type playoutClock struct {
	mu   sync.Mutex
	ring [lateWindow]time.Duration
	n    int // frames seen
	h    *lateHist
}

// record notes a frame that arrived with offset off.
func (c *playoutClock) record(off time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 {
		anchor := off
		for _, o := range c.ring[:min(c.n, lateWindow)] {
			anchor = min(anchor, o)
		}
		c.h.add(off - anchor)
	}
	c.ring[c.n%lateWindow] = off
	c.n++
}

// lateHist is a histogram of playout lateness in 1 ms buckets.
type lateHist struct {
	mu      sync.Mutex
	buckets [1001]int64 // the last one holds everything from 1 s
	max     time.Duration
	frames  int64
}

func (h *lateHist) add(late time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buckets[min(max(int(late/time.Millisecond), 0), len(h.buckets)-1)]++
	h.max = max(h.max, late)
	h.frames++
}

// snapshot returns the maximum, the 99th percentile, the number of frames
// and of frames later than 10 ms; reset empties the histogram.
func (h *lateHist) snapshot(reset bool) (maxMs, p99Ms float64, frames, late int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	maxMs, frames = millis(h.max), h.frames
	var seen int64
	p99Ms = -1
	for i, n := range h.buckets {
		seen += n
		if p99Ms < 0 && frames > 0 && seen*100 >= frames*99 {
			p99Ms = float64(i + 1)
		}
		if i >= 10 {
			late += n
		}
	}
	p99Ms = max(p99Ms, 0)
	if reset {
		h.buckets, h.max, h.frames = [len(h.buckets)]int64{}, 0, 0
	}
	return maxMs, p99Ms, frames, late
}

// lateTransport is a device connection that records playout lateness.
type lateTransport struct {
	*device.Conn
	clock *playoutClock
	epoch time.Time
}

// WriteAudio records when the frame arrived and passes it on.
func (t *lateTransport) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	t.clock.record(time.Since(t.epoch) - fr.Timestamp)
	return t.Conn.WriteAudio(ctx, fr)
}

// trackedSession removes its clock from the registry when it ends.
type trackedSession struct {
	*agent.Session
	done func()
}

// Run runs the session and unregisters it.
func (s trackedSession) Run(ctx context.Context) error {
	defer s.done()
	return s.Session.Run(ctx)
}

// capServer is the capacity child's state.
type capServer struct {
	epoch   time.Time
	mu      sync.Mutex
	clocks  map[*playoutClock]struct{}
	hist    lateHist
	winFrom time.Time
	cpuFrom time.Duration
	cswFrom int64
	gcFrom  gcCounts
}

// gcCounts are the runtime's cumulative collection and allocation counts.
type gcCounts struct {
	cycles, allocBytes uint64
}

// readGC reads the counts without stopping the world (as
// runtime.ReadMemStats would).
func readGC() gcCounts {
	ms := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(ms)
	var c gcCounts
	if ms[0].Value.Kind() == metrics.KindUint64 {
		c.cycles = ms[0].Value.Uint64()
	}
	if ms[1].Value.Kind() == metrics.KindUint64 {
		c.allocBytes = ms[1].Value.Uint64()
	}
	return c
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func involuntarySwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Nivcsw
}

// stats reports the window so far and, with reset, starts a new one.
func (cs *capServer) stats(reset bool) capStats {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now, cpu, csw, gc := time.Now(), cpuTime(), involuntarySwitches(), readGC()
	st := capStats{Sessions: len(cs.clocks), GoMaxProcs: runtime.GOMAXPROCS(0),
		CPUSeconds: (cpu - cs.cpuFrom).Seconds(), WindowS: now.Sub(cs.winFrom).Seconds(),
		Preempted: csw - cs.cswFrom, GCs: int64(gc.cycles - cs.gcFrom.cycles),
		AllocMB: float64(gc.allocBytes-cs.gcFrom.allocBytes) / (1 << 20)}
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) == nil {
		st.CPUs = set.Count()
	}
	st.MaxLateMs, st.P99LateMs, st.Frames, st.LateFrames = cs.hist.snapshot(reset)
	if reset {
		cs.winFrom, cs.cpuFrom, cs.cswFrom, cs.gcFrom = now, cpu, csw, gc
	}
	return st
}

// cachedEngines returns the capacity children's engines as options: a
// fixed transcript, a fixed reply and cached speech (cfg.replyLen of a
// recorded voice, for every chunk), so that only Hark's own work costs CPU.
func cachedEngines(cfg config) ([]agent.Option, error) {
	reply, err := loadClip(cfg.speechDir, "agent_reply_slt.wav", 16000)
	if err != nil {
		return nil, err
	}
	return agenttest.Fixed(reply, cfg.replyLen), nil
}

// capacityChild serves device sessions on 127.0.0.1 until stdin closes.
// Each session: Opus in, Silero VAD, a fixed transcript, a fixed reply and
// cached TTS audio, so only Hark's own work costs CPU.
func capacityChild(ctx context.Context, cfg config, stdin io.Reader, stdout io.Writer) error {
	w, err := silero.Load()
	if err != nil {
		return err
	}
	engines, err := cachedEngines(cfg)
	if err != nil {
		return err
	}
	cs := &capServer{epoch: time.Now(), clocks: map[*playoutClock]struct{}{}, winFrom: time.Now(), cpuFrom: cpuTime()}
	h, err := device.NewHandler(func(_ *http.Request, c *device.Conn) (device.Session, error) {
		clock := &playoutClock{h: &cs.hist}
		s, err := agent.New(&lateTransport{Conn: c, clock: clock, epoch: cs.epoch},
			append(engines, agent.WithVAD(sileroFactory(w)))...)
		if err != nil {
			return nil, err
		}
		cs.mu.Lock()
		cs.clocks[clock] = struct{}{}
		cs.mu.Unlock()
		return trackedSession{Session: s, done: func() {
			cs.mu.Lock()
			delete(cs.clocks, clock)
			cs.mu.Unlock()
		}}, nil
	}, device.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/device", h)
	// For profiling a level by hand.
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.Handle("/debug/pprof/allocs", pprof.Handler("allocs"))
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/stats", func(rw http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(rw).Encode(cs.stats(r.URL.Query().Get("reset") != ""))
	})
	mux.HandleFunc("/mem", func(rw http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		cs.mu.Lock()
		n := len(cs.clocks)
		cs.mu.Unlock()
		_ = json.NewEncoder(rw).Encode(capMem{Sessions: n, HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return ctx }}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "ADDR %s\n", ln.Addr()); err != nil {
		cancel()
	}
	// The parent ends the child by closing its stdin.
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
		cancel()
	}()
	<-ctx.Done()
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	err = srv.Shutdown(shut)
	if e := <-served; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
