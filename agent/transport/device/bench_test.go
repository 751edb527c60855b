package device

import (
	"context"
	"net/http"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
)

func BenchmarkParseClientMessage(b *testing.B) {
	msg := []byte(`{"type":"text","text":"set a timer for five minutes"}`)
	for b.Loop() {
		if _, err := ParseClientMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteAudio measures the per-frame cost of encoding 20 ms of agent
// audio into messages in each encoding (queuing them is an append).
func BenchmarkWriteAudio(b *testing.B) {
	for _, tc := range []struct {
		name string
		a    AudioFormat
	}{
		{"pcm16", AudioFormat{Encoding: EncodingPCM16, SampleRate: 16000}},
		{"opus48k", AudioFormat{Encoding: EncodingOpus, SampleRate: 48000}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return nil, nil })
			if err != nil {
				b.Fatal(err)
			}
			c, err := h.newConn(nil, Hello{Version: 1, Audio: tc.a})
			if err != nil {
				b.Fatal(err)
			}
			f := c.OutputFormat()
			fr := pcm.Frame{Format: f, Samples: speech(b, "agent_reply_slt.wav", f.Rate)[:f.Samples(frameDuration)]}
			for b.Loop() {
				if _, _, err := c.encode(fr.Samples); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHandleAudio measures decoding one 20 ms device message.
func BenchmarkHandleAudio(b *testing.B) {
	h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return nil, nil })
	if err != nil {
		b.Fatal(err)
	}
	c, err := h.newConn(nil, Hello{Version: 1, Audio: AudioFormat{Encoding: EncodingPCM16, SampleRate: 16000}})
	if err != nil {
		b.Fatal(err)
	}
	msg := newAudioSender(b, EncodingPCM16, 16000).frames(b, speech(b, "order_slt.wav", 16000))[20]
	ctx := context.Background()
	for b.Loop() {
		if err := c.handleAudio(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ReadAudio(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
