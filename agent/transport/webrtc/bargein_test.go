package webrtc

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

const bargeInReply = "Thank you for calling. Your order one two three four shipped yesterday " +
	"and should arrive on Friday. Is there anything else I can help you with today?"

// speechClip loads a clip from testdata/speech at 48 kHz with lead silence.
func speechClip(t *testing.T, name string, lead time.Duration) []int16 {
	t.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "..", "..", "testdata", "speech", name))
	if err != nil {
		t.Fatal(err)
	}
	fr, err = resample.Frame(fr, pcm.Mono48k)
	if err != nil {
		t.Fatal(err)
	}
	return append(make([]int16, pcm.Mono48k.Samples(lead)), fr.Samples...)
}

// sileroOrLevel returns the Silero VAD, or the level detector of agenttest
// when the model file is missing (`make deps` fetches it).
func sileroOrLevel(t *testing.T) func() (vad.Model, error) {
	w, err := silero.Load()
	if err != nil {
		t.Logf("using a level VAD: %v", err)
		return agenttest.NewLevelModel()
	}
	return func() (vad.Model, error) { return w.NewModel(16000) }
}

// TestWebRTCBargeIn: a pion client asks a question in flite speech, hears
// the reply start, says "stop" over it, and checks that the agent's audio
// stops, that the data channel reports the interruption with the heard
// text, and that the history keeps only what was heard.
func TestWebRTCBargeIn(t *testing.T) {
	newVAD := sileroOrLevel(t)
	// Scripted recogniser: the long utterance is the question, a short one
	// the "stop".
	stt := &agenttest.STT{Fn: func(_ context.Context, audio pcm.Frame, _ string) (pipeline.Transcript, error) {
		text := "stop"
		if audio.Duration() > 1500*time.Millisecond {
			text = "where is my order one two three four"
		}
		return pipeline.Transcript{Text: text, Final: true}, nil
	}}
	sessions := make(chan *agent.Session, 1)
	h, err := NewHandler(func(_ *http.Request, c *Conn) (Session, error) {
		s, err := agent.New(c, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text(bargeInReply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(newVAD))
		if err != nil {
			return nil, err
		}
		sessions <- s
		return s, nil
	}, WithLoopbackOnly())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webrtc", h)
	mux.Handle("/webrtc/", h)
	srv := httptest.NewServer(mux)
	defer func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}()

	c := newTestClient(t)
	defer c.close()
	c.post(srv.URL + "/webrtc")
	sess := <-sessions
	ctx, cancel := context.WithCancel(context.Background())
	m := c.startMic(ctx)
	defer m.stop()
	defer cancel()

	m.say(speechClip(t, "order_slt.wav", 500*time.Millisecond))
	final := c.waitEvent(15*time.Second, "user_final", func(ev agent.Event) bool { return ev.Type == agent.EventUserFinal })
	if final.Text != "where is my order one two three four" {
		t.Fatalf("user_final %q", final.Text)
	}
	c.waitEvent(10*time.Second, "agent_text", func(ev agent.Event) bool { return ev.Type == agent.EventAgentText })

	// Let a second of the reply arrive, then talk over it.
	start := len(c.audio())
	for loud := 0; loud < 50; {
		c.waitAudio(10*time.Second, start+1)
		loud = 0
		for _, fr := range c.audio()[start:] {
			if pcm.DBFS(fr.samples) > -40 {
				loud++
			}
		}
	}
	stopClip := speechClip(t, "stop_slt.wav", 0)
	m.say(stopClip)

	paused := c.waitEvent(10*time.Second, "interruption", func(ev agent.Event) bool {
		return ev.Type == agent.EventInterruption
	})
	pausedAt := time.Now()
	cancelled := c.waitEvent(10*time.Second, "cancelled interruption", func(ev agent.Event) bool {
		return ev.Type == agent.EventInterruption && ev.Interruption != nil && ev.Interruption.Cancelled
	})
	time.Sleep(500 * time.Millisecond) // let any late audio arrive

	// The agent's audio stopped at the pause: nothing loud arrives after it
	// (allowing for packets already on the way).
	var lastLoud time.Time
	for _, fr := range c.audio() {
		if pcm.DBFS(fr.samples) > -40 {
			lastLoud = fr.at
		}
	}
	if late := lastLoud.Sub(pausedAt); late > 250*time.Millisecond {
		t.Errorf("agent audio still arrived %v after the interruption event", late)
	}
	m.mu.Lock()
	stopSaid := m.plays[len(m.plays)-1]
	m.mu.Unlock()
	onset := stopSaid.Add(speechOnset(stopClip))
	t.Logf("last agent audio arrived %v after the speech onset of \"stop\"; server reports onset→silence %v, confirm→silence %v",
		lastLoud.Sub(onset), paused.Interruption.OnsetToSilence, paused.Interruption.ConfirmToSilence)

	// The data channel reports what was heard: a strict prefix of the reply.
	heard := cancelled.Interruption.Heard
	if heard == "" || len(heard) >= len(bargeInReply) || !wordPrefix(bargeInReply, heard) {
		t.Errorf("heard %q is not a strict prefix of the reply", heard)
	}
	// The history keeps only that.
	var assistant *pipeline.Message
	for _, msg := range sess.History() {
		if msg.Role == pipeline.RoleAssistant {
			assistant = &msg
		}
	}
	if assistant == nil || !assistant.Interrupted || assistant.Content != heard {
		t.Errorf("history's reply = %+v, want the interrupted text %q", assistant, heard)
	}

	if code := c.delete(); code != http.StatusOK {
		t.Errorf("DELETE: %d", code)
	}
	cancel()
}

// speechOnset returns where the first 10 ms above -40 dBFS begins.
func speechOnset(clip []int16) time.Duration {
	n := pcm.Mono48k.Samples(10 * time.Millisecond)
	for i := 0; i+n <= len(clip); i += n {
		if pcm.DBFS(clip[i:i+n]) > -40 {
			return pcm.Mono48k.Duration(i)
		}
	}
	return 0
}

// wordPrefix reports whether the words of prefix begin text (punctuation and
// case aside; the last word may be cut).
func wordPrefix(text, prefix string) bool {
	norm := func(s string) []string {
		return strings.Fields(strings.Map(func(r rune) rune {
			if r == '.' || r == ',' || r == '?' || r == '!' {
				return -1
			}
			return r
		}, strings.ToLower(s)))
	}
	tw, pw := norm(text), norm(prefix)
	if len(pw) == 0 || len(pw) > len(tw) {
		return false
	}
	for i, w := range pw {
		if w != tw[i] && !(i == len(pw)-1 && strings.HasPrefix(tw[i], w)) {
			return false
		}
	}
	return true
}
