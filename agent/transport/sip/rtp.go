package sip

import (
	"encoding/binary"
	"fmt"
)

// rtpHeader is the part of an RTP header (RFC 3550 §5.1) Hark uses.
type rtpHeader struct {
	marker bool
	pt     uint8
	seq    uint16
	ts     uint32
	ssrc   uint32
}

// rtpHeaderLen is the length of the header Hark writes (no CSRCs, no
// extension).
const rtpHeaderLen = 12

// parseRTP splits an RTP packet into its header and payload. The payload
// aliases b. Errors wrap ErrRTP.
func parseRTP(b []byte) (rtpHeader, []byte, error) {
	var h rtpHeader
	if len(b) < rtpHeaderLen {
		return h, nil, fmt.Errorf("%w: %d bytes is shorter than a header", ErrRTP, len(b))
	}
	if v := b[0] >> 6; v != 2 {
		return h, nil, fmt.Errorf("%w: version %d", ErrRTP, v)
	}
	padding := b[0]&0x20 != 0
	extension := b[0]&0x10 != 0
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	if extension {
		if len(b) < n+4 {
			return h, nil, fmt.Errorf("%w: extension header cut short", ErrRTP)
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	if len(b) < n {
		return h, nil, fmt.Errorf("%w: header of %d bytes in a %d-byte packet", ErrRTP, n, len(b))
	}
	end := len(b)
	if padding {
		p := int(b[len(b)-1])
		if p == 0 || end-p < n {
			return h, nil, fmt.Errorf("%w: padding of %d bytes", ErrRTP, p)
		}
		end -= p
	}
	return h, b[n:end], nil
}

// appendRTP appends an RTP packet with header h and payload to dst.
func appendRTP(dst []byte, h rtpHeader, payload []byte) []byte {
	var hdr [rtpHeaderLen]byte
	hdr[0] = 2 << 6
	hdr[1] = h.pt & 0x7f
	if h.marker {
		hdr[1] |= 0x80
	}
	binary.BigEndian.PutUint16(hdr[2:], h.seq)
	binary.BigEndian.PutUint32(hdr[4:], h.ts)
	binary.BigEndian.PutUint32(hdr[8:], h.ssrc)
	return append(append(dst, hdr[:]...), payload...)
}

// dtmfEvent is an RFC 4733 telephone-event payload.
type dtmfEvent struct {
	event    uint8
	end      bool
	duration uint16
}

// parseDTMF reads a telephone-event payload. Errors wrap ErrRTP.
func parseDTMF(p []byte) (dtmfEvent, error) {
	if len(p) < 4 {
		return dtmfEvent{}, fmt.Errorf("%w: telephone-event of %d bytes", ErrRTP, len(p))
	}
	return dtmfEvent{event: p[0], end: p[1]&0x80 != 0, duration: binary.BigEndian.Uint16(p[2:])}, nil
}

// digit returns the key an event stands for ("0"-"9", "*", "#", "A"-"D"),
// or "" for other events (flash, tones).
func (e dtmfEvent) digit() string {
	const keys = "0123456789*#ABCD"
	if int(e.event) < len(keys) {
		return keys[e.event : e.event+1]
	}
	return ""
}

// jitterSlots bounds how far ahead of the next expected packet the jitter
// buffer holds packets; a packet further ahead restarts the sequence.
const jitterSlots = 32

// jitterBuffer puts RTP packets back in sequence order. It adds no delay
// to packets that arrive in order: a packet is held only while an earlier
// one is missing, and a missing packet is given up as lost (and concealed)
// once depth later packets have arrived. It is not safe for concurrent
// use.
type jitterBuffer struct {
	depth   int
	started bool
	next    uint16 // sequence number expected next
	held    int
	slots   [jitterSlots]jitterSlot
}

type jitterSlot struct {
	full    bool
	seq     uint16
	payload []byte
}

// push adds a packet and calls emit, in order, for every packet now ready,
// with lost set (and payload nil) for each one given up. The payload
// passed to emit is only valid during the call.
func (j *jitterBuffer) push(seq uint16, payload []byte, emit func(payload []byte, lost bool)) {
	if !j.started {
		j.started, j.next = true, seq
	}
	d := int16(seq - j.next)
	switch {
	case d < 0 && d > -jitterSlots:
		return // late or duplicate: its place was already played
	case d < 0 || int(d) >= jitterSlots:
		// The sender restarted its sequence (or jumped far ahead): play
		// what is held and start again from this packet.
		j.drain(emit)
		j.next = seq
		d = 0
	}
	s := &j.slots[seq%jitterSlots]
	if s.full {
		return // duplicate of a held packet
	}
	if d == 0 {
		emit(payload, false)
		j.next++
	} else {
		s.full, s.seq = true, seq
		s.payload = append(s.payload[:0], payload...)
		j.held++
	}
	j.release(seq, emit)
}

// release emits held packets that are next in order, and gives up missing
// ones while newest is depth or more packets ahead of them.
func (j *jitterBuffer) release(newest uint16, emit func([]byte, bool)) {
	for j.held > 0 {
		s := &j.slots[j.next%jitterSlots]
		switch {
		case s.full && s.seq == j.next:
			s.full = false
			j.held--
			emit(s.payload, false)
		case int16(newest-j.next) >= int16(j.depth):
			emit(nil, true)
		default:
			return
		}
		j.next++
	}
}

// drain emits everything held, concealing the gaps between.
func (j *jitterBuffer) drain(emit func([]byte, bool)) {
	for j.held > 0 {
		s := &j.slots[j.next%jitterSlots]
		if s.full && s.seq == j.next {
			s.full = false
			j.held--
			emit(s.payload, false)
		} else {
			emit(nil, true)
		}
		j.next++
	}
}
