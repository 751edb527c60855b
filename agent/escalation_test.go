package agent_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// escalationRig is a session whose model is an in-process
// OpenAI-compatible server, with the escalation policy on.
func escalationRig(t *testing.T, srv *openaitest.Server) (*rig, *agenttest.TTS) {
	t.Helper()
	llm, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(llm.CloseIdleConnections)
	tts := &agenttest.TTS{PerChar: time.Millisecond}
	r := &rig{t: t, tr: agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k), tts: tts, done: make(chan error, 1)}
	r.s, err = agent.New(r.tr,
		agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(llm), agent.WithTTS(tts), agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithSystemPrompt("You are a shop assistant."),
		agent.WithEscalation(agent.Escalation{Announce: "a person will call you back shortly"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return r, tts
}

func isHandoff(ev agent.Event) bool { return ev.Type == agent.EventHandoff }

func TestEscalationHandsOffWithSummary(t *testing.T) {
	const summary = "The caller wants order 1234 cancelled; it has shipped. They asked for a person."
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(
		openaitest.Text("Order 1234 has shipped, so I cannot cancel it."),
		openaitest.Text("I'm sorry for the trouble. A person will call you back shortly."),
		openaitest.Text(summary),
	)
	r, tts := escalationRig(t, srv)
	r.start(t.Context())

	r.s.SendText("Please cancel order 1234.")
	f, i := r.wait(0, is(agent.EventFrustration))
	if f.Frustration.Level != agent.LevelCalm {
		t.Errorf("first turn: %+v", f.Frustration)
	}
	_, i = r.wait(i+1, is(agent.EventAgentDone))
	r.s.SendText("This is useless. Let me talk to a human.")
	f, j := r.wait(i+1, is(agent.EventFrustration))
	if !slices.Contains(f.Frustration.Cues, "person") || !slices.Contains(f.Frustration.Cues, "cue:useless") {
		t.Errorf("second turn: %+v", f.Frustration)
	}
	ho, k := r.wait(j, isHandoff)
	if ho.Text != "the caller asked for a person" || ho.Summary != summary {
		t.Errorf("handoff %q, summary %q", ho.Text, ho.Summary)
	}
	done, _ := r.wait(j, is(agent.EventAgentDone))
	if !strings.Contains(done.Text, "call you back") {
		t.Errorf("the caller heard %q", done.Text)
	}
	if _, l := r.wait(j, is(agent.EventAgentDone)); l < k {
		t.Errorf("the reply ended (event %d) before the hand-off (event %d)", l, k)
	}
	r.stop()

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model requests, want 3", len(reqs))
	}
	// The model may report frustration; the hand-off reply is told what to
	// say and gets no tools; the summary reads the conversation.
	if first := reqs[0].Chat; !slices.ContainsFunc(first.Tools, func(tl goopenai.Tool) bool { return tl.Function != nil && tl.Function.Name == "report_frustration" }) {
		t.Errorf("first request's tools %+v", first.Tools)
	}
	announce := reqs[1].Chat
	if sys := announce.Messages[0].Content; !strings.Contains(sys, "a person will call you back shortly") || len(announce.Tools) != 0 {
		t.Errorf("hand-off request: system %q, %d tools", sys, len(announce.Tools))
	}
	sum := reqs[2].Chat.Messages
	if len(sum) != 2 || !strings.Contains(sum[1].Content, "Caller: Please cancel order 1234.") || !strings.Contains(sum[1].Content, "Agent: Order 1234 has shipped") {
		t.Errorf("summary request %+v", sum)
	}
	// The hand-off reply is spoken more slowly; the calm one is not.
	var speeds []float64
	for _, sr := range tts.Requests() {
		speeds = append(speeds, sr.Speed)
	}
	if speeds[0] != 0 || speeds[len(speeds)-1] != agent.DefaultEscalationSlowSpeed {
		t.Errorf("speech speeds %v", speeds)
	}
	// The history keeps each user turn's score.
	var scores []float64
	for _, m := range r.s.History() {
		if m.Role == pipeline.RoleUser {
			scores = append(scores, m.Frustration)
		}
	}
	if len(scores) != 2 || scores[0] != 0 || scores[1] < agent.DefaultEscalationElevated {
		t.Errorf("user turns' frustration in the history: %v", scores)
	}
}

func TestEscalationSummaryFallback(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(
		openaitest.Text("Sorry, a person will call you back shortly."),
		openaitest.ChatReply{Fault: openaitest.Fault{Status: 500, Message: "overloaded"}},
	)
	r, _ := escalationRig(t, srv)
	r.start(t.Context())
	r.s.SendText("Operator! My parcel 1234 never came.")
	ho, _ := r.wait(0, isHandoff)
	for _, w := range []string{"the caller asked for a person", `"Operator! My parcel 1234 never came."`} {
		if !strings.Contains(ho.Summary, w) {
			t.Errorf("summary %q lacks %q", ho.Summary, w)
		}
	}
	r.stop()
}

func TestEscalationOfferAndModelReport(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(
		openaitest.ChatReply{ToolCalls: []openaitest.ToolCall{{Name: "report_frustration", Arguments: `{"level":0.9,"reason":"second complaint"}`}}},
		openaitest.Text("I'm sorry. Let me check."),
		openaitest.Text("I'm sorry. Would you like me to pass you to a person?"),
		openaitest.Text("Of course. A person will call you back shortly."),
		openaitest.Text("Caller upset about a late parcel; accepted a person."),
	)
	r, _ := escalationRig(t, srv)
	r.start(t.Context())
	r.s.SendText("My parcel is late again, this is ridiculous.")
	f, i := r.wait(0, func(ev agent.Event) bool {
		return ev.Type == agent.EventFrustration && slices.Contains(ev.Frustration.Cues, "model")
	})
	if f.Frustration.Score != 0.9 || f.Frustration.Reason != "second complaint" {
		t.Errorf("model's report: %+v", f.Frustration)
	}
	_, i = r.wait(i+1, is(agent.EventAgentDone))
	// The model's judgement counted as one high turn: a second one brings
	// the offer, a yes the hand-off.
	r.s.SendText("Useless. I'm fed up with this nonsense.")
	_, i = r.wait(i+1, is(agent.EventAgentDone))
	if sys := srv.Requests()[2].Chat.Messages[0].Content; !strings.Contains(sys, "offer to pass them to a person") {
		t.Errorf("offer turn's system message %q", sys)
	}
	r.s.SendText("Yes please.")
	ho, _ := r.wait(i+1, isHandoff)
	if !strings.Contains(ho.Text, "accepted") || ho.Summary != "Caller upset about a late parcel; accepted a person." {
		t.Errorf("handoff %+v", ho)
	}
	r.stop()
}

// Spoken turns are measured: a turn much louder than the caller's first
// ones raises the score by its level.
func TestEscalationHearsTheVoice(t *testing.T) {
	stt := agenttest.NewSTT("where is my parcel", "it was sent on monday", "it is still not here")
	r := newRig(t, stt, agenttest.NewLLM(agenttest.Text("Let me check.")), agent.WithEscalation(agent.Escalation{}))
	r.start(t.Context())
	from := 0
	for turn, gain := range []float64{0.25, 0.25, 1} {
		speech := agenttest.Speech(1200*time.Millisecond, 16000, int64(turn+1))
		for i := range speech {
			speech[i] = int16(float64(speech[i]) * gain)
		}
		r.tr.Play(append(speech, agenttest.Silence(time.Second, 16000)...))
		f, i := r.wait(from, is(agent.EventFrustration))
		loud := slices.Contains(f.Frustration.Cues, "level")
		if loud != (turn == 2) || (turn == 2 && f.Frustration.Voice == 0) {
			t.Errorf("turn %d (gain %v): %+v", turn, gain, f.Frustration)
		}
		_, from = r.wait(i+1, is(agent.EventAgentDone))
		from++
	}
	r.stop()
}
