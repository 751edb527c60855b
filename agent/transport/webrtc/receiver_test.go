package webrtc

import (
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/harkvoice/hark/codecs/opus"
)

func TestReceiver(t *testing.T) {
	enc, err := opus.NewEncoder(rtpRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	samples := tone(10 * frameSamples)
	var payloads [][]byte
	for i := range 10 {
		p, err := enc.Encode(samples[i*frameSamples:(i+1)*frameSamples], nil)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	pkt := func(seq uint16, i int, payload []byte) *rtp.Packet {
		return &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: 1000 + uint32(i*frameSamples)}, Payload: payload}
	}
	// Sequence numbers start near the wrap to exercise it.
	tests := []struct {
		name    string
		p       *rtp.Packet
		ok      bool
		samples int
		at      time.Duration
	}{
		{"first", pkt(65534, 0, payloads[0]), true, frameSamples, 0},
		{"next, across the wrap", pkt(65535, 1, payloads[1]), true, frameSamples, 20 * time.Millisecond},
		{"padding only", pkt(0, 1, nil), false, 0, 0},
		{"after padding: no loss", pkt(1, 2, payloads[2]), true, frameSamples, 40 * time.Millisecond},
		{"duplicate", pkt(1, 2, payloads[2]), false, 0, 0},
		{"two lost: concealed", pkt(4, 5, payloads[5]), true, 3 * frameSamples, 60 * time.Millisecond},
		{"late", pkt(3, 4, payloads[4]), false, 0, 0},
		{"long loss: not concealed", pkt(12, 9, payloads[9]), true, frameSamples, 180 * time.Millisecond},
	}
	rx, err := newReceiver()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		fr, ok, err := rx.receive(tt.p)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if ok != tt.ok {
			t.Fatalf("%s: ok = %v", tt.name, ok)
		}
		if !ok {
			continue
		}
		if len(fr.Samples) != tt.samples || fr.Timestamp != tt.at {
			t.Errorf("%s: %d samples at %v, want %d at %v", tt.name, len(fr.Samples), fr.Timestamp, tt.samples, tt.at)
		}
	}
	if _, _, err := rx.receive(pkt(13, 10, []byte{0xff, 0xff, 0xff})); err == nil {
		t.Error("a corrupt packet decoded without error")
	}
}

func BenchmarkReceiver(b *testing.B) {
	enc, err := opus.NewEncoder(rtpRate, 1)
	if err != nil {
		b.Fatal(err)
	}
	payload, err := enc.Encode(tone(frameSamples), nil)
	if err != nil {
		b.Fatal(err)
	}
	rx, err := newReceiver()
	if err != nil {
		b.Fatal(err)
	}
	p := &rtp.Packet{Payload: payload}
	for b.Loop() {
		p.SequenceNumber++
		p.Timestamp += frameSamples
		if _, _, err := rx.receive(p); err != nil {
			b.Fatal(err)
		}
	}
}
