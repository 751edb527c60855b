package sip

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Limits on what an offer may hold; anything larger is refused, so a
// hostile offer cannot make the parser allocate without bound.
const (
	maxSDPBytes   = 16 << 10
	maxSDPFormats = 64
)

// Media directions (RFC 4566 §6).
const (
	dirSendRecv = "sendrecv"
	dirSendOnly = "sendonly"
	dirRecvOnly = "recvonly"
	dirInactive = "inactive"
)

// rtpFormat is one payload format of an offered audio stream.
type rtpFormat struct {
	pt       uint8
	name     string // lower case: "pcmu", "pcma", "opus", "telephone-event"
	rate     int
	channels int
	fmtp     string
}

// offer is the part of an SDP offer Hark acts on: the first active audio
// stream.
type offer struct {
	addr    netip.Addr // where to send RTP
	port    int
	proto   string
	formats []rtpFormat
	ptime   int    // ms; 0 when not given
	dir     string // the offerer's direction
}

// staticFormats are the payload types RFC 3551 assigns, used when an offer
// lists them without an rtpmap.
var staticFormats = map[uint8]rtpFormat{
	0:  {pt: 0, name: "pcmu", rate: 8000, channels: 1},
	8:  {pt: 8, name: "pcma", rate: 8000, channels: 1},
	13: {pt: 13, name: "cn", rate: 8000, channels: 1},
}

// parseOffer reads an SDP body and returns its first audio stream with a
// non-zero port. Errors wrap ErrSDP.
func parseOffer(b []byte) (offer, error) {
	var o offer
	if len(b) == 0 {
		return o, fmt.Errorf("%w: empty body", ErrSDP)
	}
	if len(b) > maxSDPBytes {
		return o, fmt.Errorf("%w: %d bytes is over %d", ErrSDP, len(b), maxSDPBytes)
	}
	var (
		sessionAddr netip.Addr
		sessionDir  = dirSendRecv
		inAudio     bool // inside the chosen m=audio section
		done        bool // the chosen section has ended
		found       bool
		rtpmaps     = map[uint8]rtpFormat{}
		fmtps       = map[uint8]string{}
		mediaAddr   netip.Addr
		pts         []uint8
		sawVersion  bool
	)
	for line := range bytes.Lines(b) {
		l := strings.TrimRight(string(line), "\r\n")
		if l == "" {
			continue
		}
		if len(l) < 2 || l[1] != '=' {
			return o, fmt.Errorf("%w: line %q is not type=value", ErrSDP, truncate(l))
		}
		typ, val := l[0], l[2:]
		if !sawVersion {
			if typ != 'v' || val != "0" {
				return o, fmt.Errorf("%w: does not start with v=0", ErrSDP)
			}
			sawVersion = true
			continue
		}
		if typ == 'm' {
			if inAudio {
				inAudio, done = false, true
			}
			if done {
				continue
			}
			f := strings.Fields(val)
			if len(f) < 4 {
				return o, fmt.Errorf("%w: media line %q", ErrSDP, truncate(l))
			}
			port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
			if err != nil || port < 0 || port > 65535 {
				return o, fmt.Errorf("%w: media port %q", ErrSDP, truncate(f[1]))
			}
			if f[0] != "audio" || port == 0 {
				continue
			}
			if len(f)-3 > maxSDPFormats {
				return o, fmt.Errorf("%w: %d formats", ErrSDP, len(f)-3)
			}
			pts = pts[:0]
			for _, s := range f[3:] {
				pt, err := strconv.ParseUint(s, 10, 8)
				if err != nil || pt > 127 {
					return o, fmt.Errorf("%w: payload type %q", ErrSDP, truncate(s))
				}
				pts = append(pts, uint8(pt))
			}
			o.port, o.proto, o.dir = port, f[2], sessionDir
			inAudio, found = true, true
			continue
		}
		if done {
			continue
		}
		switch typ {
		case 'c':
			addr, err := parseConnection(val)
			if err != nil {
				return o, err
			}
			if inAudio {
				mediaAddr = addr
			} else if !found {
				sessionAddr = addr
			}
		case 'a':
			name, value, _ := strings.Cut(val, ":")
			switch name {
			case dirSendRecv, dirSendOnly, dirRecvOnly, dirInactive:
				if inAudio {
					o.dir = name
				} else if !found {
					sessionDir = name
				}
			case "rtpmap":
				if !inAudio {
					continue
				}
				f, err := parseRtpmap(value)
				if err != nil {
					return o, err
				}
				rtpmaps[f.pt] = f
			case "fmtp":
				if !inAudio {
					continue
				}
				pt, params, ok := strings.Cut(value, " ")
				n, err := strconv.ParseUint(pt, 10, 8)
				if !ok || err != nil {
					return o, fmt.Errorf("%w: fmtp %q", ErrSDP, truncate(value))
				}
				fmtps[uint8(n)] = strings.TrimSpace(params)
			case "ptime":
				if !inAudio {
					continue
				}
				n, err := strconv.Atoi(strings.TrimSpace(value))
				if err != nil || n <= 0 || n > 1000 {
					return o, fmt.Errorf("%w: ptime %q", ErrSDP, truncate(value))
				}
				o.ptime = n
			}
		}
	}
	if !sawVersion {
		return o, fmt.Errorf("%w: no v= line", ErrSDP)
	}
	if !found {
		return o, fmt.Errorf("%w: no audio stream", ErrSDP)
	}
	o.addr = mediaAddr
	if !o.addr.IsValid() {
		o.addr = sessionAddr
	}
	if !o.addr.IsValid() {
		return o, fmt.Errorf("%w: no connection address for audio", ErrSDP)
	}
	for _, pt := range pts {
		f, ok := rtpmaps[pt]
		if !ok {
			if f, ok = staticFormats[pt]; !ok {
				continue // a dynamic type without rtpmap names nothing we know
			}
		}
		f.fmtp = fmtps[pt]
		o.formats = append(o.formats, f)
	}
	return o, nil
}

// parseConnection reads "IN IP4 192.0.2.1" (a multicast TTL suffix is
// refused: Hark only does unicast calls).
func parseConnection(val string) (netip.Addr, error) {
	f := strings.Fields(val)
	if len(f) != 3 || f[0] != "IN" || (f[1] != "IP4" && f[1] != "IP6") {
		return netip.Addr{}, fmt.Errorf("%w: connection %q", ErrSDP, truncate(val))
	}
	addr, err := netip.ParseAddr(f[2])
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q (host names are not resolved)", ErrSDP, truncate(f[2]))
	}
	if addr.Is4() != (f[1] == "IP4") || addr.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("%w: connection address %q", ErrSDP, truncate(f[2]))
	}
	return addr.Unmap(), nil
}

// parseRtpmap reads "96 opus/48000/2".
func parseRtpmap(value string) (rtpFormat, error) {
	pt, enc, ok := strings.Cut(value, " ")
	n, err := strconv.ParseUint(pt, 10, 8)
	if !ok || err != nil || n > 127 {
		return rtpFormat{}, fmt.Errorf("%w: rtpmap %q", ErrSDP, truncate(value))
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" {
		return rtpFormat{}, fmt.Errorf("%w: rtpmap %q", ErrSDP, truncate(value))
	}
	rate, err := strconv.Atoi(parts[1])
	if err != nil || rate <= 0 || rate > 192000 {
		return rtpFormat{}, fmt.Errorf("%w: rtpmap clock rate %q", ErrSDP, truncate(parts[1]))
	}
	ch := 1
	if len(parts) == 3 {
		if ch, err = strconv.Atoi(parts[2]); err != nil || ch < 1 || ch > 8 {
			return rtpFormat{}, fmt.Errorf("%w: rtpmap channels %q", ErrSDP, truncate(parts[2]))
		}
	}
	return rtpFormat{pt: uint8(n), name: strings.ToLower(parts[0]), rate: rate, channels: ch}, nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// answerDir is the direction that answers an offer's.
func answerDir(offered string) string {
	switch offered {
	case dirSendOnly:
		return dirRecvOnly
	case dirRecvOnly:
		return dirSendOnly
	case dirInactive:
		return dirInactive
	}
	return dirSendRecv
}

// media is the result of negotiation: what a call sends and receives.
type media struct {
	codec  Codec
	pt     uint8 // payload type of codec, as the offer numbered it
	dtmfPT int   // payload type of telephone-event/8000, or -1
	remote netip.AddrPort
	dir    string // our direction
}

// negotiate picks, in the offer's order, the first format whose codec is
// enabled, and the offer's telephone-event. Errors wrap ErrNoCodec or
// ErrSDP.
func negotiate(o offer, enabled []Codec) (media, error) {
	m := media{dtmfPT: -1, dir: answerDir(o.dir)}
	if o.proto != "RTP/AVP" && o.proto != "RTP/AVPF" {
		return m, fmt.Errorf("%w: transport %q (only RTP/AVP; SRTP is not supported)", ErrNoCodec, truncate(o.proto))
	}
	m.remote = netip.AddrPortFrom(o.addr, uint16(o.port))
	found := false
	for _, f := range o.formats {
		if f.name == "telephone-event" && f.rate == 8000 && m.dtmfPT < 0 {
			m.dtmfPT = int(f.pt)
			continue
		}
		if found {
			continue
		}
		for _, c := range enabled {
			if c.matches(f) {
				m.codec, m.pt, found = c, f.pt, true
				break
			}
		}
	}
	if !found {
		names := make([]string, 0, len(o.formats))
		for _, f := range o.formats {
			names = append(names, f.name)
		}
		return m, fmt.Errorf("%w: offered %v", ErrNoCodec, names)
	}
	return m, nil
}

// answerSDP writes the SDP answer for m, receiving at local. id and version
// go on the o= line.
func answerSDP(m media, local netip.AddrPort, id, version uint64) []byte {
	ipv := "IP4"
	if local.Addr().Is6() {
		ipv = "IP6"
	}
	addr := local.Addr().String()
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=hark %d %d IN %s %s\r\ns=hark\r\nc=IN %s %s\r\nt=0 0\r\n", id, version, ipv, addr, ipv, addr)
	fmt.Fprintf(&b, "m=audio %d RTP/AVP %d", local.Port(), m.pt)
	if m.dtmfPT >= 0 {
		fmt.Fprintf(&b, " %d", m.dtmfPT)
	}
	b.WriteString("\r\n")
	fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", m.pt, m.codec.rtpmap())
	if f := m.codec.fmtp; f != "" {
		fmt.Fprintf(&b, "a=fmtp:%d %s\r\n", m.pt, f)
	}
	if m.dtmfPT >= 0 {
		fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", m.dtmfPT, m.dtmfPT)
	}
	fmt.Fprintf(&b, "a=ptime:20\r\na=%s\r\n", m.dir)
	return []byte(b.String())
}
