package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// lockedRand is a random source shared by fakes running on several
// goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) intn(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

func (l *lockedRand) dur(max time.Duration) time.Duration {
	return time.Duration(l.intn(int(max/time.Millisecond)+1)) * time.Millisecond
}

var errFlaky = errors.New("flaky provider")

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// TestRandomInterleavings runs many conversations with random timings,
// transcripts, provider failures, tool calls and client commands, and checks
// that every one of them goes back to listening with a valid history and
// leaves no goroutine behind (TestMain runs goleak).
func TestRandomInterleavings(t *testing.T) {
	n := 1000
	switch {
	case testing.Short():
		n = 100
	case raceEnabled:
		n = 150
	}
	for seed := range n {
		synctest.Test(t, func(t *testing.T) { randomConversation(t, uint64(seed)) })
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func randomConversation(t *testing.T, seed uint64) {
	rng := &lockedRand{r: rand.New(rand.NewPCG(seed, 7))}
	texts := []string{"", "uh huh", "stop", "what about tomorrow then", "okay", "one two", "tell me about the weather please"}
	stt := &agenttest.STT{Fn: func(ctx context.Context, _ pcm.Frame, _ string) (pipeline.Transcript, error) {
		if err := sleepCtx(ctx, rng.dur(400*time.Millisecond)); err != nil {
			return pipeline.Transcript{}, err
		}
		if rng.intn(30) == 0 {
			return pipeline.Transcript{}, errFlaky
		}
		return pipeline.Transcript{Text: texts[rng.intn(len(texts))], Final: true}, nil
	}}
	replies := []string{"Sure.", "Let me think about that for a moment. Here is the answer you wanted.", longReply}
	llm := &agenttest.LLM{Fn: func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		mode := rng.intn(20)
		text := replies[rng.intn(len(replies))]
		delay := rng.dur(80 * time.Millisecond)
		tool := len(req.Tools) > 0 && rng.intn(3) == 0
		return func(yield func(pipeline.Delta, error) bool) {
			if err := sleepCtx(ctx, rng.dur(600*time.Millisecond)); err != nil {
				yield(pipeline.Delta{}, err)
				return
			}
			if mode == 0 { // hang until cancelled or timed out
				<-ctx.Done()
				yield(pipeline.Delta{}, ctx.Err())
				return
			}
			for k, d := range agenttest.Text(text) {
				if mode == 1 && k == 3 {
					yield(pipeline.Delta{}, errFlaky)
					return
				}
				if err := sleepCtx(ctx, delay); err != nil {
					yield(pipeline.Delta{}, err)
					return
				}
				if !yield(d, nil) {
					return
				}
			}
			if tool {
				yield(agenttest.Call(fmt.Sprint("c", rng.intn(1000)), "lookup", `{"id":1}`), nil)
			}
		}
	}}
	tts := &agenttest.TTS{PerChar: 30 * time.Millisecond}
	ttsFlaky := pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		if rng.intn(25) == 0 {
			return func(yield func(pcm.Frame, error) bool) { yield(pcm.Frame{}, errFlaky) }
		}
		return tts.Synthesize(ctx, req)
	})
	tool := agent.Tool{
		Tool:    pipeline.Tool{Name: "lookup", Parameters: json.RawMessage(`{"type":"object"}`)},
		Timeout: time.Second,
		Func: func(ctx context.Context, _ json.RawMessage) (string, error) {
			if err := sleepCtx(ctx, rng.dur(1500*time.Millisecond)); err != nil {
				return "", err
			}
			if rng.intn(10) == 0 {
				return "", agent.Handoff("customer asked for a person")
			}
			return "found", nil
		},
	}
	policy := agent.InterruptionPolicy{}
	if rng.intn(4) == 0 {
		policy.Mode = agent.CancelImmediately
	}
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono8k)
	s, err := agent.New(tr, agent.WithSTT(stt), agent.WithLLM(llm), agent.WithTTS(ttsFlaky), agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithTools(tool), agent.WithInterruptionPolicy(policy), agent.WithProviderTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(t.Context()) }()

	for range 2 + rng.intn(6) {
		time.Sleep(rng.dur(1500 * time.Millisecond))
		switch rng.intn(10) {
		case 0:
			s.SendText("hello there")
		case 1:
			s.Interrupt()
		case 2:
			var opts []agent.SayOption
			if rng.intn(2) == 0 {
				opts = append(opts, agent.Uninterruptible())
			}
			s.Say("Please hold.", opts...)
		case 3:
			s.SendImage(pipeline.Image{Data: []byte{1}, MIMEType: "image/png"})
		default:
			tr.Play(agenttest.Speech(rng.dur(1500*time.Millisecond)+50*time.Millisecond, 16000, int64(seed)))
		}
	}
	// Let everything settle: the session must come back to listening.
	deadline := time.Now().Add(40 * time.Second)
	quiet := 0
	for quiet < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("seed %d: session stuck in %v; events %+v", seed, s.State(), tr.Events())
		}
		time.Sleep(500 * time.Millisecond)
		if s.State() == agent.StateListening && tr.Queued() == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	checkHistory(t, s.History())
	tr.Hangup()
	if err := <-done; err != nil {
		t.Fatalf("seed %d: Run = %v", seed, err)
	}
}
