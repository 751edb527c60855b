package livekit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/agenttest/browsertest"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/livekit/livekittest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

const (
	askForPerson  = "i want to talk to a person"
	handoffReason = "the caller asked for a person"
	handoffReply  = "Of course. A colleague will join you in a moment."
)

// handoffSessions returns a NewSessionFunc whose sessions hear every
// utterance as a request for a person; the model calls the handoff tool,
// which hands the call over, then says that a colleague will come.
func handoffSessions(newVAD func() (vad.Model, error)) NewSessionFunc {
	return func(_ Job, c *Conn) (Session, error) {
		handoff, err := agent.NewTool("handoff", "Hand the caller to a person.",
			func(_ context.Context, a struct {
				Reason string `json:"reason"`
			}) (string, error) {
				return "", agent.Handoff(a.Reason)
			})
		if err != nil {
			return nil, err
		}
		llm := agenttest.NewLLM(
			[]pipeline.Delta{agenttest.Call("call-1", "handoff", fmt.Sprintf(`{"reason":%q}`, handoffReason))},
			agenttest.Text(handoffReply))
		return agent.New(c, agent.WithSTT(agenttest.NewSTT(askForPerson)), agent.WithLLM(llm),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(newVAD), agent.WithTools(handoff))
	}
}

// operatorMic writes the operator's fake microphone: half a second of
// silence, then speech (Chromium loops it).
func operatorMic(t *testing.T) string {
	t.Helper()
	s := append(make([]int16, pcm.Mono48k.Samples(500*time.Millisecond)), speech(t, "agent_reply_slt.wav", 0)...)
	path := filepath.Join(t.TempDir(), "operator.wav")
	if err := wav.WriteFile(path, pcm.Frame{Format: pcm.Mono48k, Samples: s}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVideoHandoff: a caller (LiveKit's Go SDK) joins a room that
// dispatches a Hark worker and asks for a person; the session's tool hands
// the call off. The worker pages an operator with a link to the operator
// page; headless Chromium with a fake camera and microphone opens it and
// joins with LiveKit's JavaScript client. The page shows the summary, the
// caller receives the operator's video and audio, and the agent has gone
// quiet (its track unpublished, no more audio) or left the room, as
// configured; a job that leaves is still recorded as successful.
func TestVideoHandoff(t *testing.T) {
	needServer(t)
	page, err := OperatorHandler()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	srv := startServer(t, 7900)

	// The page is served on loopback: browsers give camera and microphone
	// only to secure contexts, which http://127.0.0.1 is.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: page}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	pageURL := "http://" + ln.Addr().String() + "/"

	browser, logs := browsertest.Start(t, browsertest.Options{Mic: operatorMic(t), Hosts: []string{livekittest.HostIP}})
	defer func() {
		if t.Failed() {
			t.Logf("browser and worker logs:\n%s", logs.String())
		}
	}()

	for _, mode := range []HandoffMode{HandoffQuiet, HandoffLeave} {
		t.Run(mode.String(), func(t *testing.T) {
			handoffCall(t, srv, browser, pageURL, mode, logs)
		})
	}
}

func handoffCall(t *testing.T, srv *livekittest.Server, browser context.Context, pageURL string, mode HandoffMode, logs *agenttest.Logs) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	paged := make(chan Handoff, 1)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	w, err := NewWorker(srv.URL, livekittest.APIKey, livekittest.APISecret, handoffSessions(agenttest.NewLevelModel()),
		WithAgentName(agentName), WithLogger(log), WithHandoff(mode, func(h Handoff) { paged <- h }),
		WithOperatorPage(pageURL))
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	defer func() {
		stopWorker()
		if err := <-ran; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	<-w.Ready()

	room := "handoff-" + mode.String()
	tok, err := livekittest.Token(room, "caller", agentName)
	if err != nil {
		t.Fatal(err)
	}
	c, err := livekittest.Join(ctx, srv.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WaitEvent(ctx, 20*time.Second, 0, func(ev transport.Event) bool {
		return ev.Type == transport.EventState && ev.State == transport.StateListening
	}); err != nil {
		t.Fatalf("agent never listening: %v", err)
	}

	// The caller asks for a person.
	c.Say(speech(t, "order_slt.wav", 300*time.Millisecond))
	if _, err := c.WaitEvent(ctx, 30*time.Second, 0, func(ev transport.Event) bool {
		return ev.Type == transport.EventHandoff && ev.Text == handoffReason
	}); err != nil {
		t.Fatalf("no hand-off event: %v", err)
	}
	var h Handoff
	select {
	case h = <-paged:
	case <-time.After(10 * time.Second):
		t.Fatal("no operator paged")
	}
	wantSummary := "Reason: " + handoffReason + "\nCaller: " + askForPerson
	if !strings.HasPrefix(h.Summary, wantSummary) || h.Job.Room != room || h.Token == "" ||
		!strings.HasPrefix(h.PageURL, pageURL+"#") {
		t.Fatalf("hand-off %+v: want summary %q, room %q, a token and the page", h, wantSummary, room)
	}
	agentID := ""
	for _, p := range c.Room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent {
			agentID = p.Identity()
		}
	}
	if agentID == "" {
		t.Fatal("no agent in the room")
	}

	// The operator opens the page and joins with camera and microphone.
	tab, closeTab := chromedp.NewContext(browser)
	defer closeTab()
	step := func(what string, d time.Duration, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(tab, d)
		defer scancel()
		if _, err := chromedp.Run(sctx, a); err != nil {
			dctx, dcancel := context.WithTimeout(tab, 5*time.Second)
			defer dcancel()
			st, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.readyState + " | " + location.href + " | " + (document.querySelector("#status") || {}).textContent`))
			t.Fatalf("%s: %v (page: %s)", what, err, st)
		}
	}
	// The tab's first Run makes it: no timeout on that one (its end would
	// close the tab).
	if err := chromedp.Do(tab, chromedp.Navigate(h.PageURL)); err != nil {
		t.Fatalf("open the operator page: %v", err)
	}
	step("join", 30*time.Second, chromedp.Click(chromedp.CSS("#join")))
	step("connected", time.Minute, chromedp.Poll[chromedp.Void](`window.hark.connected === true`))
	step("summary shown", 30*time.Second, chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`document.querySelector("#summary").textContent.startsWith(%q)`, wantSummary)))

	// The caller sees and hears the operator.
	if err := c.Wait(ctx, time.Minute, func() bool {
		m := c.Media(h.Operator)
		return m.VideoPackets >= 60 && m.AudioLoud >= 25
	}); err != nil {
		t.Fatalf("operator's media at the caller: %+v, want >= 60 video packets and >= 25 loud audio frames", c.Media(h.Operator))
	}

	t.Logf("operator's media at the caller: %+v", c.Media(h.Operator))
	if path := os.Getenv("HARK_OPERATOR_SCREENSHOT"); path != "" && mode == HandoffQuiet {
		// A picture of the operator page for the documentation.
		sctx, scancel := context.WithTimeout(tab, 30*time.Second)
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		scancel()
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The agent went quiet, or left.
	agentGone := func() bool {
		p := c.Room.GetParticipantByIdentity(agentID)
		if mode == HandoffLeave {
			return p == nil
		}
		if p == nil {
			return false
		}
		for _, pub := range p.TrackPublications() {
			if pub.Kind() == lksdk.TrackKindAudio {
				return false
			}
		}
		return true
	}
	if err := c.Wait(ctx, 15*time.Second, agentGone); err != nil {
		t.Fatalf("agent still publishing audio / in the room (mode %v)", mode)
	}
	loud := func() int {
		n := 0
		for _, f := range c.Heard() {
			if f.Loud() {
				n++
			}
		}
		return n
	}
	before := loud()
	time.Sleep(time.Second) // audio the agent would still send
	if after := loud(); after != before {
		t.Errorf("%d loud agent frames after the hand-off", after-before)
	}
	if mode == HandoffLeave {
		// The job ended with the caller still in the room, successfully.
		deadline := time.Now().Add(10 * time.Second)
		for w.Jobs() > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := w.Jobs(); n != 0 {
			t.Errorf("worker still runs %d jobs after leaving", n)
		}
		if strings.Contains(logs.String(), "job failed") {
			t.Error("the job that left was reported failed")
		}
		// The caller and the operator go on without the agent.
		v := c.Media(h.Operator).VideoPackets
		if err := c.Wait(ctx, 10*time.Second, func() bool { return c.Media(h.Operator).VideoPackets >= v+30 }); err != nil {
			t.Error("the operator's video stopped once the agent left")
		}
	}
	step("operator leaves", 30*time.Second, chromedp.Click(chromedp.CSS("#leave")))
}
