package agent_test

import (
	"context"
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

// commitSTT is a fake streaming recogniser whose streams commit and abort:
// a stream's partial result grows by a word every half second of audio;
// once committed, it is all of the stream's words, final, until more audio
// comes. With every set, the committed words come one every that long
// first, not final, as the Realtime API streams a transcript. With draft
// set, the committed words are whole but not final for that long, and
// Close waits for them, as PocketSphinx's final search runs.
type commitSTT struct {
	mu      sync.Mutex
	texts   []string // the words of each stream, in order; then the last again
	every   time.Duration
	draft   time.Duration
	streams []*commitStream
}

func (f *commitSTT) StartStream(context.Context, pcm.Format, string) (pipeline.STTStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	text := f.texts[min(len(f.streams), len(f.texts)-1)]
	st := &commitStream{words: strings.Fields(text), every: f.every, draft: f.draft}
	f.streams = append(f.streams, st)
	return st, nil
}

func (f *commitSTT) all() []*commitStream {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*commitStream(nil), f.streams...)
}

type commitStream struct {
	mu      sync.Mutex
	words   []string
	n       int  // samples written
	covered bool // committed, no audio since
	commits int
	// afterCommit counts samples written after the last commit.
	afterCommit     int
	aborted, closed bool
	every, draft    time.Duration
	committedAt     time.Time
}

func (st *commitStream) Write(samples []int16) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.n += len(samples)
	if st.commits > 0 {
		st.afterCommit += len(samples)
	}
	st.covered = false
	return nil
}

func (st *commitStream) Partial() pipeline.Transcript {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.covered {
		if k := len(st.words); st.every > 0 && time.Since(st.committedAt) < time.Duration(k)*st.every {
			k = int(time.Since(st.committedAt) / st.every)
			return pipeline.Transcript{Text: strings.Join(st.words[:k], " ")}
		}
		if time.Since(st.committedAt) < st.draft {
			return pipeline.Transcript{Text: strings.Join(st.words, " "), Whole: true}
		}
		return pipeline.Transcript{Text: strings.Join(st.words, " "), Final: true}
	}
	k := min(st.n/8000, len(st.words))
	return pipeline.Transcript{Text: strings.Join(st.words[:k], " ")}
}

func (st *commitStream) Commit() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.commits++
	st.afterCommit = 0
	st.covered = true
	st.committedAt = time.Now()
}

func (st *commitStream) Abort() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.aborted = true
}

func (st *commitStream) Close() (pipeline.Transcript, error) {
	st.mu.Lock()
	wait := time.Until(st.committedAt.Add(st.draft))
	st.mu.Unlock()
	time.Sleep(wait)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	if st.aborted {
		return pipeline.Transcript{}, pipeline.ErrAborted
	}
	return pipeline.Transcript{Text: strings.Join(st.words, " "), Final: true}, nil
}

func (st *commitStream) stats() (commits, afterCommit int, aborted, closed bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.commits, st.afterCommit, st.aborted, st.closed
}

func TestStreamCommittedAtEndOfSpeech(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &commitSTT{texts: []string{"what time is it"}}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Noon."))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		tr.Play(agenttest.Speech(time.Second, 16000, 1))
		ev, _, err := tr.WaitEvent(t.Context(), 0, func(ev agent.Event) bool { return ev.Type == agent.EventUserFinal })
		if err != nil || ev.Text != "what time is it" {
			t.Errorf("user_final %q, %v", ev.Text, err)
		}
		st := sst.all()
		if len(st) != 1 {
			t.Fatalf("%d streams", len(st))
		}
		// Committed once at the end of speech; the silence that followed
		// was not sent; the words came from the committed result.
		if commits, after, aborted, _ := st[0].stats(); commits != 1 || after != 0 || aborted {
			t.Errorf("commits %d, samples after the commit %d, aborted %v", commits, after, aborted)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, _, _, closed := st[0].stats(); !closed {
			t.Error("the committed stream was never closed")
		}
	})
}

func TestStreamPauseSendsTheGap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &commitSTT{texts: []string{"my order number is one two three four"}}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text("Thanks."))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		// A pause after "my order number is" (an open ending, held), then
		// the digits: one turn, one stream, committed twice, with the pause
		// given to the recogniser when the user went on.
		tr.Play(agenttest.Speech(time.Second, 16000, 1))
		tr.Play(agenttest.Silence(700*time.Millisecond, 16000))
		tr.Play(agenttest.Speech(time.Second, 16000, 2))
		time.Sleep(8 * time.Second)
		if n := count(tr.Events(), agent.EventUserFinal); n != 1 {
			t.Errorf("%d user turns, want 1", n)
		}
		st := sst.all()
		if len(st) != 1 {
			t.Fatalf("%d streams", len(st))
		}
		if commits, after, _, _ := st[0].stats(); commits != 2 || after != 0 {
			t.Errorf("commits %d, samples after the last commit %d", commits, after)
		}
		st[0].mu.Lock()
		n := st[0].n
		st[0].mu.Unlock()
		// 1 s + 700 ms + 1 s + the VAD's 200 ms of silence at the end
		// (no pre-roll: the speech starts the stream): everything but the
		// silence after the turn.
		if got := time.Duration(n) * time.Second / 16000; got < 2800*time.Millisecond || got > 3100*time.Millisecond {
			t.Errorf("the stream got %v of audio", got)
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestStreamAbortedOnFalseInterruption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &commitSTT{texts: []string{"where is my order", "uh huh"}}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text(longReply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 1))
		_, i, err := tr.WaitEvent(t.Context(), 0, is(agent.EventAgentText))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		tr.Play(agenttest.Speech(400*time.Millisecond, 16000, 2))
		if _, _, err := tr.WaitEvent(t.Context(), i, is(agent.EventResumed)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the VAD confirms the end of the backchannel
		st := sst.all()
		if len(st) != 2 {
			t.Fatalf("%d streams", len(st))
		}
		if _, _, aborted, _ := st[1].stats(); !aborted {
			t.Error("the backchannel's stream was not aborted")
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

func TestBackchannelResumesWhenTheVoiceStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
		sst := &commitSTT{texts: []string{"where is my order", "uh huh"}}
		s, err := agent.New(tr, agent.WithStreamingSTT(sst), agent.WithLLM(agenttest.NewLLM(agenttest.Text(longReply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(agenttest.NewLevelModel()))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(t.Context()) }()
		tr.Play(agenttest.Speech(800*time.Millisecond, 16000, 1))
		_, i, err := tr.WaitEvent(t.Context(), 0, is(agent.EventAgentText))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		tr.Play(agenttest.Speech(300*time.Millisecond, 16000, 2))
		spoken := time.Now()
		paused, j, err := tr.WaitEvent(t.Context(), i, is(agent.EventInterruption))
		if err != nil || paused.Interruption.Cancelled {
			t.Fatalf("interruption %+v, %v", paused, err)
		}
		pausedAt := time.Now()
		if _, _, err := tr.WaitEvent(t.Context(), j, is(agent.EventResumed)); err != nil {
			t.Fatal(err)
		}
		// Resumed at the first silent window after the backchannel, long
		// before the VAD's 300 ms of silence confirm its end.
		if end, d := spoken.Add(300*time.Millisecond), time.Since(pausedAt); time.Since(end) > 100*time.Millisecond {
			t.Errorf("resumed %v after the backchannel ended (paused %v)", time.Since(end), d)
		}
		time.Sleep(2 * time.Second)
		evs := tr.Events()
		if n := count(evs, agent.EventUserFinal); n != 1 {
			t.Errorf("%d user turns, want 1 (the backchannel is no turn)", n)
		}
		if n := count(evs, agent.EventInterruption); n != 1 {
			t.Errorf("%d interruption events, want 1: %+v", n, evs)
		}
		if _, _, aborted, _ := sst.all()[1].stats(); !aborted {
			t.Error("the backchannel's stream was not aborted")
		}
		tr.Hangup()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
