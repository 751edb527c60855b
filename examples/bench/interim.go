package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad/silero"
)

// secInterim is the section of decisions on interim words: a backchannel
// over the reply resumes it, a real interruption cancels it.
const secInterim = "interim"

// interimClip is a user clip talked over the reply and the words the
// scripted recogniser answers for it.
type interimClip struct {
	file, text string
}

// The backchannels and the interruptions (real words, no stop word: the
// words must decide, not a stop word's first sound).
var (
	interimBackchannels = []interimClip{{"uhhuh_awb.wav", "Uh huh."}, {"okay_rms.wav", "Okay."}}
	interimQuestions    = []interimClip{
		{"shipping_awb.wav", "What are your shipping times to Canada?"},
		{"return_kal16.wav", "I would like to return a pair of shoes."},
	}
)

// interimResult holds one recogniser's measurements, in milliseconds.
type interimResult struct {
	Recogniser string
	// Backchannels: trials, how many cancelled the reply (false barge-ins)
	// and the pause (reply silenced → resumed) of the others.
	Backchannels, FalseBargeIns int
	Pause                       []float64
	// Questions: trials, how many did not cancel the reply, and the time
	// from the first partial result holding a real word to the
	// cancellation.
	Questions, Missed int
	WordToCancel      []float64
	// Unheard counts interruptions cancelled before any word of them was
	// recognised (by the policy's long-speech timer).
	Unheard int
}

// runInterim measures interim-word decisions per recogniser: PocketSphinx
// (streaming, partial results while the user speaks) and the Realtime
// transcription provider against realtimetest answering at once.
func runInterim(ctx context.Context, cfg config, w *silero.Weights, progress io.Writer) ([]*interimResult, error) {
	var out []*interimResult
	for _, rec := range []string{"sphinx", "realtime"} {
		fmt.Fprintf(progress, "  recogniser %s\n", rec)
		r, err := runInterimRecogniser(ctx, cfg, w, rec, progress)
		if err != nil {
			return nil, fmt.Errorf("bench: interim %s: %w", rec, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runInterimRecogniser(ctx context.Context, cfg config, w *silero.Weights, rec string, progress io.Writer) (*interimResult, error) {
	var base []agent.Option
	var script func(text string)
	switch rec {
	case "sphinx":
		eng, err := offline.New()
		if err != nil {
			return nil, err
		}
		defer eng.Close()
		base = []agent.Option{agent.WithStreamingSTT(eng.STT)}
	case "realtime":
		rt := realtimetest.NewServer()
		defer rt.Close()
		r, err := realtime.New(realtime.WithBaseURL(rt.URL), realtime.WithAPIKey("bench"))
		if err != nil {
			return nil, err
		}
		base = []agent.Option{agent.WithStreamingSTT(r)}
		script = func(text string) { rt.SetDefault(realtimetest.Reply{Text: text}) }
	}
	base = append(base, agent.WithLLM(agenttest.NewLLM(agenttest.Text(bargeInReply))), agent.WithVAD(sileroFactory(w)))
	load := func(cs []interimClip) ([][]int16, error) {
		var out [][]int16
		for _, c := range cs {
			s, err := loadClip(cfg.speechDir, c.file, 16000)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	bcs, err := load(interimBackchannels)
	if err != nil {
		return nil, err
	}
	qs, err := load(interimQuestions)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 2))
	res := &interimResult{Recogniser: rec}
	for i := range cfg.interimTrials {
		question := i%2 == 1
		k := (i / 2) % 2
		clip, c := bcs[k], interimBackchannels[k]
		if question {
			clip, c = qs[k], interimQuestions[k]
		}
		if script != nil {
			script(c.text)
		}
		offset := 500*time.Millisecond + time.Duration(rng.Int64N(int64(2*time.Second)))
		evs, err := interimTrial(ctx, base, clip, offset)
		if err != nil {
			return nil, err
		}
		paused := slices.IndexFunc(evs, func(e timedEvent) bool { return e.Type == agent.EventInterruption && !e.Interruption.Cancelled })
		cancelled := slices.IndexFunc(evs, func(e timedEvent) bool { return e.Type == agent.EventInterruption && e.Interruption.Cancelled })
		resumed := slices.IndexFunc(evs, func(e timedEvent) bool { return e.Type == agent.EventResumed })
		if cfg.verbose {
			for _, e := range evs {
				fmt.Fprintf(progress, "    %s %s %q %+v\n", e.at.Format("15:04:05.000"), e.Type, e.Text, e.Interruption)
			}
		}
		if !question {
			res.Backchannels++
			switch {
			case cancelled >= 0:
				res.FalseBargeIns++
				fmt.Fprintf(progress, "  trial %d (%s): the backchannel cancelled the reply\n", i+1, c.file)
			case paused >= 0 && resumed > paused:
				res.Pause = append(res.Pause, millis(evs[resumed].at.Sub(evs[paused].at)))
			}
			continue
		}
		res.Questions++
		if cancelled < 0 {
			res.Missed++
			fmt.Fprintf(progress, "  trial %d (%s): the interruption did not cancel the reply\n", i+1, c.file)
			continue
		}
		word := slices.IndexFunc(evs, func(e timedEvent) bool {
			return e.Type == agent.EventUserPartial && e.at.After(evs[max(paused, 0)].at.Add(-time.Millisecond)) && realWords(e.Text)
		})
		if word >= 0 && word <= cancelled {
			res.WordToCancel = append(res.WordToCancel, millis(evs[cancelled].at.Sub(evs[word].at)))
		} else {
			res.Unheard++
		}
	}
	return res, nil
}

// realWords reports whether text has a word that is no backchannel.
func realWords(text string) bool {
	bc := agent.Backchannels("en")
	for _, w := range strings.Fields(strings.ToLower(text)) {
		w = strings.Trim(w, ".,?!")
		if w != "" && !slices.Contains(bc, w) {
			return true
		}
	}
	return false
}

// timedEvent is a session event and when the handler saw it.
type timedEvent struct {
	agent.Event
	at time.Time
}

// interimTrial runs one session in real time: the agent says the long
// reply, and offset after its first audible frame the user's clip plays.
// It returns the session's events.
func interimTrial(ctx context.Context, base []agent.Option, clip []int16, offset time.Duration) ([]timedEvent, error) {
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k)
	defer tr.Close()
	var mu sync.Mutex
	var evs []timedEvent
	opts := append(slices.Clone(base), agent.WithTTS(&agenttest.TTS{}), agent.WithEventHandler(func(e agent.Event) {
		mu.Lock()
		evs = append(evs, timedEvent{e, time.Now()})
		mu.Unlock()
	}))
	s, err := agent.New(tr, opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	s.Say(bargeInReply)
	deadline := time.Now().Add(10 * time.Second)
	for !slices.ContainsFunc(tr.Frames(), func(o agenttest.Output) bool { return o.Audible }) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench: the agent never started speaking")
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	sleepCtx(ctx, offset)
	tr.Play(clip)
	// The clip, then time for the decision (the policy's window and the
	// recogniser's wait are bounded well below this).
	sleepCtx(ctx, time.Duration(len(clip))*time.Second/16000+3*time.Second)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(evs), nil
}

// flat adds the result's bench.json keys.
func (r *interimResult) flat(out map[string]any, put func(string, summary)) {
	p := "interim_" + r.Recogniser
	put(p+"_backchannel_pause_ms", summarize(r.Pause))
	put(p+"_word_to_cancel_ms", summarize(r.WordToCancel))
	out[p+"_backchannels"], out[p+"_false_bargeins"] = r.Backchannels, r.FalseBargeIns
	out[p+"_interruptions"], out[p+"_missed"], out[p+"_cancelled_before_words"] = r.Questions, r.Missed, r.Unheard
}

// markdownInterim renders the section.
func markdownInterim(p func(string, ...any), rs []*interimResult) {
	p("## Decisions on interim words\n\n")
	p("| recogniser | backchannels | false barge-ins | pause p50 | pause p95 | interruptions | missed | before words | word → cancel p50 | word → cancel p95 |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rs {
		ps, ws := summarize(r.Pause), summarize(r.WordToCancel)
		p("| %s | %d | %d | %.1f | %.1f | %d | %d | %d | %.1f | %.1f |\n", r.Recogniser, r.Backchannels, r.FalseBargeIns, ps.P50, ps.P95,
			r.Questions, r.Missed, r.Unheard, ws.P50, ws.P95)
	}
	p("\nHow measured: a new session per trial in real time, in process (agenttest's transport, Silero VAD, the default ")
	p("pause-then-decide policy); the agent speaks a long scripted reply and, 0.5–2.5 s (seeded) after its first audible frame, ")
	p("the microphone plays a backchannel (flite's \"Uh huh.\", \"Okay.\") or a question with no stop word (\"What are your shipping ")
	p("times to Canada?\", \"I would like to return a pair of shoes.\"). *pause*: the `interruption` event (reply silenced) → ")
	p("`resumed`. *word → cancel*: the first `user_partial` holding a word that is no backchannel → the `interruption` event ")
	p("with `cancelled`; *before words*: interruptions cancelled before any of their words was recognised (the policy's ")
	p("long-speech timer). *sphinx*: PocketSphinx streaming, partial results while the user speaks; *realtime*: the Realtime ")
	p("transcription provider against realtimetest answering at once (words arrive once the audio is committed). ")
	p("`interim_REC_backchannel_pause_ms_*`, `interim_REC_word_to_cancel_ms_*` in bench.json.\n\n")
}
