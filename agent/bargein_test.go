package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

const longReply = "Thank you for calling. Your order one two three four shipped yesterday and should arrive on Friday. Is there anything else I can help you with today?"

// interruption matches the final (cancelled) interruption event.
func cancelled(ev agent.Event) bool {
	return ev.Type == agent.EventInterruption && ev.Interruption.Cancelled
}

// checkSilentAfterFlush asserts that no audible frame was sent later than
// one frame after the first flush.
func checkSilentAfterFlush(t *testing.T, tr *agenttest.Transport, until time.Time) {
	t.Helper()
	fl := tr.Flushes()
	if len(fl) == 0 {
		t.Fatal("transport never flushed")
	}
	for _, o := range tr.Frames() {
		if o.Audible && o.At.After(fl[0]) && o.At.Before(until) {
			t.Fatalf("audible frame at %v after flush at %v", o.At, fl[0])
		}
	}
}

// checkHistory asserts the structural invariants of a history: every tool
// call is answered right after its message, no tool result is orphaned.
func checkHistory(t *testing.T, h []pipeline.Message) {
	t.Helper()
	open := map[string]bool{}
	for i, m := range h {
		switch m.Role {
		case pipeline.RoleAssistant:
			if len(open) > 0 {
				t.Fatalf("message %d: tool calls %v unanswered before next assistant message; history %+v", i, open, h)
			}
			for _, c := range m.ToolCalls {
				open[c.ID] = true
			}
		case pipeline.RoleTool:
			if !open[m.ToolCallID] {
				t.Fatalf("message %d: tool result %q answers no open call; history %+v", i, m.ToolCallID, h)
			}
			delete(open, m.ToolCallID)
		case pipeline.RoleUser:
			if len(open) > 0 {
				t.Fatalf("message %d: user message while tool calls %v open; history %+v", i, open, h)
			}
			if i > 0 && h[i-1].Role == pipeline.RoleUser {
				t.Fatalf("message %d: two user messages in a row; history %+v", i, h)
			}
		}
	}
	if len(open) > 0 {
		t.Fatalf("tool calls %v never answered; history %+v", open, h)
	}
}

// startReply speaks a first user turn and waits for the agent to start
// talking; it returns the index of that agent_text event.
func startReply(r *rig) int {
	r.speak(800 * time.Millisecond)
	_, i := r.wait(0, is(agent.EventAgentText))
	return i
}

func TestBargeInMidPlayout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("where is my order", "what does that mean exactly"),
			agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("It means it is on its way.")))
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(2 * time.Second)
		r.speak(1200 * time.Millisecond)
		paused, j := r.wait(i, is(agent.EventInterruption))
		if paused.Interruption.Cancelled {
			t.Errorf("first interruption event should be a pause")
		}
		if d := paused.Interruption.OnsetToSilence; d <= 0 || d > 120*time.Millisecond {
			t.Errorf("onset-to-silence = %v, want (0, 120ms]", d)
		}
		if d := paused.Interruption.ConfirmToSilence; d > 20*time.Millisecond {
			t.Errorf("confirm-to-silence = %v, want <= 20ms", d)
		}
		ev, j := r.wait(j, cancelled)
		heard := ev.Interruption.Heard
		if heard == "" || !strings.HasPrefix(longReply, heard) || heard == longReply {
			t.Errorf("heard = %q, want a proper prefix of the reply", heard)
		}
		done, _ := r.wait(j, is(agent.EventAgentDone))
		checkSilentAfterFlush(t, r.tr, time.Now().Add(-10*time.Second))
		if done.Text != "It means it is on its way." {
			t.Errorf("second reply = %q", done.Text)
		}
		h := r.s.History()
		checkHistory(t, h)
		if len(h) != 4 || !h[1].Interrupted || h[1].Content != heard || h[2].Content != "what does that mean exactly" || h[3].Interrupted {
			t.Fatalf("history = %+v", h)
		}
		// The LLM saw the cut reply, marked as interrupted.
		reqs := r.llm.Requests()
		if last := reqs[len(reqs)-1].Messages; !last[len(last)-2].Interrupted || last[len(last)-2].Content != heard {
			t.Errorf("second request = %+v", last)
		}
		r.stop()
	})
}

func TestFalseInterruptionResumes(t *testing.T) {
	for _, tc := range []struct{ name, words string }{
		{"backchannel", "uh huh"},
		{"okay", "Okay."},
		{"spanish", "sí"},
		{"chinese", "嗯"},
		{"no words", ""},
		{"one word", "hmm right"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, agenttest.NewSTT("where is my order", tc.words), agenttest.NewLLM(agenttest.Text(longReply)))
				r.start(t.Context())
				i := startReply(r)
				time.Sleep(1500 * time.Millisecond)
				r.speak(400 * time.Millisecond)
				_, j := r.wait(i, is(agent.EventInterruption))
				_, j = r.wait(j, is(agent.EventResumed))
				done, _ := r.wait(j, is(agent.EventAgentDone))
				if done.Text != longReply {
					t.Errorf("agent_done = %q", done.Text)
				}
				for _, ev := range r.tr.Events() {
					if cancelled(ev) {
						t.Errorf("reply was cancelled: %+v", ev)
					}
				}
				h := r.s.History()
				if len(h) != 2 || h[1].Interrupted || h[1].Content != longReply {
					t.Errorf("history = %+v", h)
				}
				if n := len(r.llm.Requests()); n != 1 {
					t.Errorf("LLM called %d times", n)
				}
				r.stop()
			})
		})
	}
}

func TestStopWordInterrupts(t *testing.T) {
	for _, word := range []string{"Stop.", "wait", "espera", "停"} {
		t.Run(word, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, agenttest.NewSTT("where is my order", word), agenttest.NewLLM(agenttest.Text(longReply)))
				r.start(t.Context())
				i := startReply(r)
				time.Sleep(1500 * time.Millisecond)
				r.speak(300 * time.Millisecond)
				_, j := r.wait(i, cancelled)
				r.wait(j, state(agent.StateListening))
				time.Sleep(2 * time.Second)
				if n := len(r.llm.Requests()); n != 1 {
					t.Errorf("a stop word alone should not start a reply; LLM called %d times", n)
				}
				h := r.s.History()
				checkHistory(t, h)
				if len(h) != 3 || !h[1].Interrupted || h[2].Content != word {
					t.Errorf("history = %+v", h)
				}
				r.stop()
			})
		})
	}
}

func TestCancelImmediately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("where is my order", "uh huh"), agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("Sure.")),
			agent.WithInterruptionPolicy(agent.InterruptionPolicy{Mode: agent.CancelImmediately}))
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(time.Second)
		r.speak(400 * time.Millisecond)
		ev, _ := r.wait(i, cancelled)
		if ev.Interruption.OnsetToSilence <= 0 {
			t.Errorf("interruption timing missing: %+v", ev.Interruption)
		}
		r.wait(i, is(agent.EventUserFinal))
		r.stop()
	})
}

func TestBargeInWhileThinkingMergesTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := agenttest.NewLLM(agenttest.Text("Sure."), agenttest.Text("Order 1234 shipped."))
		llm.FirstDelay = 2 * time.Second
		r := newRig(t, agenttest.NewSTT("my order is", "my order is twelve thirty four please"), llm)
		r.start(t.Context())
		r.speak(600 * time.Millisecond)
		_, i := r.wait(0, state(agent.StateThinking))
		r.speak(900 * time.Millisecond)
		_, j := r.wait(i, cancelled)
		done, _ := r.wait(j, is(agent.EventAgentDone))
		if done.Text != "Order 1234 shipped." {
			t.Errorf("reply = %q", done.Text)
		}
		h := r.s.History()
		checkHistory(t, h)
		if len(h) != 2 || h[0].Content != "my order is my order is twelve thirty four please" {
			t.Errorf("history = %+v", h)
		}
		r.stop()
	})
}

func TestBargeInMidLLMStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("Okay."))
		llm.Delay = 150 * time.Millisecond // the model is slower than speech
		r := newRig(t, agenttest.NewSTT("hello", "no thanks I am fine"), llm)
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(1200 * time.Millisecond)
		r.speak(1000 * time.Millisecond)
		ev, j := r.wait(i, cancelled)
		r.wait(j, is(agent.EventAgentDone))
		h := r.s.History()
		checkHistory(t, h)
		if !h[1].Interrupted || h[1].Content != ev.Interruption.Heard || len(h[1].Content) >= len(longReply) {
			t.Errorf("history = %+v", h)
		}
		r.stop()
	})
}

func TestBargeInMidTTS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("hello", "no thanks I am fine"), agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("Okay.")))
		r.tts.FrameDelay = 19 * time.Millisecond // synthesis barely keeps up
		r.tts.Latency = 300 * time.Millisecond
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(800 * time.Millisecond)
		r.speak(1000 * time.Millisecond)
		_, j := r.wait(i, cancelled)
		r.wait(j, is(agent.EventAgentDone))
		checkHistory(t, r.s.History())
		r.stop()
	})
}

func TestBargeInTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("hello", "tell me more please", "no stop that now"),
			agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text(longReply), agenttest.Text("Okay.")))
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(time.Second)
		r.speak(time.Second)
		_, j := r.wait(i, cancelled)
		_, j = r.wait(j, is(agent.EventAgentText))
		time.Sleep(time.Second)
		r.speak(time.Second)
		_, j = r.wait(j, cancelled)
		r.wait(j, is(agent.EventAgentDone))
		h := r.s.History()
		checkHistory(t, h)
		if len(h) != 6 || !h[1].Interrupted || !h[3].Interrupted || h[5].Interrupted {
			t.Errorf("history = %+v", h)
		}
		r.stop()
	})
}

func TestBargeInOnLastFrame(t *testing.T) {
	for _, ms := range []int{-160, -120, -80, -40, 0, 40} {
		offset := time.Duration(ms) * time.Millisecond
		t.Run(offset.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reply := "Sure, it is done."
				r := newRig(t, agenttest.NewSTT("do it", "and what about the other one"), agenttest.NewLLM(agenttest.Text(reply), agenttest.Text("Done too.")))
				r.start(t.Context())
				startReply(r)
				// The reply lasts len(reply)*40ms; the VAD confirms ~96 ms
				// after speech starts.
				d := time.Duration(len(reply))*40*time.Millisecond - 96*time.Millisecond + offset
				time.Sleep(d)
				r.speak(time.Second)
				r.wait(0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone && ev.Text == "Done too." })
				h := r.s.History()
				checkHistory(t, h)
				if len(h) != 4 || h[2].Content != "and what about the other one" {
					t.Errorf("history = %+v", h)
				}
				r.stop()
			})
		})
	}
}

func TestBargeInDuringToolCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		tool := agent.Tool{
			Tool: pipeline.Tool{Name: "lookup", Description: "Find an order.", Parameters: json.RawMessage(`{"type":"object"}`)},
			Func: func(ctx context.Context, args json.RawMessage) (string, error) {
				close(started)
				<-ctx.Done()
				return "", context.Cause(ctx)
			},
		}
		first := append(agenttest.Text("Let me check that for you. "), agenttest.Call("c1", "lookup", `{"id":"1234"}`))
		r := newRig(t, agenttest.NewSTT("where is order 1234", "never mind thanks"),
			agenttest.NewLLM(first, agenttest.Text("Okay, goodbye.")), agent.WithTools(tool))
		r.start(t.Context())
		r.speak(800 * time.Millisecond)
		<-started
		time.Sleep(1500 * time.Millisecond) // "Let me check that" has played
		r.speak(time.Second)
		_, j := r.wait(0, cancelled)
		done, _ := r.wait(j, is(agent.EventAgentDone))
		if done.Text != "Okay, goodbye." {
			t.Errorf("reply = %q", done.Text)
		}
		h := r.s.History()
		checkHistory(t, h)
		if len(h) != 5 || len(h[1].ToolCalls) != 1 || h[1].Content != "Let me check that for you." || h[2].Role != pipeline.RoleTool ||
			!strings.HasPrefix(h[2].Content, "cancelled") || !h[1].Interrupted {
			t.Errorf("history = %+v", h)
		}
		r.stop()
	})
}

// TestBargeInWhileThinkingStaysSilent pauses a reply before its first audio
// and keeps it silent while the words of the interruption are recognised:
// its audio, when it comes, waits for the resume.
func TestBargeInWhileThinkingStaysSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := agenttest.NewLLM(agenttest.Text(longReply))
		llm.FirstDelay = 1500 * time.Millisecond
		stt := agenttest.NewSTT("hello", "uh huh")
		stt.Delay = 3 * time.Second // the interruption's words come after the reply's audio
		r := newRig(t, stt, llm)
		r.start(t.Context())
		r.speak(600 * time.Millisecond)
		_, i := r.wait(0, state(agent.StateThinking))
		r.speak(time.Second)
		_, j := r.wait(i, is(agent.EventInterruption))
		r.wait(j, is(agent.EventResumed))
		resumed := time.Now()
		done, _ := r.wait(j, is(agent.EventAgentDone))
		if done.Text != longReply {
			t.Errorf("agent_done %q", done.Text)
		}
		for _, o := range r.tr.Frames() {
			if o.Audible && o.At.Before(resumed) {
				t.Fatalf("audible frame at %v, before the resume at %v", o.At, resumed)
			}
		}
		r.stop()
	})
}

// Another voice in the room, far below the user's level (a television),
// neither pauses nor cancels the reply, however long it talks; the user's
// own voice then interrupts.
func TestFaintVoiceDoesNotInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT("where is my order", "what does that mean exactly"),
			agenttest.NewLLM(agenttest.Text(longReply), agenttest.Text("It means it is on its way.")),
			agent.WithVAD(func() (vad.Model, error) { return &agenttest.LevelModel{Threshold: 0.003}, nil }))
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(1500 * time.Millisecond)
		tv := agenttest.Speech(2500*time.Millisecond, 16000, 7)
		for k := range tv {
			tv[k] /= 14 // about 23 dB below the user's speech
		}
		flushes := len(r.tr.Flushes())
		r.tr.Play(tv)
		time.Sleep(4 * time.Second)
		for _, ev := range r.tr.Events()[i:] {
			if ev.Type == agent.EventInterruption {
				t.Fatalf("the faint voice interrupted the reply: %+v", ev)
			}
		}
		if n := len(r.tr.Flushes()); n != flushes {
			t.Errorf("%d flushes while the faint voice talked, want none", n-flushes)
		}
		j := len(r.tr.Events())
		if got := len(r.stt.Calls()); got != 1 {
			t.Errorf("the recogniser was asked %d times, want once (the faint voice is no turn)", got)
		}
		r.speak(1200 * time.Millisecond)
		_, j = r.wait(j, cancelled)
		done, _ := r.wait(j, is(agent.EventAgentDone))
		if done.Text != "It means it is on its way." {
			t.Errorf("second reply = %q", done.Text)
		}
		r.stop()
	})
}

// TestLaughterDoesNotInterrupt: the user laughs over the reply and the
// recogniser makes words of it; the judge hears a laugh, so the reply
// resumes before those words come, and they cancel nothing.
func TestLaughterDoesNotInterrupt(t *testing.T) {
	laugh, err := wav.ReadFile("../testdata/scenarios/clips/laugh_high.wav")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		stt := agenttest.NewSTT("where is my order", "how about that then")
		r := newRig(t, stt, agenttest.NewLLM(agenttest.Text(longReply)))
		r.start(t.Context())
		i := startReply(r)
		time.Sleep(1500 * time.Millisecond)
		r.tr.Play(laugh.Samples)
		_, j := r.wait(i, is(agent.EventInterruption))
		_, j = r.wait(j, is(agent.EventResumed))
		if n := len(stt.Calls()); n != 1 {
			t.Errorf("resumed after %d recognitions, want before the laugh's", n)
		}
		done, _ := r.wait(j, is(agent.EventAgentDone))
		if done.Text != longReply {
			t.Errorf("agent_done = %q", done.Text)
		}
		for _, ev := range r.tr.Events() {
			if cancelled(ev) {
				t.Errorf("the laugh cancelled the reply: %+v", ev)
			}
		}
		r.stop()
	})
}
