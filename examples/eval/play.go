package main

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// replyText is what the agent "says" while the scenario's reply clip plays.
const replyText = "This is the reply the agent is speaking in this scenario."

const rate = 16000

// seconds converts 16 kHz samples to a duration.
func seconds(n int) time.Duration { return time.Duration(n) * time.Second / rate }

// quiet is how long the agent's output must stay silent to count as stopped.
const quiet = 300 * time.Millisecond

// clipTTS speaks the scenario's reply clip for replyText and hands every
// other text to the configured engine.
type clipTTS struct {
	clip []int16
	next pipeline.TTS
}

func (c clipTTS) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	if req.Text != replyText || c.clip == nil {
		return c.next.Synthesize(ctx, req)
	}
	return func(yield func(pcm.Frame, error) bool) {
		const n = rate / 50
		for i := 0; i < len(c.clip); i += n {
			if ctx.Err() != nil {
				yield(pcm.Frame{}, context.Cause(ctx))
				return
			}
			fr := pcm.Frame{Samples: c.clip[i:min(i+n, len(c.clip))], Format: pcm.Mono16k, Timestamp: seconds(i)}
			if !yield(fr, nil) {
				return
			}
		}
	}
}

type timedEvent struct {
	at time.Time
	ev agent.Event
}

// result is one scenario's outcome.
type result struct {
	Name    string `json:"name"`
	Expect  string `json:"expect"`
	Outcome string `json:"outcome"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail,omitempty"`
	// DelayMS is, for a detected barge-in, the time from the speech onset
	// of the interrupting clip to agent silence.
	DelayMS float64 `json:"delay_ms,omitempty"`
	// PauseMS is, for a reply paused and resumed, how long it paused.
	PauseMS float64 `json:"pause_ms,omitempty"`
	Turns   int     `json:"turns"`
}

// play runs one scenario in real time against a fresh session.
func play(ctx context.Context, t agenttest.Scenario, base []agent.Option, tts pipeline.TTS) result {
	res := result{Name: t.Name, Expect: t.Expect}
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	defer tr.Close()
	var mu sync.Mutex
	var events []timedEvent
	opts := append(slices.Clone(base),
		agent.WithTTS(clipTTS{clip: t.Agent, next: tts}),
		agent.WithEventHandler(func(ev agent.Event) {
			mu.Lock()
			events = append(events, timedEvent{time.Now(), ev})
			mu.Unlock()
		}))
	s, err := agent.New(tr, opts...)
	if err != nil {
		res.Outcome, res.Detail = "error", err.Error()
		return res
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	if t.Agent != nil {
		s.Say(replyText)
		if !waitFor(ctx, 10*time.Second, func() bool { return slices.ContainsFunc(tr.Frames(), audible) }) {
			res.Outcome, res.Detail = "error", "the agent never started speaking"
			return res
		}
	}
	p0 := tr.Play(t.Mic)
	// Let the microphone run out, then give the session time to decide
	// (end of turn, resume after a false interruption).
	waitFor(ctx, seconds(len(t.Mic))+5*time.Second, func() bool { return tr.Queued() == 0 })
	sleep(ctx, 2500*time.Millisecond)
	if ctx.Err() != nil {
		res.Outcome = "aborted"
		return res
	}
	mu.Lock()
	evs := slices.Clone(events)
	mu.Unlock()
	var onsets []time.Time
	for _, c := range t.Clips {
		if !c.HasOnset {
			continue
		}
		if at, ok := tr.Delivered(p0 + int64(c.Onset)); ok {
			onsets = append(onsets, at)
		}
	}
	judge(&res, t, evs, tr.Frames(), onsets)
	return res
}

func audible(o agenttest.Output) bool { return o.Audible }

// judge fills res from what the session did.
func judge(res *result, t agenttest.Scenario, evs []timedEvent, frames []agenttest.Output, onsets []time.Time) {
	var interrupted, cancelled, resumed bool
	var firstInt, resumedAt time.Time
	for _, e := range evs {
		switch e.ev.Type {
		case agent.EventInterruption:
			if !interrupted {
				firstInt = e.at
			}
			interrupted = true
			if e.ev.Interruption != nil && e.ev.Interruption.Cancelled {
				cancelled = true
			}
		case agent.EventResumed:
			if !resumed {
				resumedAt = e.at
			}
			resumed = true
		case agent.EventUserFinal:
			res.Turns++
		}
	}
	switch t.Expect {
	case agenttest.ExpectBargeIn:
		if !interrupted {
			res.Outcome, res.Detail = "missed", "the agent kept talking"
			return
		}
		// The interrupting clip is the latest one to start before the
		// interruption.
		var onset time.Time
		for _, o := range onsets {
			if !o.After(firstInt) {
				onset = o
			}
		}
		res.Outcome = "paused"
		if cancelled {
			res.Outcome = "cancelled"
		}
		if resumed && !cancelled {
			res.Outcome = "resumed"
		}
		res.OK = cancelled
		if !onset.IsZero() {
			if at, ok := silenceAfter(frames, onset); ok {
				res.DelayMS = ms(at.Sub(onset))
				res.Detail = fmt.Sprintf("onset to silence %.0f ms", res.DelayMS)
			}
		} else {
			res.Detail = "interrupted before any user speech"
			res.OK = false
		}
	case agenttest.ExpectNoBargeIn:
		switch {
		case cancelled:
			res.Outcome, res.Detail = "false-bargein", "the reply was cancelled"
		case interrupted && resumed:
			res.Outcome, res.OK = "paused-resumed", true
			res.PauseMS = ms(resumedAt.Sub(firstInt))
			res.Detail = fmt.Sprintf("paused %.0f ms", res.PauseMS)
		case interrupted:
			res.Outcome, res.Detail = "paused", "paused and never resumed"
		default:
			res.Outcome, res.OK = "kept-talking", true
		}
	case agenttest.ExpectOneTurn:
		res.OK = res.Turns == 1
		switch {
		case res.Turns == 0:
			res.Outcome = "no-turn"
		case res.Turns > 1:
			res.Outcome, res.Detail = "split", fmt.Sprintf("%d turns", res.Turns)
		default:
			res.Outcome = "one-turn"
		}
	}
}

// silenceAfter returns when the agent's output went quiet after from: the
// end of the last audible frame before a stretch of at least quiet with no
// audible frame (or the end of the output).
func silenceAfter(frames []agenttest.Output, from time.Time) (time.Time, bool) {
	last := from
	for i, f := range frames {
		if f.At.Before(from) {
			continue
		}
		if f.Audible {
			last = f.At
			continue
		}
		// A silent frame: does the silence last?
		j := i
		for j < len(frames) && !frames[j].Audible {
			j++
		}
		if j == len(frames) || frames[j].At.Sub(f.At) >= quiet {
			return last, true
		}
	}
	return time.Time{}, false
}

// summary is the JSON the program prints last.
type summary struct {
	Scenarios  int      `json:"scenarios"`
	Passed     int      `json:"passed"`
	BargeIns   int      `json:"bargein_scenarios"`
	Missed     int      `json:"missed"`
	NoBargeIns int      `json:"no_bargein_scenarios"`
	False      int      `json:"false_bargeins"`
	Paused     int      `json:"paused_resumed"`
	OneTurns   int      `json:"one_turn_scenarios"`
	Split      int      `json:"split"`
	MissRate   float64  `json:"miss_rate"`
	FalseRate  float64  `json:"false_bargein_rate"`
	SplitRate  float64  `json:"split_rate"`
	DelayP50MS float64  `json:"delay_ms_p50"`
	DelayP95MS float64  `json:"delay_ms_p95"`
	DelayMaxMS float64  `json:"delay_ms_max"`
	Results    []result `json:"results"`
}

func summarise(rs []result) summary {
	s := summary{Scenarios: len(rs), Results: rs}
	var delays []float64
	for _, r := range rs {
		if r.OK {
			s.Passed++
		}
		switch r.Expect {
		case agenttest.ExpectBargeIn:
			s.BargeIns++
			if !r.OK {
				s.Missed++
			}
			if r.DelayMS > 0 {
				delays = append(delays, r.DelayMS)
			}
		case agenttest.ExpectNoBargeIn:
			s.NoBargeIns++
			if r.Outcome == "false-bargein" || r.Outcome == "paused" {
				s.False++
			}
			if r.Outcome == "paused-resumed" {
				s.Paused++
			}
		case agenttest.ExpectOneTurn:
			s.OneTurns++
			if r.Outcome == "split" {
				s.Split++
			}
		}
	}
	s.MissRate = rate0(s.Missed, s.BargeIns)
	s.FalseRate = rate0(s.False, s.NoBargeIns)
	s.SplitRate = rate0(s.Split, s.OneTurns)
	sort.Float64s(delays)
	s.DelayP50MS, s.DelayP95MS = percentile(delays, 0.5), percentile(delays, 0.95)
	if len(delays) > 0 {
		s.DelayMaxMS = delays[len(delays)-1]
	}
	return s
}

func rate0(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// percentile returns the p-quantile of sorted values (nearest rank).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitFor polls cond every 5 ms until it holds, ctx ends or limit passes.
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false
		}
		sleep(ctx, 5*time.Millisecond)
	}
	return true
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
