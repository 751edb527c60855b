package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func count(evs []agent.Event, t agent.EventType) int {
	n := 0
	for _, ev := range evs {
		if ev.Type == t {
			n++
		}
	}
	return n
}

func TestNumberHoldKeepsOneTurn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  string
		preset agent.Preset
		pause  time.Duration
		turns  int
	}{
		{"digits", "my order is one two", agent.PresetDefault, 900 * time.Millisecond, 1},
		{"spelled", "the code is a b", agent.PresetDefault, 900 * time.Millisecond, 1},
		{"numerals", "call me at 555 12", agent.PresetDefault, 1500 * time.Millisecond, 1},
		{"sentence", "where is my order", agent.PresetDefault, 900 * time.Millisecond, 2},
		{"practice", "I would like", agent.PresetLanguagePractice, 900 * time.Millisecond, 1},
		{"practice digits", "my number is nine eight", agent.PresetLanguagePractice, 2500 * time.Millisecond, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, agenttest.NewSTT(tc.first, tc.first+" three four"), agenttest.NewLLM(agenttest.Text("Thanks.")),
					agent.WithPreset(tc.preset))
				r.start(t.Context())
				r.speak(700 * time.Millisecond)
				r.tr.Play(agenttest.Silence(tc.pause, 16000))
				r.speak(600 * time.Millisecond)
				time.Sleep(12 * time.Second)
				if n := count(r.tr.Events(), agent.EventUserFinal); n != tc.turns {
					t.Errorf("%d user turns, want %d; events %+v", n, tc.turns, r.tr.Events())
				}
				r.stop()
			})
		})
	}
}

func TestFollowsLanguage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stt := agenttest.NewSTT("¿dónde está mi pedido?")
		stt.Language = "es"
		r := newRig(t, stt, agenttest.NewLLM(agenttest.Text("Su pedido llega el viernes.")),
			agent.WithVoices(map[string]string{"en": "slt", "es": "es-voice"}), agent.WithSystemPrompt("Be brief."))
		r.start(t.Context())
		r.speak(800 * time.Millisecond)
		r.wait(0, is(agent.EventAgentDone))
		req := r.llm.Requests()[0]
		if req.Language != "es" || !strings.Contains(req.Messages[0].Content, "Spanish") || !strings.HasPrefix(req.Messages[0].Content, "Be brief.") {
			t.Errorf("request language %q, system %q", req.Language, req.Messages[0].Content)
		}
		for _, sr := range r.tts.Requests() {
			if sr.Voice != "es-voice" || sr.Language != "es" {
				t.Errorf("speech request %+v", sr)
			}
		}
		r.stop()
	})
}

// The voice reads replies without their Markdown; the history keeps what
// the model wrote.
func TestMarkdownNotSpoken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reply := "**Good news:** your order ships *today*.\n- tracking by `email`\n---\n"
		r := newRig(t, agenttest.NewSTT("where is my order"), agenttest.NewLLM(agenttest.Text(reply)))
		r.start(t.Context())
		r.speak(800 * time.Millisecond)
		r.wait(0, is(agent.EventAgentDone))
		var spoken []string
		for _, sr := range r.tts.Requests() {
			spoken = append(spoken, sr.Text)
		}
		if got := strings.Join(spoken, " "); got != "Good news: your order ships today. tracking by email" {
			t.Errorf("spoken %q", got)
		}
		h := r.s.History()
		if last := h[len(h)-1]; last.Role != pipeline.RoleAssistant || !strings.Contains(last.Content, "**Good news:**") {
			t.Errorf("history ends with %+v", last)
		}
		r.stop()
	})
}

func TestImageJoinsNextTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, agenttest.NewSTT(), agenttest.NewLLM(agenttest.Text("A cat.")))
		r.start(t.Context())
		img := pipeline.Image{Data: []byte{0x89, 'P', 'N', 'G'}, MIMEType: "image/png"}
		r.s.SendImage(img)
		r.s.SendText("What is in this picture?")
		r.wait(0, is(agent.EventAgentDone))
		msgs := r.llm.Requests()[0].Messages
		last := msgs[len(msgs)-1]
		if last.Role != pipeline.RoleUser || len(last.Images) != 1 || last.Images[0].MIMEType != "image/png" {
			t.Errorf("last message %+v", last)
		}
		r.stop()
	})
}

func TestProviderFailureSpeaksFallback(t *testing.T) {
	failing := func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		return func(yield func(pipeline.Delta, error) bool) {
			if yield(pipeline.Delta{Text: "Let me "}, nil) {
				yield(pipeline.Delta{}, errors.New("connection reset"))
			}
		}
	}
	hanging := func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		return func(yield func(pipeline.Delta, error) bool) {
			<-ctx.Done()
			yield(pipeline.Delta{}, context.Cause(ctx))
		}
	}
	for _, tc := range []struct {
		name string
		fn   func(context.Context, pipeline.Request) iter.Seq2[pipeline.Delta, error]
	}{{"mid-stream error", failing}, {"hang", hanging}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				llm := &agenttest.LLM{Fn: tc.fn}
				r := newRig(t, agenttest.NewSTT(), llm, agent.WithFallbackText("Sorry, say again?"), agent.WithProviderTimeout(3*time.Second))
				r.start(t.Context())
				r.s.SendText("hello")
				_, i := r.wait(0, is(agent.EventError))
				done, _ := r.wait(i, is(agent.EventAgentDone))
				if !strings.HasSuffix(done.Text, "Sorry, say again?") {
					t.Errorf("agent said %q", done.Text)
				}
				r.wait(i, state(agent.StateListening))
				r.stop()
			})
		})
	}
}

// TestTTSFailureKeepsWhatWasSpoken breaks the TTS after the first chunk
// (the fallback line is spoken in place of the rest) or for good (nothing
// is spoken): agent_done and the history hold only what was spoken.
func TestTTSFailureKeepsWhatWasSpoken(t *testing.T) {
	for _, tc := range []struct {
		name    string
		working int // chunks synthesised before the TTS breaks
		recover bool
		want    string
	}{
		{"fallback spoken", 1, true, "Thank you for calling. Sorry, say again?"},
		{"nothing spoken", 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls int
				tts := &agenttest.TTS{}
				broken := pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
					calls++
					if calls <= tc.working || (tc.recover && req.Text == "Sorry, say again?") {
						return tts.Synthesize(ctx, req)
					}
					return func(yield func(pcm.Frame, error) bool) { yield(pcm.Frame{}, errors.New("synthesiser down")) }
				})
				tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
				s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM(agenttest.Text(longReply))),
					agent.WithTTS(broken), agent.WithVAD(agenttest.NewLevelModel()), agent.WithFallbackText("Sorry, say again?"))
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- s.Run(t.Context()) }()
				s.SendText("hello")
				ev, _, err := tr.WaitEvent(t.Context(), 0, is(agent.EventAgentDone))
				if err != nil {
					t.Fatal(err)
				}
				if ev.Text != tc.want {
					t.Errorf("agent_done %q, want %q", ev.Text, tc.want)
				}
				h := s.History()
				if got := h[len(h)-1]; tc.want != "" && got.Content != tc.want || tc.want == "" && len(h) != 1 {
					t.Errorf("history %+v", h)
				}
				tr.Hangup()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestSTTFailureSpeaksFallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stt := &agenttest.STT{Fn: func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
			return pipeline.Transcript{}, errors.New("recogniser down")
		}}
		r := newRig(t, stt, agenttest.NewLLM())
		r.start(t.Context())
		r.speak(600 * time.Millisecond)
		done, _ := r.wait(0, is(agent.EventAgentDone))
		if done.Text != agent.DefaultFallbackText {
			t.Errorf("agent said %q", done.Text)
		}
		if n := len(r.llm.Requests()); n != 0 {
			t.Errorf("LLM called %d times", n)
		}
		r.stop()
	})
}

func TestToolsAndHandoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var gotArgs []string
		lookup := agent.Tool{
			Tool: pipeline.Tool{Name: "lookup", Parameters: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}}}`)},
			Func: func(ctx context.Context, args json.RawMessage) (string, error) {
				mu.Lock()
				gotArgs = append(gotArgs, string(args))
				mu.Unlock()
				return `{"status":"shipped"}`, nil
			},
		}
		slow := agent.Tool{
			Tool:    pipeline.Tool{Name: "slow"},
			Timeout: 500 * time.Millisecond,
			Func: func(ctx context.Context, _ json.RawMessage) (string, error) {
				<-ctx.Done()
				return "", ctx.Err()
			},
		}
		human := agent.Tool{
			Tool: pipeline.Tool{Name: "human"},
			Func: func(context.Context, json.RawMessage) (string, error) { return "", agent.Handoff("asked for a person") },
		}
		llm := agenttest.NewLLM(
			[]pipeline.Delta{agenttest.Call("a", "lookup", `{"id":"1234"}`), agenttest.Call("b", "slow", `{}`), agenttest.Call("c", "nope", `{}`)},
			append(agenttest.Text("It shipped. "), agenttest.Call("d", "human", `{}`)),
			agenttest.Text("Connecting you now."),
		)
		r := newRig(t, agenttest.NewSTT(), llm, agent.WithTools(lookup, slow, human))
		r.start(t.Context())
		r.s.SendText("where is 1234, and get me a human")
		ho, _ := r.wait(0, is(agent.EventHandoff))
		if ho.Text != "asked for a person" {
			t.Errorf("handoff %q", ho.Text)
		}
		r.wait(0, is(agent.EventAgentDone))
		if len(gotArgs) != 1 || gotArgs[0] != `{"id":"1234"}` {
			t.Errorf("tool args %v", gotArgs)
		}
		var tools []agent.ToolEvent
		for _, ev := range r.tr.Events() {
			if ev.Type == agent.EventToolCall {
				tools = append(tools, *ev.Tool)
			}
		}
		if len(tools) != 4 || tools[0].Result == "" || !strings.Contains(tools[1].Error, "timeout") || !strings.Contains(tools[2].Error, "unknown tool") {
			t.Errorf("tool events %+v", tools)
		}
		h := r.s.History()
		checkHistory(t, h)
		// The second LLM call saw all three results, paired.
		req := r.llm.Requests()[1].Messages
		if n := len(req); req[n-1].Role != pipeline.RoleTool || req[n-4].Role != pipeline.RoleAssistant || len(req[n-4].ToolCalls) != 3 {
			t.Errorf("second request %+v", req)
		}
		r.stop()
	})
}

// runKey marks the context given to Run.
type runKey struct{}

func TestUninterruptibleSay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := agenttest.NewLLM(agenttest.Text("Hi."))
		var fromRun bool
		llm.Fn = func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
			fromRun = ctx.Value(runKey{}) != nil
			return agenttest.NewLLM(agenttest.Text("Hi.")).Stream(ctx, req)
		}
		r := newRig(t, agenttest.NewSTT("hello there friend"), llm)
		r.start(context.WithValue(t.Context(), runKey{}, true))
		r.s.Say("This call may be recorded for quality and training purposes.", agent.Uninterruptible())
		r.wait(0, is(agent.EventAgentText))
		time.Sleep(500 * time.Millisecond)
		r.speak(700 * time.Millisecond)
		r.wait(0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone && ev.Text == "Hi." })
		evs := r.tr.Events()
		if n := count(evs, agent.EventInterruption); n != 0 {
			t.Errorf("disclaimer interrupted: %+v", evs)
		}
		h := r.s.History()
		if len(h) != 3 || h[0].Interrupted || !strings.HasPrefix(h[0].Content, "This call may be recorded") {
			t.Errorf("history %+v", h)
		}
		if !fromRun {
			t.Error("the reply held over the disclaimer did not start from Run's context")
		}
		r.stop()
	})
}

// midReply starts a session that answers a typed turn with longReply, and
// returns a second into the reply's audio.
func midReply(t *testing.T) *rig {
	r := newRig(t, agenttest.NewSTT(), agenttest.NewLLM(agenttest.Text(longReply)))
	r.start(t.Context())
	r.s.SendText("tell me")
	r.wait(0, is(agent.EventAgentText))
	time.Sleep(time.Second)
	return r
}

func TestClientInterrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := midReply(t)
		r.s.Interrupt()
		ev, _ := r.wait(0, cancelled)
		if ev.Interruption.Heard == "" {
			t.Error("nothing heard after a second of speech")
		}
		r.wait(0, state(agent.StateListening))
		time.Sleep(100 * time.Millisecond)
		for _, o := range r.tr.Frames() {
			if o.Audible && o.At.After(r.tr.Flushes()[0]) {
				t.Fatal("audio after the client's stop")
			}
		}
		r.stop()
	})
}

func TestMarkerDrivesHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewMarkTransport(pcm.Mono16k, pcm.Mono8k, 300*time.Millisecond)
		llm := agenttest.NewLLM(agenttest.Text(longReply))
		s, err := agent.New(tr, agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(llm), agent.WithTTS(&agenttest.TTS{}),
			agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		s.SendText("go on")
		// The first chunk ("Thank you for calling.") lasts 0.88 s.
		_, _, _ = tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentText })
		time.Sleep(1000 * time.Millisecond)
		s.Interrupt()
		ev, _, _ := tr.WaitEvent(t.Context(), 0, cancelled)
		// Sent: the first chunk and ~100 ms more; its mark has not come
		// back yet (300 ms), so only part of it counts as heard.
		if h := ev.Interruption.Heard; h == "" || h == "Thank you for calling." || !strings.HasPrefix("Thank you for calling.", h) {
			t.Errorf("heard %q", h)
		}
		if len(tr.Marks()) == 0 {
			t.Error("no marks set")
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// streamSTT is a fake streaming recogniser whose partial result grows with
// the audio written.
type streamSTT struct {
	mu     sync.Mutex
	words  []string
	opened int
}

type stream struct {
	s *streamSTT
	n int
}

func (f *streamSTT) StartStream(context.Context, pcm.Format, string) (pipeline.STTStream, error) {
	f.mu.Lock()
	f.opened++
	f.mu.Unlock()
	return &stream{s: f}, nil
}

func (st *stream) Write(samples []int16) error { st.n += len(samples); return nil }

func (st *stream) Partial() pipeline.Transcript {
	k := min(st.n/8000, len(st.s.words)) // a word per 0.5 s
	return pipeline.Transcript{Text: strings.Join(st.s.words[:k], " ")}
}

func (st *stream) Close() (pipeline.Transcript, error) {
	return pipeline.Transcript{Text: strings.Join(st.s.words, " "), Final: true}, nil
}

func TestStreamingSTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &streamSTT{words: []string{"what", "time", "is", "it"}}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Noon."))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		tr.Play(agenttest.Speech(1500*time.Millisecond, 16000, 1))
		ev, _, err := tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventUserFinal })
		if err != nil || ev.Text != "what time is it" {
			t.Errorf("user_final %q, %v", ev.Text, err)
		}
		if _, _, err := tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventUserPartial }); err != nil {
			t.Error(err)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// recorder is an agent.Recorder that keeps what it was told.
type recorder struct {
	mu            sync.Mutex
	turns         []agent.TurnMetrics
	interruptions []string
	paused        []agent.Interruption
	preemptions   map[string]int
}

func (r *recorder) Turn(tm agent.TurnMetrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.turns = append(r.turns, tm)
}

func (r *recorder) Interruption(outcome string, in *agent.Interruption) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.interruptions = append(r.interruptions, outcome)
	if in != nil {
		r.paused = append(r.paused, *in)
	}
}

func (r *recorder) Preemption(outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.preemptions == nil {
		r.preemptions = map[string]int{}
	}
	r.preemptions[outcome]++
}

// preempted returns how many preemptive replies started, were used and
// were wasted.
func (r *recorder) preempted() (started, used, wasted int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.preemptions[agent.PreemptStarted], r.preemptions[agent.PreemptUsed], r.preemptions[agent.PreemptWasted]
}

func (*recorder) ToolCall(string, error) {}
func (*recorder) Handoff()               {}
func (*recorder) ProviderError(string)   {}

func TestMetricsRecorder(t *testing.T) {
	rec := &recorder{}
	synctest.Test(t, func(t *testing.T) {
		stt := agenttest.NewSTT("hello", "no no stop")
		stt.Delay = 100 * time.Millisecond
		r := newRig(t, stt, agenttest.NewLLM(agenttest.Text(longReply)), agent.WithMetrics(rec))
		r.start(t.Context())
		startReply(r)
		time.Sleep(time.Second)
		r.speak(time.Second)
		ev, _ := r.wait(0, is(agent.EventMetrics))
		if ev.Metrics.FirstAudioSent <= 0 || ev.Metrics.STTFinal <= 0 || ev.Metrics.LLMFirstToken <= 0 || ev.Metrics.TTSFirstAudio <= 0 {
			t.Errorf("turn metrics %+v", ev.Metrics)
		}
		r.wait(0, cancelled)
		r.stop()
	})
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.turns) == 0 || rec.turns[0].FirstAudioSent <= 0 || rec.turns[0].STTFinal <= 0 {
		t.Errorf("recorded turns %+v, want the first with its stages", rec.turns)
	}
	if !slices.Contains(rec.interruptions, agent.OutcomePaused) || !slices.Contains(rec.interruptions, agent.OutcomeCancelled) {
		t.Errorf("recorded interruptions %v, want paused and cancelled", rec.interruptions)
	}
	if len(rec.paused) == 0 || rec.paused[0].OnsetToSilence <= 0 {
		t.Errorf("paused interruptions %+v, want their times to silence", rec.paused)
	}
}

// schemaTool is a tool with the given parameters schema.
func schemaTool(schema string) agent.Tool {
	return agent.Tool{
		Tool: pipeline.Tool{Name: "t", Parameters: json.RawMessage(schema)},
		Func: func(context.Context, json.RawMessage) (string, error) { return "", nil },
	}
}

func TestNewTool(t *testing.T) {
	type args struct {
		City  string `json:"city" description:"where"`
		Units string `json:"units,omitempty" enum:"metric,imperial"`
	}
	var got args
	tool, err := agent.NewTool("weather", "The weather in a city.", func(_ context.Context, a args) (string, error) {
		got = a
		return "sunny", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(tool.Parameters, &schema); err != nil {
		t.Fatal(err)
	}
	if schema["type"] != "object" || fmt.Sprint(schema["required"]) != "[city]" {
		t.Errorf("schema %s", tool.Parameters)
	}
	if out, err := tool.Func(t.Context(), json.RawMessage(`{"city":"Lima","units":"metric"}`)); err != nil || out != "sunny" || got != (args{"Lima", "metric"}) {
		t.Errorf("call: %q, %v, args %+v", out, err, got)
	}
	for _, bad := range []string{`{}`, `{"city":3}`, `{"city":"Lima","units":"kelvin"}`} {
		if _, err := tool.Func(t.Context(), json.RawMessage(bad)); !errors.Is(err, agent.ErrToolArguments) {
			t.Errorf("arguments %s: %v, want ErrToolArguments", bad, err)
		}
	}
	if _, err := agent.NewTool("m", "", func(context.Context, map[string]string) (string, error) { return "", nil }); !errors.Is(err, agent.ErrToolSchema) {
		t.Errorf("map arguments: %v", err)
	}
	if _, err := agent.NewTool("s", "", func(context.Context, string) (string, error) { return "", nil }); !errors.Is(err, agent.ErrToolSchema) {
		t.Errorf("string arguments: %v", err)
	}
	if _, err := agent.New(agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k), agent.WithSTT(agenttest.NewSTT()),
		agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()), agent.WithTools(tool)); err != nil {
		t.Errorf("New with a generated schema: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	base := []agent.Option{agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(&agenttest.TTS{})}
	for _, tc := range []struct {
		name string
		opts []agent.Option
		want error
	}{
		{"no stages", nil, agent.ErrMissingStage},
		{"bad end of turn", append(base, agent.WithEndOfTurn(time.Millisecond)), agent.ErrOption},
		{"bad preset", append(base, agent.WithPreset(agent.Preset(9))), agent.ErrOption},
		{"bad tool", append(base, agent.WithTools(agent.Tool{})), agent.ErrOption},
		{"schema not JSON", append(base, agent.WithTools(schemaTool(`{"type":`))), agent.ErrToolSchema},
		{"schema not an object", append(base, agent.WithTools(schemaTool(`{"type":"string"}`))), agent.ErrToolSchema},
		{"schema without a type", append(base, agent.WithTools(schemaTool(`{"properties":{}}`))), agent.ErrToolSchema},
		{"schema with bad properties", append(base, agent.WithTools(schemaTool(`{"type":"object","properties":[1]}`))), agent.ErrToolSchema},
		{"bad policy", append(base, agent.WithInterruptionPolicy(agent.InterruptionPolicy{MinWords: -1})), agent.ErrOption},
		{"bad echo guard", append(base, agent.WithEchoGuard(agent.EchoGuard{Threshold: 2})), agent.ErrOption},
	} {
		if _, err := agent.New(tr, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := agent.New(nil); !errors.Is(err, agent.ErrNoTransport) {
		t.Errorf("nil transport: %v", err)
	}
}

// deafStream recognises nothing while streaming, but hears "stop" when
// asked about a whole utterance.
type deafStream struct{ streamSTT }

func (*deafStream) Transcribe(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
	return pipeline.Transcript{Text: "stop", Final: true}, nil
}

func TestEmptyStreamingFinalIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &deafStream{}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text(longReply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		s.SendText("tell me")
		if _, _, err := tr.WaitEvent(t.Context(), 0, is(agent.EventAgentText)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		tr.Play(agenttest.Speech(400*time.Millisecond, 16000, 3))
		if _, _, err := tr.WaitEvent(t.Context(), 0, cancelled); err != nil {
			t.Fatal(err)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestReplyKeepsItsLanguage changes the conversation's language (the
// recogniser hears Spanish) while a reply is being synthesised: the reply
// keeps the voice it started with. The language changes between two chunks
// with no other activity in between, so the race detector sees a reply
// goroutine that reads the session's language while the loop writes it.
func TestReplyKeepsItsLanguage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		langAt := t0.Add(2507 * time.Millisecond) // between two 20 ms ticks
		stt := &agenttest.STT{Fn: func(ctx context.Context, _ pcm.Frame, _ string) (pipeline.Transcript, error) {
			if err := sleepCtx(ctx, time.Until(langAt)); err != nil {
				return pipeline.Transcript{}, err
			}
			// Words ending in a number: the turn waits for more, so nothing
			// else happens when the language changes.
			return pipeline.Transcript{Text: "uno dos", Language: "es", Final: true}, nil
		}}
		var chunks int
		tts := &agenttest.TTS{}
		slow := pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
			chunks++
			first := chunks == 1
			audio := tts.Synthesize(ctx, req)
			return func(yield func(pcm.Frame, error) bool) {
				for fr, err := range audio {
					if !yield(fr, err) {
						return
					}
				}
				if first {
					// The next chunk starts just after the language changed.
					_ = sleepCtx(ctx, time.Until(langAt.Add(time.Millisecond)))
				}
			}
		})
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		s, err := agent.New(tr, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Vale."))), agent.WithTTS(slow),
			agent.WithVAD(agenttest.NewLevelModel()), agent.WithLanguage("en"),
			agent.WithVoices(map[string]string{"en": "en-voice", "es": "es-voice"}))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		s.Say("This call may be recorded. Please hold while we find an agent. Thank you for waiting.", agent.Uninterruptible())
		time.Sleep(500 * time.Millisecond)
		tr.Play(agenttest.Speech(400*time.Millisecond, 16000, 5))
		if _, _, err := tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventAgentDone && ev.Text == "Vale." }); err != nil {
			t.Fatal(err)
		}
		reqs := tts.Requests()
		if len(reqs) != 4 {
			t.Fatalf("speech requests %+v", reqs)
		}
		for i, r := range reqs {
			want := "en-voice"
			if i == 3 {
				want = "es-voice" // the reply to the Spanish words
			}
			if r.Voice != want {
				t.Errorf("speech request %d (%q) voice %q, want %q", i, r.Text, r.Voice, want)
			}
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
