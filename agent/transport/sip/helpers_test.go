package sip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

// sippBinary returns the path of sipp, skipping the test without it.
func sippBinary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skipf("sipp is not installed (%v); `make deps` installs it (Debian sip-tester)", err)
	}
	return p
}

// freeUDPPort returns an even UDP port free on 127.0.0.1 with the port
// after it (sipp binds media and media+2 for RTP and RTCP-ish streams).
func freeUDPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port &^ 1
		pc.Close()
		ok := true
		for _, p := range []int{port, port + 1, port + 2, port + 3} {
			q, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			q.Close()
		}
		if ok && port > 1024 {
			return port
		}
	}
	t.Fatal("no free UDP ports")
	return 0
}

// sipp runs one sipp call with scenario (a file in testdata) against the
// server at target (none for a scenario that answers calls), with extra
// -key substitutions and arguments (a "-p" there replaces the free port
// picked for sipp's signalling). It returns sipp's output and its error
// (nil when the call succeeded).
func sipp(ctx context.Context, t testing.TB, scenario string, target netip.AddrPort, keys map[string]string, args ...string) (string, error) {
	t.Helper()
	bin := sippBinary(t)
	abs, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	argv := []string{"-sf", abs, "-m", "1", "-i", "127.0.0.1", "-mp", strconv.Itoa(freeUDPPort(t)),
		"-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if !slices.Contains(args, "-p") {
		argv = append(argv, "-p", strconv.Itoa(freeUDPPort(t)))
	}
	for k, v := range keys {
		argv = append(argv, "-key", k, v)
	}
	argv = append(argv, args...)
	if target.IsValid() {
		argv = append(argv, target.String())
	}
	cmd := exec.CommandContext(ctx, bin, argv...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil {
		if b, rerr := os.ReadFile(filepath.Join(dir, "errors.log")); rerr == nil {
			out.WriteString("\n--- sipp errors.log ---\n")
			out.Write(b)
		}
	}
	return out.String(), err
}

// g711WAV writes samples (8 kHz) as a μ-law or A-law WAV in dir, the
// format sipp's rtp_stream plays, and returns its path.
func g711WAV(t testing.TB, dir, name string, samples []int16, ulaw bool) string {
	t.Helper()
	var data []byte
	format := uint16(6) // A-law
	if ulaw {
		data, format = g711.EncodeUlaw(nil, samples), 7
	} else {
		data = g711.EncodeAlaw(nil, samples)
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(4 + 26 + 12 + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(18))
	le(format)
	le(uint16(1))    // channels
	le(uint32(8000)) // rate
	le(uint32(8000)) // bytes per second
	le(uint16(1))    // block align
	le(uint16(8))    // bits per sample
	le(uint16(0))    // extension size
	b.WriteString("fact")
	le(uint32(4))
	le(uint32(len(samples)))
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// speech8k loads a test clip resampled to 8 kHz.
func speech8k(t testing.TB, name string) []int16 {
	t.Helper()
	return speechAt(t, name, pcm.Mono8k)
}

func speechAt(t testing.TB, name string, f pcm.Format) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, f); err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}

// silence returns d of silence at 8 kHz.
func silence(d time.Duration) []int16 { return make([]int16, pcm.Mono8k.Samples(d)) }

// clipTTS speaks every request with a recorded clip (16 kHz), in 20 ms
// frames as fast as the session takes them.
func clipTTS(clip []int16) pipeline.TTS {
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		return func(yield func(pcm.Frame, error) bool) {
			for i := 0; i < len(clip); i += 320 {
				if ctx.Err() != nil {
					yield(pcm.Frame{}, ctx.Err())
					return
				}
				if !yield(pcm.Frame{Format: pcm.Mono16k, Samples: clip[i:min(i+320, len(clip))]}, nil) {
					return
				}
			}
		}
	})
}

// replyTTS speaks clip, or for text starting "Okay" a quiet 440 Hz tone
// (-36 dBFS) for 40 ms per character, so a test can tell replies apart.
func replyTTS(clip []int16) pipeline.TTS {
	speak := clipTTS(clip)
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		if !strings.HasPrefix(req.Text, "Okay") {
			return speak.Synthesize(ctx, req)
		}
		tone := make([]int16, len(req.Text)*640)
		for i := range tone {
			tone[i] = int16(0.022 * 32767 * math.Sin(2*math.Pi*440*float64(i)/16000))
		}
		return clipTTS(tone).Synthesize(ctx, req)
	})
}

// packet is one RTP packet the test's listener received.
type packet struct {
	at      time.Time
	h       rtpHeader
	payload []byte
}

// rtpSink is the caller's media port as the SDP offer names it: it records
// every packet Hark sends.
type rtpSink struct {
	pc   net.PacketConn
	port int
	wg   sync.WaitGroup

	mu   sync.Mutex
	pkts []packet
}

func newRTPSink(t testing.TB) *rtpSink {
	t.Helper()
	var pc net.PacketConn
	port := 0
	for range 20 {
		port = freeUDPPort(t)
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			break
		}
	}
	if pc == nil {
		t.Fatal("no RTP port")
	}
	s := &rtpSink{pc: pc, port: port}
	s.wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			h, payload, err := parseRTP(buf[:n])
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.pkts = append(s.pkts, packet{at: time.Now(), h: h, payload: bytes.Clone(payload)})
			s.mu.Unlock()
		}
	})
	t.Cleanup(s.close)
	return s
}

func (s *rtpSink) close() {
	s.pc.Close()
	s.wg.Wait()
}

func (s *rtpSink) packets() []packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]packet(nil), s.pkts...)
}

// level decodes a G.711 payload and returns its level in dBFS.
func level(p packet) float64 {
	var s []int16
	if p.h.pt == 0 {
		s = g711.DecodeUlaw(nil, p.payload)
	} else {
		s = g711.DecodeAlaw(nil, p.payload)
	}
	return pcm.DBFS(s)
}

// startServer runs a server on 127.0.0.1 (UDP and TCP, system-picked
// ports) until the test ends.
func startServer(t testing.TB, newSession NewSessionFunc, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithListen("udp", "127.0.0.1:0"), WithListen("tcp", "127.0.0.1:0"),
		WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	srv, err := NewServer(newSession, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

// checkStream asserts the RTP stream is one well-formed stream: one SSRC
// and payload type, sequence numbers without gaps, timestamps advancing a
// frame per packet within a talkspurt and never backwards. It returns the
// mean interval between packets.
func checkStream(t testing.TB, pkts []packet, pt uint8) time.Duration {
	t.Helper()
	if len(pkts) < 50 {
		t.Fatalf("only %d RTP packets", len(pkts))
	}
	first := pkts[0]
	for i, p := range pkts {
		if p.h.ssrc != first.h.ssrc || p.h.pt != pt {
			t.Fatalf("packet %d: SSRC %x PT %d, want %x %d", i, p.h.ssrc, p.h.pt, first.h.ssrc, pt)
		}
		if len(p.payload) != 160 {
			t.Fatalf("packet %d: %d bytes of payload, want 160 (20 ms)", i, len(p.payload))
		}
		if i == 0 {
			continue
		}
		prev := pkts[i-1]
		if p.h.seq != prev.h.seq+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, p.h.seq, prev.h.seq)
		}
		d := int32(p.h.ts - prev.h.ts)
		switch {
		case !p.h.marker && d != 160:
			t.Fatalf("packet %d: timestamp advanced %d within a talkspurt, want 160", i, d)
		case p.h.marker && d < 160:
			t.Fatalf("packet %d: talkspurt starts %d after the last packet", i, d)
		}
	}
	return pkts[len(pkts)-1].at.Sub(first.at) / time.Duration(len(pkts)-1)
}

func describe(pkts []packet) string {
	var b bytes.Buffer
	for i, p := range pkts {
		if i%50 == 0 {
			fmt.Fprintf(&b, "\n%4d:", i)
		}
		fmt.Fprintf(&b, " %.0f", level(p))
	}
	return b.String()
}
