package siptest

import (
	"bytes"
	"context"
	"embed"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

//go:embed scenarios/*.xml
var scenarios embed.FS

// Binary returns the path of sipp, skipping the test without it.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("sipp")
	if err != nil {
		t.Skipf("sipp is not installed (%v); `make deps` installs it (Debian sip-tester)", err)
	}
	return p
}

// FreeUDPPort returns an even UDP port of 127.0.0.1 that is free, with the
// three after it (sipp binds its media port and the ones after it).
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port &^ 1
		pc.Close()
		ok := port > 1024
		for p := port; ok && p < port+4; p++ {
			q, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			q.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free UDP ports")
	return 0
}

// Run runs one sipp call with the named scenario (caller.xml,
// caller_dtmf.xml, caller_transfer.xml, caller_cancel.xml,
// caller_refused.xml, human.xml, human_bridge.xml, human_busy.xml,
// human_noanswer.xml) against the server at target (none for a
// scenario that answers calls), with -key substitutions and extra
// arguments (a "-p" among them replaces the free port picked for sipp's
// signalling). It returns sipp's output, with its error log on failure, and
// its error: nil when the call went as the scenario says.
func Run(ctx context.Context, t testing.TB, scenario string, target netip.AddrPort, keys map[string]string, args ...string) (string, error) {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	xml, err := scenarios.ReadFile("scenarios/" + scenario)
	if err != nil {
		t.Fatal(err)
	}
	sf := filepath.Join(dir, scenario)
	if err := os.WriteFile(sf, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	argv := []string{"-sf", sf, "-m", "1", "-i", "127.0.0.1", "-mp", strconv.Itoa(FreeUDPPort(t)),
		"-timeout", "60s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "errors.log")}
	if !slices.Contains(args, "-p") {
		argv = append(argv, "-p", strconv.Itoa(FreeUDPPort(t)))
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
	if err = cmd.Run(); err != nil {
		if b, rerr := os.ReadFile(filepath.Join(dir, "errors.log")); rerr == nil {
			out.WriteString("\n--- sipp errors.log ---\n")
			out.Write(b)
		}
	}
	return out.String(), err
}

// G711WAV writes samples (8 kHz mono) as a μ-law or A-law WAV file in dir,
// the format sipp's rtp_stream plays, and returns its path.
func G711WAV(t testing.TB, dir, name string, samples []int16, ulaw bool) string {
	t.Helper()
	format, data := uint16(6), g711.EncodeAlaw(nil, samples) // A-law
	if ulaw {
		format, data = 7, g711.EncodeUlaw(nil, samples)
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

// Packet is one RTP packet an RTPSink received.
type Packet struct {
	At time.Time
	rtp.Header
	Payload []byte
}

// Level decodes a G.711 payload (PCMU for payload type 0, else PCMA) and
// returns its level in dBFS.
func (p Packet) Level() float64 {
	if p.PayloadType == 0 {
		return pcm.DBFS(g711.DecodeUlaw(nil, p.Payload))
	}
	return pcm.DBFS(g711.DecodeAlaw(nil, p.Payload))
}

// RTPSink is a caller's media port: it records every RTP packet sent to
// it until the test ends.
type RTPSink struct {
	pc   net.PacketConn
	port int
	wg   sync.WaitGroup

	mu   sync.Mutex
	pkts []Packet
}

// NewRTPSink listens on a free port of 127.0.0.1.
func NewRTPSink(t testing.TB) *RTPSink {
	t.Helper()
	var pc net.PacketConn
	port := 0
	for range 20 {
		port = FreeUDPPort(t)
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			break
		}
	}
	if pc == nil {
		t.Fatal("no port for RTP")
	}
	s := &RTPSink{pc: pc, port: port}
	s.wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) != nil {
				continue
			}
			s.mu.Lock()
			s.pkts = append(s.pkts, Packet{At: time.Now(), Header: p.Header, Payload: bytes.Clone(p.Payload)})
			s.mu.Unlock()
		}
	})
	t.Cleanup(func() {
		pc.Close()
		s.wg.Wait()
	})
	return s
}

// Port is the port to name in the SDP offer.
func (s *RTPSink) Port() int { return s.port }

// Packets returns the packets received so far, in arrival order.
func (s *RTPSink) Packets() []Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.pkts)
}
