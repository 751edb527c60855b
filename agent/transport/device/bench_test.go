package device

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

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
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := c.WriteAudio(ctx, fr); err != nil {
					b.Fatal(err)
				}
				if i++; i%100 == 0 {
					_ = c.Flush(ctx) // no writer empties the queue here
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
	b.ReportAllocs()
	for b.Loop() {
		if err := c.handleAudio(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.ReadAudio(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSteadyAudioAllocations checks that a steady stream of device audio
// allocates nothing on its way in (a message read into kept storage,
// samples lent to the session and taken back): the collector's work on a
// loaded server grows with what every session allocates per frame.
func TestSteadyAudioAllocations(t *testing.T) {
	for _, enc := range []string{EncodingPCM16, EncodingOpus} {
		t.Run(enc, func(t *testing.T) {
			h, err := NewHandler(func(*http.Request, *Conn) (Session, error) { return nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			c, err := h.newConn(nil, Hello{Version: 1, Audio: AudioFormat{Encoding: enc, SampleRate: 16000}})
			if err != nil {
				t.Fatal(err)
			}
			msgs := newAudioSender(t, enc, 16000).frames(t, speech(t, "order_slt.wav", 16000))
			ctx := context.Background()
			i, r := 0, new(bytes.Reader)
			in := testing.AllocsPerRun(50, func() {
				msg := msgs[i%len(msgs)]
				i++
				r.Reset(msg)
				if err := c.handle(websocket.BinaryMessage, r); err != nil {
					t.Fatal(err)
				}
				if _, err := c.ReadAudio(ctx); err != nil {
					t.Fatal(err)
				}
			})
			if in != 0 {
				t.Errorf("a frame in allocates %.1f times", in)
			}
		})
	}
}
