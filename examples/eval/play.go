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
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
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

// result is the outcome of one run of a scenario.
type result struct {
	Name    string `json:"name"`
	Expect  string `json:"expect"`
	Outcome string `json:"outcome"`
	OK      bool   `json:"ok"`
	Detail  string `json:"detail,omitempty"`
	// DelayMS is, for a detected barge-in, the time from the speech onset
	// of the interrupting clip to agent silence (negative when the agent
	// fell silent before the onset: see EarlyMS).
	DelayMS float64 `json:"delay_ms,omitempty"`
	// EarlyMS is, when the session noticed the interrupting clip before its
	// onset (a soft first sound below the onset rule), by how much.
	EarlyMS float64 `json:"vad_before_onset_ms,omitempty"`
	// PauseMS is, for a reply paused and resumed, how long it paused.
	PauseMS float64 `json:"pause_ms,omitempty"`
	Turns   int     `json:"turns"`
	// ERLEdB is the echo canceller's echo return loss enhancement over
	// the scenario, once sessions report one.
	ERLEdB *float64 `json:"erle_db,omitempty"`
}

// play runs one scenario in real time against a fresh session. A scenario
// on a phone line is heard as a phone line delivers it (8 kHz, μ-law) by a
// session speaking at 8 kHz.
func play(ctx context.Context, t agenttest.Scenario, base []agent.Option, tts pipeline.TTS) result {
	res := result{Name: t.Name, Expect: t.Expect}
	line, mic := pcm.Mono16k, t.Mic
	if t.Line == agenttest.LinePhone {
		var err error
		line = pcm.Mono8k
		if mic, err = phoneLine(t.Mic); err != nil {
			res.Outcome, res.Detail = "error", err.Error()
			return res
		}
	}
	// pos converts a position in t.Mic (16 kHz) to one on the line.
	pos := func(n int) int { return n * line.Rate / rate }
	tr := agenttest.NewTransport(line, line)
	defer tr.Close()
	if t.Echo != nil {
		tr.SetEcho(t.Echo, t.EchoRate)
	}
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

	// The microphone's t = 0 is the agent's first audible frame (so an
	// echo clip lines up with the reply it echoes), or now when the agent
	// is silent.
	skip := 0
	if t.Agent != nil {
		s.Say(replyText)
		var first agenttest.Output
		if !waitFor(ctx, 10*time.Second, func() bool {
			i := slices.IndexFunc(tr.Frames(), audible)
			if i >= 0 {
				first = tr.Frames()[i]
			}
			return i >= 0
		}) {
			res.Outcome, res.Detail = "error", "the agent never started speaking"
			return res
		}
		skip = min(len(mic), int(time.Since(first.At).Seconds()*float64(line.Rate)))
	}
	// Sample k of the track is at microphone position p0+k.
	p0 := tr.Play(mic[skip:]) - int64(skip)
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
	var clips []clipTimes
	for _, c := range t.Clips {
		if !c.HasOnset {
			continue
		}
		start, ok1 := tr.Delivered(p0 + int64(max(pos(c.Start), skip)))
		onset, ok2 := tr.Delivered(p0 + int64(max(pos(c.Onset), skip)))
		if ok1 && ok2 {
			clips = append(clips, clipTimes{start: start, onset: onset})
		}
	}
	judge(&res, t, evs, tr.Frames(), clips)
	for _, e := range evs {
		if m := e.ev.Metrics; e.ev.Type == agent.EventMetrics && m != nil && m.EchoERLE != 0 {
			erle := m.EchoERLE
			res.ERLEdB = &erle
		}
	}
	return res
}

// phoneLine returns a 16 kHz track as a telephone line carries it: 8 kHz
// samples through μ-law.
func phoneLine(track []int16) ([]int16, error) {
	fr, err := resample.Frame(pcm.Frame{Samples: track, Format: pcm.Mono16k}, pcm.Mono8k)
	if err != nil {
		return nil, err
	}
	return g711.DecodeUlaw(nil, g711.EncodeUlaw(nil, fr.Samples)), nil
}

// clipTimes is when a user clip started and when its speech began, as a
// live microphone would have captured them.
type clipTimes struct{ start, onset time.Time }

func audible(o agenttest.Output) bool { return o.Audible }

// judge fills res from what the session did.
func judge(res *result, t agenttest.Scenario, evs []timedEvent, frames []agenttest.Output, clips []clipTimes) {
	var interrupted, cancelled, resumed bool
	// pause is when the interruption that led to the cancellation began:
	// the last pause before it, or the cancellation itself.
	var firstInt, pause, resumedAt time.Time
	for _, e := range evs {
		switch e.ev.Type {
		case agent.EventInterruption:
			if !interrupted {
				firstInt = e.at
			}
			interrupted = true
			if cancelled {
				break
			}
			if e.ev.Interruption != nil && e.ev.Interruption.Cancelled {
				cancelled = true
				if pause.IsZero() {
					pause = e.at
				}
				break
			}
			pause = e.at
		case agent.EventResumed:
			if !resumed {
				resumedAt = e.at
			}
			resumed = true
			if !cancelled {
				pause = time.Time{}
			}
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
		res.Outcome = "paused"
		if resumed {
			res.Outcome = "resumed"
		}
		if !cancelled {
			return
		}
		res.Outcome, res.OK = "cancelled", true
		// The interrupting clip is the last one to start (earlier clips
		// set the scene: echo, noise, other voices). The session may
		// notice its soft first sound before the onset rule does.
		if len(clips) == 0 {
			res.OK, res.Detail = false, "no user clip with speech"
			return
		}
		clip := clips[len(clips)-1]
		if pause.Before(clip.start) {
			res.Outcome, res.OK = "cancelled-early", false
			res.Detail = fmt.Sprintf("cancelled %.0f ms before the interrupting clip started", ms(clip.start.Sub(pause)))
			return
		}
		from := clip.onset
		if pause.Before(from) {
			res.EarlyMS = ms(clip.onset.Sub(pause))
			from = pause
		}
		if at, ok := silenceAfter(frames, from); ok {
			res.DelayMS = ms(at.Sub(clip.onset))
			res.Detail = fmt.Sprintf("onset to silence %.0f ms", res.DelayMS)
			if res.EarlyMS > 0 {
				res.Detail += fmt.Sprintf(", VAD %.0f ms before the onset", res.EarlyMS)
			}
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

// summary is the JSON the program prints last. With -repeat, the counts
// and rates are over all runs and each scenario reports its pass rate.
type summary struct {
	Runs       int        `json:"runs_per_scenario"`
	Scenarios  int        `json:"scenarios"`
	Passed     int        `json:"passed"`
	BargeIns   int        `json:"bargein_runs"`
	Missed     int        `json:"missed"`
	NoBargeIns int        `json:"no_bargein_runs"`
	False      int        `json:"false_bargeins"`
	Paused     int        `json:"paused_resumed"`
	OneTurns   int        `json:"one_turn_runs"`
	Split      int        `json:"split"`
	Early      int        `json:"vad_before_onset"`
	MissRate   float64    `json:"miss_rate"`
	FalseRate  float64    `json:"false_bargein_rate"`
	SplitRate  float64    `json:"split_rate"`
	DelayP50MS float64    `json:"delay_ms_p50"`
	DelayP95MS float64    `json:"delay_ms_p95"`
	DelayMaxMS float64    `json:"delay_ms_max"`
	PauseP50MS float64    `json:"pause_ms_p50"`
	PauseMaxMS float64    `json:"pause_ms_max"`
	PerScene   []scenario `json:"per_scenario"`
	Results    []result   `json:"results"`
}

// scenario is one scenario over all its runs.
type scenario struct {
	Name     string         `json:"name"`
	Expect   string         `json:"expect"`
	Runs     int            `json:"runs"`
	Passed   int            `json:"passed"`
	PassRate float64        `json:"pass_rate"`
	Outcomes map[string]int `json:"outcomes"`
	DelayMS  []float64      `json:"delay_ms,omitempty"`
	EarlyMS  []float64      `json:"vad_before_onset_ms,omitempty"`
	PauseMS  []float64      `json:"pause_ms,omitempty"`
	Turns    []int          `json:"turns,omitempty"`
	ERLEdB   []float64      `json:"erle_db,omitempty"`
	Detail   string         `json:"detail,omitempty"` // of the last failed run
}

// summarise aggregates the runs, which come scenario by scenario in file
// order (runs of a scenario together).
func summarise(rs []result, runs int) summary {
	s := summary{Runs: runs, Results: rs}
	var delays, pauses []float64
	index := map[string]int{}
	for _, r := range rs {
		i, ok := index[r.Name]
		if !ok {
			i = len(s.PerScene)
			index[r.Name] = i
			s.PerScene = append(s.PerScene, scenario{Name: r.Name, Expect: r.Expect, Outcomes: map[string]int{}})
		}
		sc := &s.PerScene[i]
		sc.Runs++
		sc.Outcomes[r.Outcome]++
		if r.OK {
			sc.Passed++
			s.Passed++
		} else if r.Detail != "" {
			sc.Detail = r.Detail
		}
		if r.DelayMS != 0 {
			sc.DelayMS = append(sc.DelayMS, r.DelayMS)
		}
		if r.EarlyMS > 0 {
			sc.EarlyMS = append(sc.EarlyMS, r.EarlyMS)
			s.Early++
		}
		if r.PauseMS > 0 {
			sc.PauseMS = append(sc.PauseMS, r.PauseMS)
			pauses = append(pauses, r.PauseMS)
		}
		if r.ERLEdB != nil {
			sc.ERLEdB = append(sc.ERLEdB, *r.ERLEdB)
		}
		switch r.Expect {
		case agenttest.ExpectBargeIn:
			s.BargeIns++
			if !r.OK {
				s.Missed++
			}
			if r.DelayMS != 0 {
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
			sc.Turns = append(sc.Turns, r.Turns)
			if r.Outcome == "split" {
				s.Split++
			}
		}
	}
	for i := range s.PerScene {
		sc := &s.PerScene[i]
		sc.PassRate = rate0(sc.Passed, sc.Runs)
	}
	s.Scenarios = len(s.PerScene)
	s.MissRate = rate0(s.Missed, s.BargeIns)
	s.FalseRate = rate0(s.False, s.NoBargeIns)
	s.SplitRate = rate0(s.Split, s.OneTurns)
	sort.Float64s(delays)
	s.DelayP50MS, s.DelayP95MS = percentile(delays, 0.5), percentile(delays, 0.95)
	if len(delays) > 0 {
		s.DelayMaxMS = delays[len(delays)-1]
	}
	sort.Float64s(pauses)
	s.PauseP50MS = percentile(pauses, 0.5)
	if len(pauses) > 0 {
		s.PauseMaxMS = pauses[len(pauses)-1]
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
