package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/transport/sip/siptest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

// speech8k loads a test clip resampled to 8 kHz.
func speech8k(t testing.TB, name string) []int16 {
	t.Helper()
	return speechAt(t, name, pcm.Mono8k)
}

func speechAt(t testing.TB, name string, f pcm.Format) []int16 {
	t.Helper()
	fr, err := wav.ReadFile("../../../testdata/speech/" + name)
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, f); err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}

// silence returns d of silence at 8 kHz.
func silence(d time.Duration) []int16 { return make([]int16, pcm.Mono8k.Samples(d)) }

// clipTTS speaks every request with a recorded clip (16 kHz), in 20 ms
// frames as fast as the session takes them.
func clipTTS(clip []int16) pipeline.TTS {
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		return func(yield func(pcm.Frame, error) bool) {
			for i := 0; i < len(clip); i += 320 {
				if ctx.Err() != nil {
					yield(pcm.Frame{}, ctx.Err())
					return
				}
				if !yield(pcm.Frame{Format: pcm.Mono16k, Samples: clip[i:min(i+320, len(clip))]}, nil) {
					return
				}
			}
		}
	})
}

// replyTTS speaks clip, or for text starting "Okay" a quiet 440 Hz tone
// (-36 dBFS) for 40 ms per character, so a test can tell replies apart.
func replyTTS(clip []int16) pipeline.TTS {
	speak := clipTTS(clip)
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		if !strings.HasPrefix(req.Text, "Okay") {
			return speak.Synthesize(ctx, req)
		}
		tone := make([]int16, len(req.Text)*640)
		for i := range tone {
			tone[i] = int16(0.022 * 32767 * math.Sin(2*math.Pi*440*float64(i)/16000))
		}
		return clipTTS(tone).Synthesize(ctx, req)
	})
}

// startServer runs a server on 127.0.0.1 (UDP and TCP, system-picked
// ports) until the test ends.
func startServer(t testing.TB, newSession NewSessionFunc, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithListen("udp", "127.0.0.1:0"), WithListen("tcp", "127.0.0.1:0"),
		WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	srv, err := NewServer(newSession, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}

// checkStream asserts the RTP stream is one well-formed stream: one SSRC
// and payload type, sequence numbers without gaps, timestamps advancing a
// frame per packet within a talkspurt and never backwards. It returns the
// mean interval between the packets of a talkspurt (while the agent is
// silent, a call sends only a keepalive a second).
func checkStream(t testing.TB, pkts []siptest.Packet, pt uint8) time.Duration {
	t.Helper()
	if len(pkts) < 50 {
		t.Fatalf("only %d RTP packets", len(pkts))
	}
	first := pkts[0]
	var paced time.Duration // between packets of a talkspurt
	n := 0
	for i, p := range pkts {
		if p.SSRC != first.SSRC || p.PayloadType != pt {
			t.Fatalf("packet %d: SSRC %x PT %d, want %x %d", i, p.SSRC, p.PayloadType, first.SSRC, pt)
		}
		if len(p.Payload) != 160 {
			t.Fatalf("packet %d: %d bytes of payload, want 160 (20 ms)", i, len(p.Payload))
		}
		if i == 0 {
			continue
		}
		prev := pkts[i-1]
		if p.SequenceNumber != prev.SequenceNumber+1 {
			t.Fatalf("packet %d: sequence %d after %d", i, p.SequenceNumber, prev.SequenceNumber)
		}
		d := int32(p.Timestamp - prev.Timestamp)
		switch {
		case !p.Marker && d != 160:
			t.Fatalf("packet %d: timestamp advanced %d within a talkspurt, want 160", i, d)
		case p.Marker && d < 160:
			t.Fatalf("packet %d: talkspurt starts %d after the last packet", i, d)
		}
		if !p.Marker {
			paced += p.At.Sub(prev.At)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no talkspurt longer than one packet")
	}
	return paced / time.Duration(n)
}

func describe(pkts []siptest.Packet) string {
	var b bytes.Buffer
	for i, p := range pkts {
		if i%50 == 0 {
			fmt.Fprintf(&b, "\n%4d:", i)
		}
		fmt.Fprintf(&b, " %.0f", p.Level())
	}
	return b.String()
}
