package sip

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// BenchmarkPacketize is the CPU work of one outgoing packet: μ-law
// encoding of 20 ms and the RTP header.
func BenchmarkPacketize(b *testing.B) {
	cd, _ := PCMU.newCoder()
	samples := speechAt(b, "order_slt.wav", pcm.Mono8k)[:160]
	var enc, pkt []byte
	h := rtpHeader{pt: 0, ssrc: 1}
	for b.Loop() {
		enc, _ = cd.encode(enc[:0], samples)
		pkt = appendRTP(pkt[:0], h, enc)
		h.seq++
		h.ts += 160
	}
}

// receiver is a call's receiving side without a socket: receive hands it
// one RTP packet of caller audio and reads the frame back.
func receiver(tb testing.TB) (receive func()) {
	cfg := &config{jitter: 3, log: slog.New(slog.DiscardHandler)}
	cd, _ := PCMU.newCoder()
	c := newConn(Call{}, cfg, cfg.log, nil, cd, media{codec: PCMU, pt: 0, dtmfPT: 101})
	payload := g711.EncodeUlaw(nil, speechAt(tb, "order_slt.wav", pcm.Mono8k)[:160])
	var pkt []byte
	h := rtpHeader{pt: 0, ssrc: 1}
	return func() {
		pkt = appendRTP(pkt[:0], h, payload)
		h.seq++
		if err := c.handlePacket(pkt); err != nil {
			tb.Fatal(err)
		}
		fr, err := c.ReadAudio(context.Background())
		if err != nil || len(fr.Samples) != 160 {
			tb.Fatalf("ReadAudio: %d samples, %v", len(fr.Samples), err)
		}
	}
}

// TestReceiveAllocs: a call's steady stream of caller packets, through
// the jitter buffer, μ-law decoding, the queue and ReadAudio, allocates
// nothing (the garbage collector's pauses are what limits the calls one
// core serves).
func TestReceiveAllocs(t *testing.T) {
	receive := receiver(t)
	if n := testing.AllocsPerRun(200, receive); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}

// BenchmarkReceivePacket is one incoming packet: RTP parsing, the jitter
// buffer, μ-law decoding and the queue to ReadAudio.
func BenchmarkReceivePacket(b *testing.B) {
	receive := receiver(b)
	b.ReportAllocs()
	for b.Loop() {
		receive()
	}
}

// BenchmarkSIPBargeIn measures what a caller hears on barge-in: a Go caller
// streams μ-law RTP to a call (media only, no signalling) whose session
// answers with a long recorded reply; once the reply plays, the caller
// says "Stop." at a random point, and the benchmark times from the first
// packet of the caller's speech to the last packet of the reply at speech
// level. It reports the median and the worst (ms) over b.N barge-ins.
//
//	go test -run '^$' -bench SIPBargeIn -benchtime 10x ./agent/transport/sip/
func BenchmarkSIPBargeIn(b *testing.B) {
	reply := speechAt(b, "agent_reply_slt.wav", pcm.Mono16k)
	stop := speech8k(b, "stop_slt.wav")
	onset, ok := agenttest.SpeechOnset(speechAt(b, "stop_slt.wav", pcm.Mono16k))
	if !ok {
		b.Fatal("no speech in stop_slt.wav")
	}
	stop = stop[onset/2/160*160:] // from its first 20 ms of speech
	question := speech8k(b, "order_slt.wav")

	caller, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		b.Fatal(err)
	}
	cfg := &config{jitter: 3, handoffWait: time.Second, log: slog.New(slog.DiscardHandler)}
	cd, _ := PCMU.newCoder()
	callerAddr := caller.LocalAddr().(*net.UDPAddr).AddrPort()
	c := newConn(Call{Codec: PCMU}, cfg, cfg.log, pc, cd, media{codec: PCMU, pt: 0, dtmfPT: -1, remote: callerAddr, dir: dirSendRecv})
	texts := make([]string, 0, 2*b.N+2)
	for range b.N + 1 {
		texts = append(texts, "where is my order", "stop")
	}
	replies := make([][]pipeline.Delta, 0, len(texts))
	for range b.N + 1 { // "stop" ends a reply without another
		replies = append(replies, agenttest.Text("Thank you for calling. Your order shipped yesterday and should arrive on Friday."))
	}
	sess, err := agent.New(c, agent.WithPreset(agent.PresetPhone), agent.WithSTT(agenttest.NewSTT(texts...)),
		agent.WithLLM(agenttest.NewLLM(replies...)), agent.WithTTS(clipTTS(reply)), agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
		agent.WithInterruptionPolicy(agent.InterruptionPolicy{Mode: agent.CancelImmediately}))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(c.readLoop)
	wg.Go(func() { _ = sess.Run(ctx) })
	defer func() {
		cancel()
		c.finish(errSessionEnded)
		pc.Close()
		caller.Close()
		wg.Wait()
	}()

	// The caller: what to say next, and when the reply was last loud.
	say := make(chan []int16, 1)
	var mu sync.Mutex
	var lastLoud time.Time
	wg.Go(func() {
		buf := make([]byte, maxPacket)
		for {
			n, err := caller.Read(buf)
			if err != nil {
				return
			}
			if _, p, err := parseRTP(buf[:n]); err == nil && pcm.DBFS(g711.DecodeUlaw(nil, p)) > -30 {
				mu.Lock()
				lastLoud = time.Now()
				mu.Unlock()
			}
		}
	})
	started := make(chan time.Time, 1)
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		var cur []int16
		var pkt []byte
		h := rtpHeader{pt: 0, ssrc: 9}
		remote := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pc.LocalAddr().(*net.UDPAddr).Port))
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			frame := make([]int16, 160)
			if len(cur) == 0 {
				select {
				case cur = <-say:
					if len(cur) == len(stop) {
						started <- time.Now()
					}
				default:
				}
			}
			if len(cur) > 0 {
				frame, cur = cur[:160], cur[160:]
			}
			pkt = appendRTP(pkt[:0], h, g711.EncodeUlaw(nil, frame))
			h.seq++
			h.ts += 160
			if _, err := caller.WriteToUDPAddrPort(pkt, remote); err != nil {
				return
			}
		}
	})
	loud := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return lastLoud
	}
	waitFor := func(cond func() bool) {
		for end := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				b.Fatal("the call did not respond")
			}
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		say <- question[:len(question)/160*160]
		waitFor(func() bool { return time.Since(loud()) < 20*time.Millisecond })
		time.Sleep(time.Duration(300+137*i%900) * time.Millisecond) // somewhere in the reply
		say <- stop
		t0 := <-started
		waitFor(func() bool { return time.Since(loud()) > 500*time.Millisecond })
		lat = append(lat, loud().Sub(t0))
		time.Sleep(time.Second) // "stop" is not answered
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "onset_to_silence_ms_p50")
	b.ReportMetric(float64(slices.Max(lat))/1e6, "onset_to_silence_ms_max")
}
