package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/sip"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// childPhone is the job of the phone capacity child.
const childPhone = "phone"

// secPhone is the phone capacity section.
const secPhone = "phone"

// runPhoneCapacity finds how many SIP calls (μ-law 8 kHz both ways) one
// pinned core sustains with playout on time.
func runPhoneCapacity(ctx context.Context, cfg config, progress io.Writer) (*capacityResult, error) {
	clip, err := loadClip(cfg.speechDir, "timer_awb.wav", 16000)
	if err != nil {
		return nil, err
	}
	fr, err := resample.Frame(pcm.Frame{Format: pcm.Mono16k, Samples: clip}, pcm.Mono8k)
	if err != nil {
		return nil, err
	}
	audio := newPhoneAudio(fr.Samples)
	userClip := time.Duration(len(clip)) * time.Second / 16000
	cycle := userClip + cfg.replyLen + 1500*time.Millisecond
	rng := rand.New(rand.NewPCG(cfg.seed, 4))
	var callers *phoneCallers
	defer func() {
		if callers != nil {
			callers.close()
		}
	}()
	return measureCapacity(ctx, cfg, childPhone, userClip, progress, func(child *capChild) startLoad {
		return func(ctx context.Context, n int, active bool) (load, error) {
			if callers == nil {
				target, err := netip.ParseAddrPort(child.extra)
				if err != nil {
					return nil, fmt.Errorf("bench: phone child's SIP address %q: %w", child.extra, err)
				}
				if callers, err = newPhoneCallers(target); err != nil {
					return nil, err
				}
			}
			return callers.start(ctx, n, active, audio, cycle, rng)
		}
	})
}

// phoneAudio is the μ-law every caller sends: the utterance in 20 ms
// payloads, and silence.
type phoneAudio struct {
	clip    [][]byte
	silence []byte
}

func newPhoneAudio(clip []int16) *phoneAudio {
	a := &phoneAudio{silence: g711.EncodeUlaw(nil, make([]int16, 160))}
	for off := 0; off+160 <= len(clip); off += 160 {
		a.clip = append(a.clip, g711.EncodeUlaw(nil, clip[off:off+160]))
	}
	return a
}

// phoneCallers places SIP calls to the child from one SIP socket and one
// RTP socket: every call's offer names the same media port, and one
// goroutine sends every call's packet each 20 ms.
type phoneCallers struct {
	ua     *sipgo.UserAgent
	dua    *sipgo.DialogUA
	sipPC  net.PacketConn
	rtp    *net.UDPConn
	target netip.AddrPort
	frames atomic.Int64 // agent packets received
	wg     sync.WaitGroup
}

func newPhoneCallers(target netip.AddrPort) (*phoneCallers, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("bench"))
	if err != nil {
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, errors.Join(err, ua.Close())
	}
	srv.OnBye(func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		_ = tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, errors.Join(err, ua.Close())
	}
	rtpConn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, errors.Join(err, pc.Close(), ua.Close())
	}
	_ = rtpConn.SetReadBuffer(4 << 20)
	_ = rtpConn.SetWriteBuffer(4 << 20)
	port := pc.LocalAddr().(*net.UDPAddr).Port
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(slog.New(slog.DiscardHandler)),
		sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		return nil, errors.Join(err, rtpConn.Close(), pc.Close(), ua.Close())
	}
	c := &phoneCallers{ua: ua, sipPC: pc, rtp: rtpConn, target: target, dua: &sipgo.DialogUA{
		Client:     client,
		ContactHDR: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "bench", Host: "127.0.0.1", Port: port}},
	}}
	c.wg.Go(func() { _ = srv.ServeUDP(pc) })
	c.wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := rtpConn.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			c.frames.Add(1)
		}
	})
	return c, nil
}

func (c *phoneCallers) close() {
	_ = c.rtp.Close()
	_ = c.sipPC.Close()
	_ = c.ua.Close()
	c.wg.Wait()
}

// answerMedia finds the audio port and address in an SDP answer.
var answerMedia = regexp.MustCompile(`(?m)^c=IN IP4 ([0-9.]+)\r?$[\s\S]*^m=audio ([0-9]+) `)

// answerAddr returns where an SDP answer wants audio.
func answerAddr(sdp []byte) (netip.AddrPort, error) {
	m := answerMedia.FindSubmatch(sdp)
	if len(m) != 3 {
		return netip.AddrPort{}, fmt.Errorf("bench: no audio in the answer %q", sdp)
	}
	ip, err := netip.ParseAddr(string(m[1]))
	port, perr := strconv.ParseUint(string(m[2]), 10, 16)
	if err != nil || perr != nil {
		return netip.AddrPort{}, fmt.Errorf("bench: answer address %q %q", m[1], m[2])
	}
	return netip.AddrPortFrom(ip, uint16(port)), nil
}

// phoneCall is one call in progress.
type phoneCall struct {
	d      *sipgo.DialogClientSession
	remote netip.AddrPort
	ssrc   uint32
	seq    uint16
	ts     uint32
	// Speaking state, used by the sender only.
	quietUntil time.Time
	next       int // index into the utterance while speaking, else -1
}

// phoneLoad is one level's calls.
type phoneLoad struct {
	c      *phoneCallers
	calls  []*phoneCall
	active atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start places n calls; active ones start talking at random points of
// their first cycle.
func (c *phoneCallers) start(ctx context.Context, n int, active bool, a *phoneAudio, cycle time.Duration, rng *rand.Rand) (*phoneLoad, error) {
	l := &phoneLoad{c: c}
	l.active.Store(active)
	offer := fmt.Appendf(nil, "v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=bench\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n",
		c.rtp.LocalAddr().(*net.UDPAddr).Port)
	uri := sipmsg.Uri{Scheme: "sip", User: "agent", Host: c.target.Addr().String(), Port: int(c.target.Port())}
	for range n {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		d, err := c.dua.Invite(ictx, uri, offer, sipmsg.NewHeader("Content-Type", "application/sdp"))
		if err == nil {
			err = d.WaitAnswer(ictx, sipgo.AnswerOptions{})
		}
		if err == nil {
			err = d.Ack(ictx)
		}
		cancel()
		if err != nil {
			l.stop()
			return nil, fmt.Errorf("bench: call %d: %w", len(l.calls)+1, err)
		}
		remote, err := answerAddr(d.InviteResponse.Body())
		if err != nil {
			l.calls = append(l.calls, &phoneCall{d: d})
			l.stop()
			return nil, err
		}
		l.calls = append(l.calls, &phoneCall{d: d, remote: remote, ssrc: uint32(len(l.calls) + 1), seq: uint16(rng.Uint32()),
			ts: rng.Uint32(), quietUntil: time.Now().Add(time.Duration(rng.Int64N(int64(cycle)))), next: -1})
	}
	sctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	l.wg.Go(func() { l.send(sctx, a, cycle) })
	return l, nil
}

// sendSlots spreads the calls' packets over the 20 ms period, as calls
// from many phones arrive at random phases: call i is sent in slot i mod
// sendSlots.
const sendSlots = 10

// send sends every call's packet each 20 ms: silence, and while active the
// utterance once per cycle.
func (l *phoneLoad) send(ctx context.Context, a *phoneAudio, cycle time.Duration) {
	tick := time.NewTicker(frameDur / sendSlots)
	defer tick.Stop()
	pkt := make([]byte, 12+160)
	for slot := 0; ; slot = (slot + 1) % sendSlots {
		now := time.Now()
		for i := slot; i < len(l.calls); i += sendSlots {
			call := l.calls[i]
			payload := a.silence
			switch {
			case call.next >= 0:
				payload = a.clip[call.next]
				if call.next++; call.next == len(a.clip) {
					call.next, call.quietUntil = -1, now.Add(cycle-time.Duration(len(a.clip))*frameDur)
				}
			case l.active.Load() && now.After(call.quietUntil):
				call.next = 0
			}
			pkt = pkt[:12]
			pkt[0], pkt[1] = 0x80, 0
			pkt[2], pkt[3] = byte(call.seq>>8), byte(call.seq)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(call.ts>>24), byte(call.ts>>16), byte(call.ts>>8), byte(call.ts)
			pkt[8], pkt[9], pkt[10], pkt[11] = byte(call.ssrc>>24), byte(call.ssrc>>16), byte(call.ssrc>>8), byte(call.ssrc)
			pkt = append(pkt, payload...)
			call.seq++
			call.ts += 160
			_, _ = l.c.rtp.WriteToUDPAddrPort(pkt, call.remote)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (l *phoneLoad) activate() { l.active.Store(true) }

func (l *phoneLoad) counts() loadCounts {
	return loadCounts{frames: l.c.frames.Swap(0)}
}

// stop hangs every call up.
func (l *phoneLoad) stop() {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
	var wg sync.WaitGroup
	for _, call := range l.calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = call.d.Bye(ctx)
			_ = call.d.Close()
		})
	}
	wg.Wait()
}

// phoneTransport is a SIP call that records playout lateness.
type phoneTransport struct {
	*sip.Conn
	clock *playoutClock
	epoch time.Time
}

// WriteAudio records when the frame arrived and passes it on.
func (t *phoneTransport) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	t.clock.record(time.Since(t.epoch) - fr.Timestamp)
	return t.Conn.WriteAudio(ctx, fr)
}

// phoneChild answers SIP calls on 127.0.0.1 until stdin closes. Each call:
// μ-law in and out, Silero VAD at 8 kHz, the phone preset, a fixed transcript, a
// fixed reply and cached TTS audio, so only Hark's own work costs CPU. It
// prints "ADDR <stats address> <SIP address>".
func phoneChild(ctx context.Context, cfg config, stdin io.Reader, stdout io.Writer) error {
	w, err := silero.Load()
	if err != nil {
		return err
	}
	engines, err := cachedEngines(cfg)
	if err != nil {
		return err
	}
	cs := &capServer{epoch: time.Now(), clocks: map[*playoutClock]struct{}{}, winFrom: time.Now(), cpuFrom: cpuTime()}
	srv, err := sip.NewServer(func(c *sip.Conn) (sip.Session, error) {
		clock := &playoutClock{h: &cs.hist}
		s, err := agent.New(&phoneTransport{Conn: c, clock: clock, epoch: cs.epoch},
			append(engines, agent.WithPreset(agent.PresetPhone),
				// Silero's 8 kHz branch: phone audio needs no resampling
				// before the detector.
				agent.WithVAD(func() (vad.Model, error) { return w.NewModel(8000) }))...)
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
	}, sip.WithListen("udp", "127.0.0.1:0"), sip.WithMaxCalls(100000), sip.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	mux := http.NewServeMux()
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
	hs := &http.Server{Handler: mux}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	sipDone := make(chan error, 1)
	go func() { sipDone <- srv.Serve(ctx) }()
	if _, err := fmt.Fprintf(stdout, "ADDR %s %s\n", ln.Addr(), srv.Addr("udp")); err != nil {
		cancel()
	}
	// The parent ends the child by closing its stdin.
	go func() {
		_, _ = io.Copy(io.Discard, bufio.NewReader(stdin))
		cancel()
	}()
	<-ctx.Done()
	err = <-sipDone
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	err = errors.Join(err, hs.Shutdown(shut))
	if e := <-served; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
