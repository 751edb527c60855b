package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

func benchConn() *Conn {
	return &Conn{
		cfg: &config{}, start: Start{StreamSid: "MZ1"}, mediaPrefix: mediaPrefix("MZ1"), log: slog.New(slog.DiscardHandler),
		frames: make(chan pcm.Frame, 1), audio: make(chan outItem, 1), done: make(chan struct{}),
		marks: map[string]func(){},
	}
}

// BenchmarkWriteAudio measures turning 20 ms of agent audio into a media
// message.
func BenchmarkWriteAudio(b *testing.B) {
	c := benchConn()
	fr := pcm.Frame{Format: pcm.Mono8k, Samples: speech8k(b, "agent_reply_slt.wav")[8000:8160]}
	ctx := context.Background()
	for b.Loop() {
		if err := c.WriteAudio(ctx, fr); err != nil {
			b.Fatal(err)
		}
		<-c.audio
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
	for b.Loop() {
		m, err := ParseMessage(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.handle(m); err != nil {
			b.Fatal(err)
		}
		<-c.frames
	}
}
