package sip

import (
	"errors"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
)

// FuzzSDPOffer: any offer parses or fails with ErrSDP; one that parses
// negotiates or fails with ErrNoCodec, and the answer to it parses back.
func FuzzSDPOffer(f *testing.F) {
	f.Add([]byte(sippOffer))
	f.Add([]byte("v=0\nc=IN IP6 ::1\nm=audio 7000 RTP/AVP 96 0\na=rtpmap:96 opus/48000/2\na=fmtp:96 x\na=sendonly\n"))
	f.Add([]byte("v=0\r\nm=audio 5000/2 RTP/AVP 0 8 13 101\r\nc=IN IP4 10.1.1.1\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseOffer(b)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("error %v does not wrap ErrSDP", err)
			}
			return
		}
		m, err := negotiate(o, []Codec{PCMU, PCMA, Opus})
		if err != nil {
			if !errors.Is(err, ErrNoCodec) {
				t.Fatalf("error %v does not wrap ErrNoCodec", err)
			}
			return
		}
		ans := answerSDP(m, netip.MustParseAddrPort("127.0.0.1:4000"), 1, 1)
		if _, err := parseOffer(ans); err != nil {
			t.Fatalf("answer %q does not parse: %v", ans, err)
		}
	})
}

// FuzzRTPPacket feeds a call's receive path (RTP parsing, telephone-events,
// jitter buffer, decoding) a stream of datagrams cut from the input: it
// must never panic, and every frame it queues is 8 kHz audio, not empty.
func FuzzRTPPacket(f *testing.F) {
	pkt := func(seq uint16, pt uint8, payload ...byte) []byte {
		return appendRTP(nil, rtpHeader{pt: pt, seq: seq, ts: uint32(seq) * 160, ssrc: 7}, payload)
	}
	join := func(pkts ...[]byte) []byte {
		var out []byte
		for _, p := range pkts {
			out = append(out, byte(len(p)))
			out = append(out, p...)
		}
		return out
	}
	audio := make([]byte, 160)
	f.Add(join(pkt(1, 0, audio...), pkt(3, 0, audio...), pkt(2, 0, audio...)))
	f.Add(join(pkt(1, 101, 5, 0x80, 0, 160), pkt(2, 101, 5, 0x80, 0, 160), pkt(9, 0, audio[:10]...)))
	f.Add(join([]byte{0x80, 200, 0, 1}, pkt(40000, 0, audio...), pkt(1, 0, audio...)))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg := &config{jitter: 3, log: slog.New(slog.DiscardHandler)}
		cd, _ := PCMU.newCoder()
		c := newConn(Call{}, cfg, cfg.log, nil, cd, media{codec: PCMU, pt: 0, dtmfPT: 101})
		var digits []string
		cfg.dtmf = func(_ Session, d string) { digits = append(digits, d) }
		for len(b) > 0 {
			n := min(int(b[0]), len(b)-1)
			_ = c.handlePacket(b[1 : 1+n])
			b = b[1+n:]
			for len(c.frames) > 0 {
				fr := <-c.frames
				if fr.Format != pcm.Mono8k || len(fr.Samples) == 0 || len(fr.Samples) > maxPacket {
					t.Fatalf("frame of %d samples at %v", len(fr.Samples), fr.Format)
				}
			}
		}
		for _, d := range digits {
			if len(d) != 1 {
				t.Fatalf("digit %q", d)
			}
		}
	})
}

// FuzzDTMFInfo: INFO bodies give one key or ErrDTMF.
func FuzzDTMFInfo(f *testing.F) {
	f.Add([]byte("Signal=5\r\nDuration=160\r\n"))
	f.Add([]byte("#"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (string, error){parseDTMFRelay, parseDTMFBody} {
			d, err := parse(b)
			if err != nil {
				if !errors.Is(err, ErrDTMF) {
					t.Fatalf("error %v does not wrap ErrDTMF", err)
				}
				continue
			}
			if len(d) != 1 {
				t.Fatalf("key %q", d)
			}
		}
	})
}
