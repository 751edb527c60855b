package sip

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func TestParseRTP(t *testing.T) {
	h := rtpHeader{marker: true, pt: 8, seq: 65535, ts: 0xdeadbeef, ssrc: 0x01020304}
	plain := appendRTP(nil, h, []byte{1, 2, 3})
	// CSRC count 2, extension of one word, 2 bytes of padding.
	full := []byte{0xb2, 0x88, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4,
		9, 9, 9, 9, 8, 8, 8, 8, // CSRCs
		0xbe, 0xde, 0, 1, 7, 7, 7, 7, // extension
		1, 2, 3, 0, 2} // payload, padding
	for _, tc := range []struct {
		name    string
		b       []byte
		payload []byte
		ok      bool
	}{
		{"plain", plain, []byte{1, 2, 3}, true},
		{"csrc, extension, padding", full, []byte{1, 2, 3}, true},
		{"short", plain[:11], nil, false},
		{"version 1", append([]byte{0x40}, plain[1:]...), nil, false},
		{"csrc beyond end", append([]byte{0x8f}, plain[1:]...), nil, false},
		{"extension beyond end", append([]byte{0x90}, plain[1:]...), nil, false},
		{"padding zero", append(append([]byte{0xa0}, plain[1:]...), 0), nil, false},
		{"padding beyond payload", append(append([]byte{0xa0}, plain[1:]...), 9), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, p, err := parseRTP(tc.b)
			if !tc.ok {
				if !errors.Is(err, ErrRTP) {
					t.Fatalf("err %v, want ErrRTP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != h || !bytes.Equal(p, tc.payload) {
				t.Errorf("got %+v %v, want %+v %v", got, p, h, tc.payload)
			}
		})
	}
}

func TestParseDTMF(t *testing.T) {
	ev, err := parseDTMF([]byte{11, 0x8a, 0x03, 0x20})
	if err != nil || ev.digit() != "#" || !ev.end || ev.duration != 800 {
		t.Errorf("got %+v %q, %v", ev, ev.digit(), err)
	}
	if ev, _ := parseDTMF([]byte{16, 0, 0, 0}); ev.digit() != "" {
		t.Errorf("flash gave digit %q", ev.digit())
	}
	if _, err := parseDTMF([]byte{1, 2, 3}); !errors.Is(err, ErrRTP) {
		t.Errorf("short payload: %v", err)
	}
}

func TestDTMFInfo(t *testing.T) {
	for _, tc := range []struct {
		relay bool
		body  string
		want  string
	}{
		{true, "Signal=5\r\nDuration=160\r\n", "5"},
		{true, "signal= *\nDuration=100", "*"},
		{true, "Signal=11\r\n", "#"},
		{true, "Duration=160\r\n", ""},
		{true, "Signal=55\r\n", ""},
		{false, "a\r\n", "A"},
		{false, "#", "#"},
		{false, "xy", ""},
	} {
		parse := parseDTMFBody
		if tc.relay {
			parse = parseDTMFRelay
		}
		got, err := parse([]byte(tc.body))
		if tc.want == "" {
			if !errors.Is(err, ErrDTMF) {
				t.Errorf("%q: %q, %v; want ErrDTMF", tc.body, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.body, got, err, tc.want)
		}
	}
}

// TestJitterBuffer feeds sequences and checks what comes out, in order:
// a number is a packet (its payload is its sequence number), "L" a lost
// packet concealed.
func TestJitterBuffer(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []uint16
		want string
	}{
		{"in order", []uint16{10, 11, 12}, "10 11 12"},
		{"swap", []uint16{10, 12, 11, 13}, "10 11 12 13"},
		{"duplicate and late", []uint16{10, 11, 11, 10, 12}, "10 11 12"},
		{"loss given up after depth", []uint16{10, 12, 13, 14, 15}, "10 L 12 13 14 15"},
		{"loss recovered within depth", []uint16{10, 12, 13, 11, 14}, "10 11 12 13 14"},
		{"two lost", []uint16{10, 13, 14, 15, 16}, "10 L L 13 14 15 16"},
		{"wraps", []uint16{65534, 65535, 0, 1}, "65534 65535 0 1"},
		{"restart far ahead", []uint16{10, 12, 5000, 5001}, "10 L 12 5000 5001"},
		{"restart behind", []uint16{5000, 5001, 10, 11}, "5000 5001 10 11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jb := jitterBuffer{depth: 3}
			var got []string
			emit := func(p []byte, lost bool) {
				if lost {
					got = append(got, "L")
					return
				}
				got = append(got, fmt.Sprint(uint16(p[0])<<8|uint16(p[1])))
			}
			for _, seq := range tc.in {
				jb.push(seq, []byte{byte(seq >> 8), byte(seq)}, emit)
			}
			if s := fmt.Sprint(slices.Collect(slices.Values(got))); s != "["+tc.want+"]" {
				t.Errorf("got %s, want [%s]", s, tc.want)
			}
		})
	}
}

// TestKeepAlive: a call the agent is silent on sends a frame of silence
// when answered and then about once a second, each a talkspurt of its own
// on the call's one stream; nothing once the call has ended.
func TestKeepAlive(t *testing.T) {
	far, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := &config{jitter: 3, log: slog.New(slog.DiscardHandler)}
	cd, _ := PCMU.newCoder()
	c := newConn(Call{Codec: PCMU}, cfg, cfg.log, pc, cd, media{codec: PCMU, pt: 0, dtmfPT: -1,
		remote: far.LocalAddr().(*net.UDPAddr).AddrPort(), dir: dirSendRecv})
	c.startKeepAlive()
	buf := make([]byte, maxPacket)
	var prev rtpHeader
	for i := range 3 {
		_ = far.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := far.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		h, payload, err := parseRTP(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if !h.marker || h.pt != 0 || len(payload) != 160 || bytes.Count(payload, []byte{0xff}) != 160 {
			t.Fatalf("packet %d: %+v, payload %x; want a marked frame of μ-law silence", i, h, payload)
		}
		if i > 0 && (h.ssrc != prev.ssrc || h.seq != prev.seq+1 || int32(h.ts-prev.ts) < 160) {
			t.Fatalf("packet %d: %+v after %+v", i, h, prev)
		}
		prev = h
	}
	c.finish(errSessionEnded)
	c.close()
	_ = far.SetReadDeadline(time.Now().Add(2 * keepAliveEvery))
	if n, err := far.Read(buf); err == nil {
		t.Fatalf("a packet after the call ended: % x", buf[:n])
	}
}
