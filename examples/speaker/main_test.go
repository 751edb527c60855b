package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
)

// TestSpeaker runs the device against its own server with the offline
// engines: a spoken request over Opus at 48 kHz, then a typed one, and the
// replies played into the output WAV.
func TestSpeaker(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with the offline engines")
	}
	eng, err := offline.New()
	if err != nil {
		t.Skipf("offline engines not installed (make deps): %v", err)
	}
	defer eng.Close()
	h, err := deviceHandler(eng, "tok", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var out bytes.Buffer
	o := options{
		url: "ws" + strings.TrimPrefix(srv.URL, "http"), in: "../../testdata/speech/timer_awb.wav",
		out: filepath.Join(t.TempDir(), "reply.wav"), codec: "opus", rate: 48000, lang: "en", token: "tok",
		text: "what time is it", wait: 30 * time.Second, buffer: 120 * time.Millisecond, stdout: &out,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := runDevice(ctx, o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	log := out.String()
	for _, want := range []string{"you: set a timer for five minutes", "set_timer", "agent: ", "you (typed): what time is it", "get_time"} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
	fr, err := wav.ReadFile(o.out)
	if err != nil {
		t.Fatal(err)
	}
	if fr.Format != (pcm.Format{Rate: 48000, Channels: 1}) || fr.Duration() < 5*time.Second {
		t.Fatalf("output %v, %v", fr.Format, fr.Duration())
	}
	audible := 0
	n := fr.Format.Samples(20 * time.Millisecond)
	for i := 0; i+n <= len(fr.Samples); i += n {
		if pcm.DBFS(fr.Samples[i:i+n]) > -40 {
			audible++
		}
	}
	if audible < 50 { // a second of speech at least
		t.Fatalf("only %d audible 20 ms frames in the output\n%s", audible, log)
	}
}

func TestSpeakerRefused(t *testing.T) {
	// The token is refused before any session starts: no engines needed.
	h, err := deviceHandler(nil, "tok", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	var out bytes.Buffer
	err = runDevice(context.Background(), options{
		url: "ws" + strings.TrimPrefix(srv.URL, "http"), text: "hello", out: filepath.Join(t.TempDir(), "r.wav"),
		codec: "pcm16", rate: 16000, token: "wrong", wait: time.Second, stdout: &out,
	})
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("err %v", err)
	}
}
