package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/agenttest/browsertest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// micWAV writes the fake microphone: 1 s of silence (Chromium captures the
// first ~160 ms before the call is up), the clip, then 3 s of silence so the
// end of the turn is heard; 48 kHz mono.
func micWAV(t *testing.T, clip string) string {
	t.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "..", "testdata", "speech", clip))
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono48k); err != nil {
		t.Fatal(err)
	}
	s := make([]int16, 0, len(fr.Samples)+4*48000)
	s = append(s, make([]int16, 48000)...)
	s = append(s, fr.Samples...)
	s = append(s, make([]int16, 3*48000)...)
	path := filepath.Join(t.TempDir(), "mic.wav")
	if err := wav.WriteFile(path, pcm.Frame{Samples: s, Format: pcm.Mono48k}); err != nil {
		t.Fatal(err)
	}
	return path
}

// inboundAudio reads the page's received-audio statistics.
const inboundAudio = `(async () => {
  const pc = window.hark && window.hark.pc;
  if (!pc) return null;
  let r = null;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      r = {packets: s.packetsReceived || 0, energy: s.totalAudioEnergy || 0};
    }
  });
  return r;
})()`

type audioStats struct {
	Packets int     `json:"packets"`
	Energy  float64 `json:"energy"`
}

// TestBrowserConversation: headless Chromium opens the demo page, presses
// Talk and asks a question through a WAV file used as its microphone; the
// offline engines answer. The transcript and the reply must appear in the
// page and the reply's audio must reach the browser. The page picks Hark's
// server-side echo canceller (?aec=server): the browser's own processing is
// off and the server's canceller must pass the user's words unharmed.
func TestBrowserConversation(t *testing.T) {
	logs := &agenttest.Logs{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := config{host: "127.0.0.1", engines: "offline", language: "en", iceLoopback: true}
	eng, err := newEngines(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.close()
	srv, err := newServer(cfg, eng, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() {
		ts.Close()
		if err := srv.close(); err != nil {
			t.Error(err)
		}
	}()

	ctx, browserLogs := browsertest.Start(t, browsertest.Options{Mic: micWAV(t, "order_slt.wav"), NoLoop: true, Width: 1100})
	defer func() {
		if t.Failed() {
			t.Logf("server logs:\n%s\nbrowser logs:\n%s", logs, browserLogs)
		}
	}()

	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/?aec=server")); err != nil {
		t.Fatal(err)
	}
	step := func(what string, d time.Duration, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, d)
		defer scancel()
		if _, err := chromedp.Run(sctx, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("press Talk", 10*time.Second, chromedp.Click(chromedp.CSS("#talk")))
	step("connect", 15*time.Second, chromedp.Poll[chromedp.Void](`window.hark.pc && window.hark.pc.connectionState === "connected"`))
	step("user transcript", 45*time.Second, chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll("#transcript .msg.user:not(.partial)")].some((e) => /order/i.test(e.textContent))`))
	step("agent reply", 30*time.Second, chromedp.Poll[chromedp.Void](
		`[...document.querySelectorAll("#transcript .msg.agent")].some((e) => e.textContent.trim().length > 0)`))

	// The reply's audio reaches the browser: a second of packets, with
	// energy.
	stats := func() audioStats {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		st, err := chromedp.Run(sctx, chromedp.Evaluate[*audioStats](inboundAudio, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if st == nil {
			return audioStats{}
		}
		return *st
	}
	var got audioStats
	for deadline := time.Now().Add(20 * time.Second); got.Energy <= 0 || got.Packets < 50; got = stats() {
		if time.Now().After(deadline) {
			t.Fatalf("no reply audio reached the browser: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// "Stop reply" cuts the reply: the page strikes out what was not heard
	// and lists the interruption, and the audio stops.
	step("stop", 10*time.Second, chromedp.Click(chromedp.CSS("#stop")))
	step("struck-out reply", 10*time.Second, chromedp.Poll[chromedp.Void](
		`document.querySelector("#transcript .msg.agent s") !== null && document.querySelectorAll("#interruptions li").length > 0`))
	time.Sleep(500 * time.Millisecond) // packets already on the way
	before := stats()
	time.Sleep(time.Second)
	if after := stats(); after.Packets > before.Packets+2 {
		t.Errorf("audio kept arriving after Stop: %d packets in a second", after.Packets-before.Packets)
	}

	step("latency bar", 20*time.Second, chromedp.Poll[chromedp.Void](`document.querySelectorAll("#latency div").length > 0`))

	var user, agentText string
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	user, err = chromedp.Run(sctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll("#transcript .msg.user")].map((e) => e.textContent).join(" | ")`))
	if err != nil {
		t.Fatal(err)
	}
	agentText, err = chromedp.Run(sctx, chromedp.Evaluate[string](
		`[...document.querySelectorAll("#transcript .msg.agent")].map((e) => e.textContent).join(" | ")`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.ToLower(user), "where is my order") {
		t.Errorf("user transcript %q", user)
	}
	// The demo's order 1234 exists; the reply talks about it.
	if !strings.Contains(agentText, "1234") && !strings.Contains(strings.ToLower(agentText), "order") {
		t.Errorf("agent reply %q does not answer about the order", agentText)
	}
	shot, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	// HARK_TEST_ARTIFACTS keeps the screenshot beyond the test.
	png := filepath.Join(cmp.Or(os.Getenv("HARK_TEST_ARTIFACTS"), t.TempDir()), "conversation.png")
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("user: %q; agent: %q; browser received %d audio packets, energy %.4g; screenshot %s",
		user, agentText, got.Packets, got.Energy, png)

	// Hanging up deletes the session on the server.
	step("hang up", 10*time.Second, chromedp.Click(chromedp.CSS("#talk")))
	for end := time.Now().Add(10 * time.Second); srv.webrtc.Sessions() > 0; {
		if time.Now().After(end) {
			t.Fatal(fmt.Sprintf("%d sessions still running after hang-up", srv.webrtc.Sessions()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
