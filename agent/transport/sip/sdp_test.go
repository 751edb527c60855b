package sip

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

const sippOffer = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 6000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"

func TestParseOffer(t *testing.T) {
	for _, tc := range []struct {
		name, sdp string
		want      offer
		err       error
	}{
		{name: "sipp", sdp: sippOffer, want: offer{
			addr: netip.MustParseAddr("127.0.0.1"), port: 6000, proto: "RTP/AVP", ptime: 20, dir: dirSendRecv,
			formats: []rtpFormat{{8, "pcma", 8000, 1, ""}, {0, "pcmu", 8000, 1, ""}, {101, "telephone-event", 8000, 1, "0-15"}},
		}},
		{name: "media-level address and direction, video skipped, LF only", sdp: "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=sendonly\n" +
			"m=video 5000 RTP/AVP 96\nc=IN IP4 10.0.0.9\n" +
			"m=audio 0 RTP/AVP 0\n" +
			"m=audio 7000 RTP/AVP 96 0\nc=IN IP6 ::1\na=rtpmap:96 opus/48000/2\na=fmtp:96 useinbandfec=1\na=recvonly\n" +
			"m=audio 8000 RTP/AVP 8\n", want: offer{
			addr: netip.MustParseAddr("::1"), port: 7000, proto: "RTP/AVP", dir: dirRecvOnly,
			formats: []rtpFormat{{96, "opus", 48000, 2, "useinbandfec=1"}, {0, "pcmu", 8000, 1, ""}},
		}},
		{name: "session direction inherited", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\na=inactive\r\nm=audio 1 RTP/AVP 0\r\n", want: offer{
			addr: netip.MustParseAddr("1.2.3.4"), port: 1, proto: "RTP/AVP", dir: dirInactive, formats: []rtpFormat{{0, "pcmu", 8000, 1, ""}},
		}},
		{name: "empty", sdp: "", err: ErrSDP},
		{name: "no version", sdp: "o=- 1 1 IN IP4 1.2.3.4\r\n", err: ErrSDP},
		{name: "no audio", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=video 5000 RTP/AVP 96\r\n", err: ErrSDP},
		{name: "no address", sdp: "v=0\r\nm=audio 5000 RTP/AVP 0\r\n", err: ErrSDP},
		{name: "host name", sdp: "v=0\r\nc=IN IP4 pbx.example.com\r\nm=audio 5000 RTP/AVP 0\r\n", err: ErrSDP},
		{name: "multicast", sdp: "v=0\r\nc=IN IP4 224.2.1.1/127\r\nm=audio 5000 RTP/AVP 0\r\n", err: ErrSDP},
		{name: "bad port", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n", err: ErrSDP},
		{name: "bad payload type", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 200\r\n", err: ErrSDP},
		{name: "bad rtpmap", sdp: "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", err: ErrSDP},
		{name: "not type=value", sdp: "v=0\r\nhello\r\n", err: ErrSDP},
		{name: "too large", sdp: "v=0\r\n" + strings.Repeat("a=x\r\n", maxSDPBytes/5+1), err: ErrSDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOffer([]byte(tc.sdp))
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.addr != tc.want.addr || got.port != tc.want.port || got.proto != tc.want.proto || got.ptime != tc.want.ptime || got.dir != tc.want.dir {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if len(got.formats) != len(tc.want.formats) {
				t.Fatalf("formats %+v, want %+v", got.formats, tc.want.formats)
			}
			for i := range got.formats {
				if got.formats[i] != tc.want.formats[i] {
					t.Errorf("format %d: %+v, want %+v", i, got.formats[i], tc.want.formats[i])
				}
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	off, err := parseOffer([]byte(sippOffer))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		proto   string
		dir     string
		enabled []Codec
		want    Codec
		pt      uint8
		wantDir string
		err     error
	}{
		{name: "offer order", enabled: []Codec{PCMU, PCMA}, want: PCMA, pt: 8, wantDir: dirSendRecv},
		{name: "only PCMU enabled", enabled: []Codec{PCMU}, want: PCMU, pt: 0, wantDir: dirSendRecv},
		{name: "hold", dir: dirSendOnly, enabled: []Codec{PCMU}, want: PCMU, pt: 0, wantDir: dirRecvOnly},
		{name: "nothing in common", enabled: []Codec{Opus}, err: ErrNoCodec},
		{name: "SRTP", proto: "RTP/SAVP", enabled: []Codec{PCMU}, err: ErrNoCodec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := off
			if tc.proto != "" {
				o.proto = tc.proto
			}
			if tc.dir != "" {
				o.dir = tc.dir
			}
			m, err := negotiate(o, tc.enabled)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.codec != tc.want || m.pt != tc.pt || m.dtmfPT != 101 || m.dir != tc.wantDir || m.remote != netip.MustParseAddrPort("127.0.0.1:6000") {
				t.Errorf("got %+v", m)
			}
		})
	}
}

// TestAnswerSDP checks the answer parses back as what was negotiated.
func TestAnswerSDP(t *testing.T) {
	for _, m := range []media{
		{codec: PCMU, pt: 0, dtmfPT: 101, dir: dirSendRecv},
		{codec: Opus, pt: 111, dtmfPT: -1, dir: dirRecvOnly},
	} {
		local := netip.MustParseAddrPort("192.0.2.7:40000")
		b := answerSDP(m, local, 42, 1)
		o, err := parseOffer(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if o.addr != local.Addr() || o.port != 40000 || o.dir != m.dir || o.proto != "RTP/AVP" {
			t.Errorf("%s: parsed %+v", b, o)
		}
		back, err := negotiate(o, []Codec{m.codec})
		if err != nil || back.codec != m.codec || back.pt != m.pt || back.dtmfPT != m.dtmfPT {
			t.Errorf("%s: negotiated back %+v, %v", b, back, err)
		}
	}
}
