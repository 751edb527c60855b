package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// scenarioWords is what a recogniser would hear in each scenario's user
// audio (the fake STT answers it).
var scenarioWords = map[string]string{
	"stop-over-reply":     "stop",
	"question-over-reply": "wait what does that mean",
	"stop-over-echo":      "stop",
	"stop-in-noise":       "stop",
	"backchannel-uh-huh":  "uh huh",
	"backchannel-okay":    "okay",
	"pause-inside-number": "where is my order one two three four",
}

// TestScenarios plays the turn-taking scenarios of testdata/scenarios
// through a session with the Silero VAD, in fake time: the agent's reply
// from t = 0, the user clips mixed into the microphone.
func TestScenarios(t *testing.T) {
	w, err := silero.Load()
	if err != nil {
		t.Skipf("Silero model not available (run make deps): %v", err)
	}
	// HARK_SCENARIOS names another scenario file to play.
	file := filepath.Join("..", "testdata", "scenarios", "scenarios.json")
	if f := os.Getenv("HARK_SCENARIOS"); f != "" {
		file = f
	}
	scenarios, err := agenttest.LoadScenarios(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			firstOnset := -1
			for _, c := range sc.Clips {
				if c.HasOnset && !strings.Contains(c.Path, "echo") && !strings.Contains(c.Path, "noise") {
					firstOnset = c.Onset
					break
				}
			}
			synctest.Test(t, func(t *testing.T) {
				runScenario(t, sc, w, sc.Agent, sc.Mic, firstOnset)
			})
		})
	}
}

func runScenario(t *testing.T, sc agenttest.Scenario, w *silero.Weights, reply, mic []int16, onset int) {
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	stt := agenttest.NewSTT(scenarioWords[sc.Name], scenarioWords[sc.Name], scenarioWords[sc.Name])
	tts := &agenttest.TTS{Clip: reply}
	s, err := agent.New(tr, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Okay."))), agent.WithTTS(tts),
		agent.WithVAD(func() (vad.Model, error) { return w.NewModel(16000) }))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	runStart := time.Now()
	go func() { done <- s.Run(t.Context()) }()
	start := 0
	if reply != nil {
		// The reply is one chunk that plays the whole clip.
		s.Say("Thank you for calling")
		if _, _, err := tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentText }); err != nil {
			t.Fatal(err)
		}
		// Align the microphone's t = 0 with the first reply frame.
		var first time.Time
		for _, o := range tr.Frames() {
			if o.Audible {
				first = o.At
				break
			}
		}
		// A frame sent at time T is heard from T; the microphone frame
		// delivered at T holds what was captured in the 20 ms before T.
		firstPos := int(first.Sub(runStart) * 16000 / time.Second)
		start = max(0, firstPos-int(tr.MicPosition()))
	}
	at := tr.Play(append(make([]int16, start), mic...))
	time.Sleep(time.Duration(len(mic)+start)*time.Second/16000 + 2*time.Second)
	evs := tr.Events()
	var pauses, cancels, finals int
	var cancelEv *agent.Interruption
	for _, ev := range evs {
		switch {
		case ev.Type == agent.EventInterruption && ev.Interruption.Cancelled:
			cancels++
			cancelEv = ev.Interruption
		case ev.Type == agent.EventInterruption:
			pauses++
		case ev.Type == agent.EventUserFinal:
			finals++
		}
	}
	// The last audible frame before the reply was first silenced.
	var last time.Time
	flushes := tr.Flushes()
	for _, o := range tr.Frames() {
		if o.Audible && (len(flushes) == 0 || !o.At.After(flushes[0])) && o.At.After(last) {
			last = o.At
		}
	}
	switch sc.Expect {
	case "bargein":
		if cancels == 0 {
			t.Errorf("no barge-in; events %+v", evs)
			break
		}
		on, _ := tr.Delivered(at + int64(start+onset))
		delay := last.Add(20 * time.Millisecond).Sub(on)
		t.Logf("onset to silence %v (session: onset %v, confirm %v)", delay, cancelEv.OnsetToSilence, cancelEv.ConfirmToSilence)
		if delay > 400*time.Millisecond {
			t.Errorf("onset to silence %v", delay)
		}
	case "no_bargein":
		if cancels > 0 {
			t.Errorf("false barge-in (%d pauses); events %+v", pauses, evs)
		}
		t.Logf("pauses: %d", pauses)
	case "one_turn":
		if finals != 1 {
			t.Errorf("%d user turns, want 1", finals)
		}
	}
	tr.Hangup()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
