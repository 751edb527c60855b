package twilio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

// benchConn returns a connection without a socket: what it sends stays
// queued.
func benchConn() *Conn {
	cfg := &config{core: wscore.Config{MaxQueueBytes: 1 << 30, MaxDelay: time.Hour}}
	cfg.core.SetDefaults()
	log := slog.New(slog.DiscardHandler)
	return &Conn{core: wscore.New(nil, &cfg.core, log), cfg: cfg, start: Start{StreamSid: "MZ1"}, mediaPrefix: mediaPrefix("MZ1"), log: log}
}

// BenchmarkWriteAudio measures turning 20 ms of agent audio into a queued
// media message.
func BenchmarkWriteAudio(b *testing.B) {
	c := benchConn()
	fr := pcm.Frame{Format: pcm.Mono8k, Samples: speech8k(b, "agent_reply_slt.wav")[8000:8160]}
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		if err := c.WriteAudio(ctx, fr); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			_ = c.Flush(ctx) // empties the queue
		}
	}
}

// BenchmarkReadMedia measures parsing and decoding one 20 ms media message.
func BenchmarkReadMedia(b *testing.B) {
	c := benchConn()
	data, err := json.Marshal(Message{Event: EventMedia, StreamSid: "MZ1", Media: &Media{
		Track: "inbound", Chunk: "9", Timestamp: "180",
		Payload: base64.StdEncoding.EncodeToString(g711.EncodeUlaw(nil, speech8k(b, "order_slt.wav")[8000:8160])),
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		m, err := ParseMessage(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.handle(m); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ReadAudio(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendAudio checks that a media payload decodes into storage the
// reader keeps without allocating, as Audio decodes it, and that a bad
// payload leaves the storage as it was.
func TestAppendAudio(t *testing.T) {
	ulaw := g711.EncodeUlaw(nil, speech8k(t, "order_slt.wav")[8000:8160])
	m := Media{Payload: base64.StdEncoding.EncodeToString(ulaw)}
	dst := make([]byte, 0, 160)
	got, err := m.AppendAudio(dst)
	if err != nil || !bytes.Equal(got, ulaw) {
		t.Fatalf("AppendAudio: %d bytes, %v; want the %d encoded", len(got), err, len(ulaw))
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = m.AppendAudio(dst) }); n != 0 {
		t.Errorf("AppendAudio allocates %.0f times", n)
	}
	bad := Media{Payload: "not base64!"}
	if got, err := bad.AppendAudio(dst[:3]); !errors.Is(err, ErrMessage) || len(got) != 3 {
		t.Fatalf("bad payload: %d bytes, %v; want the 3 given and ErrMessage", len(got), err)
	}
}
