package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

// maxToolRounds bounds LLM calls per reply when tools keep being called.
const maxToolRounds = 5

// reply is the agent's answer in progress, seen from the session loop.
type reply struct {
	gen     uint64
	lang    string // the conversation's language when it started
	rec     *replyRecord
	base    time.Time // end of the user's speech, for metrics
	metrics TurnMetrics
	done    bool // the reply goroutine has finished
	drained bool // the playout sent all of it
	audible bool // some of it was sent
	// echo counts microphone samples of the agent's echo alone heard
	// while it played (with the echo canceller on).
	echo int64
}

// replyRecord is what the reply goroutine produced: the assistant messages
// (full text, tool calls) and tool results, in order. Segment.Message
// indexes msgs.
type replyRecord struct {
	mu   sync.Mutex
	msgs []pipeline.Message
	// frozen stops updates once a TTS failure has fixed the reply to what
	// was spoken plus the fallback line.
	frozen bool
}

func (r *replyRecord) add(m pipeline.Message) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return len(r.msgs) - 1
}

func (r *replyRecord) update(i int, f func(*pipeline.Message)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.frozen {
		f(&r.msgs[i])
	}
}

// freeze sets message i's content and ignores later updates.
func (r *replyRecord) freeze(i int, content string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs[i].Content = content
	r.frozen = true
}

func (r *replyRecord) snapshot() []pipeline.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]pipeline.Message, len(r.msgs))
	for i, m := range r.msgs {
		m.ToolCalls = append([]pipeline.ToolCall(nil), m.ToolCalls...)
		out[i] = m
	}
	return out
}

// replyKind tells what a replyMsg reports.
type replyKind int

const (
	replyFirstToken replyKind = iota + 1
	replyFirstAudio
	replyEvent
	replyFailed
	replyDone
)

// appendHistory adds a message, merging consecutive user messages (a turn
// split by a pause, whose reply was cancelled before anything was heard).
func (l *loop) appendHistory(msgs ...pipeline.Message) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	for _, m := range msgs {
		if n := len(l.s.history); m.Role == pipeline.RoleUser && n > 0 && l.s.history[n-1].Role == pipeline.RoleUser {
			last := &l.s.history[n-1]
			last.Content = strings.TrimSpace(last.Content + " " + m.Content)
			last.Images = append(last.Images, m.Images...)
			last.Frustration = max(last.Frustration, m.Frustration)
			continue
		}
		l.s.history = append(l.s.history, m)
	}
}

// request builds the LLM request from the history and the messages that
// follow it.
func (l *loop) request(next ...pipeline.Message) pipeline.Request {
	l.s.mu.Lock()
	hist := make([]pipeline.Message, len(l.s.history))
	copy(hist, l.s.history)
	l.s.mu.Unlock()
	system := l.cfg.systemPrompt
	if l.lang != "" {
		note := fmt.Sprintf("The user speaks %s: always reply in %s.", languageName(l.lang), languageName(l.lang))
		system = strings.TrimSpace(system + "\n\n" + note)
	}
	msgs := make([]pipeline.Message, 0, len(hist)+len(next)+1)
	if system != "" {
		msgs = append(msgs, pipeline.Message{Role: pipeline.RoleSystem, Content: system})
	}
	msgs = append(msgs, hist...)
	msgs = append(msgs, next...)
	return pipeline.Request{Messages: msgs, Tools: l.cfg.toolDefs, Language: l.lang}
}

// voice picks the TTS voice for a language.
func (c *config) voice(lang string) string {
	if v, ok := c.voices[strings.ToLower(lang)]; ok {
		return v
	}
	return c.voices[baseLang(lang)]
}

// begin starts a reply: a new generation, and a worker that has everything
// it needs fixed now (it never reads the loop).
func (l *loop) begin(ctx context.Context, base time.Time, tm TurnMetrics, uninterruptible bool) (context.Context, *worker) {
	l.abandonPreempt()
	if l.rep != nil {
		l.feed(ctx, replyStopped{reason: "replaced"})
	}
	rctx, gen := l.gens.Start(ctx)
	rep := &reply{gen: gen, lang: l.lang, rec: &replyRecord{}, base: base, metrics: tm}
	l.rep = rep
	l.feed(ctx, replyStarted{uninterruptible: uninterruptible})
	l.setState(StateThinking)
	return rctx, l.worker(rep, uninterruptible)
}

// worker makes the worker that produces rep.
func (l *loop) worker(rep *reply, uninterruptible bool) *worker {
	if l.voiceConv.New == nil {
		f := l.play.Format()
		l.voiceConv.New = func() any { return &voiceConv{conv: resample.NewConverter(f)} }
	}
	return &worker{
		cfg: l.cfg, in: l.in, play: l.play, convs: &l.voiceConv, gen: rep.gen, rec: rep.rec,
		lang: rep.lang, voice: l.cfg.voice(rep.lang), uninterruptible: uninterruptible,
	}
}

// voiceConv converts a TTS's audio to the playout's format: the
// resampler and its output buffer, kept in the session's pool between
// replies.
type voiceConv struct {
	conv *resample.Converter
	buf  []int16
}

// startReply asks the LLM to answer the user's words, or lets the
// preemptive reply prepared on them answer; esc is the escalation
// policy's decision on them (a reply it adapts is never the preemptive
// one).
func (l *loop) startReply(ctx context.Context, text string, base time.Time, tm TurnMetrics, esc escalationStep) {
	if esc.act != escNone {
		l.pre = preemptor{}
		l.dropPreempt()
	} else if l.usePreempt(ctx, text, tm) {
		return
	}
	l.appendHistory(pipeline.Message{Role: pipeline.RoleUser, Content: text, Images: l.images, Frustration: esc.score.Score})
	l.images = nil
	req := l.request()
	if l.esc != nil {
		req = withNote(req, l.esc.note(esc))
	}
	rctx, w := l.begin(ctx, base, tm, false)
	if esc.act >= escAdapt {
		w.speed = l.cfg.escalation.SlowSpeed
	}
	if esc.act == escHandoff {
		req.Tools = nil
		w.handoff = esc.reason
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		w.run(rctx, req)
	}()
}

// startSay speaks fixed text as a reply of its own.
func (l *loop) startSay(ctx context.Context, text string, uninterruptible bool) {
	if strings.TrimSpace(text) == "" {
		return
	}
	rctx, w := l.begin(ctx, time.Now(), TurnMetrics{}, uninterruptible)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		w.say(rctx, text)
	}()
}

func (l *loop) onReply(ctx context.Context, m replyMsg) {
	if l.preemptMsg(m) {
		return
	}
	rep := l.rep
	if m.kind == replyEvent && m.ev.Type == EventFrustration && l.esc != nil {
		// The model's judgement stands even if the reply was cut.
		f := l.esc.report(m.ev.Frustration.Score, m.ev.Frustration.Reason)
		l.cfg.metrics.observeFrustration(f)
		l.emit(Event{Type: EventFrustration, Frustration: &f})
		return
	}
	if rep == nil || m.gen != rep.gen {
		if m.kind == replyEvent && m.ev.Type == EventHandoff {
			l.emit(m.ev) // a handoff stands even if the reply was cut
		}
		return
	}
	since := func() time.Duration {
		if rep.base.IsZero() {
			return 0
		}
		return max(m.at.Sub(rep.base), time.Nanosecond)
	}
	switch m.kind {
	case replyFirstToken:
		rep.metrics.LLMFirstToken = since()
	case replyFirstAudio:
		rep.metrics.TTSFirstAudio = since()
	case replyEvent:
		l.emit(m.ev)
	case replyFailed:
		l.emitError(m.stage, m.err)
	case replyDone:
		rep.done = true
		if rep.drained {
			l.finishReply(ctx)
		}
	}
}

func (l *loop) onPlayout(ctx context.Context, ev pipeline.PlayoutEvent) {
	rep := l.rep
	if rep == nil || ev.Gen != rep.gen {
		return
	}
	switch ev.Type {
	case pipeline.ChunkStarted:
		if !rep.audible {
			rep.audible = true
			if !rep.base.IsZero() {
				rep.metrics.FirstAudioSent = max(ev.At.Sub(rep.base), time.Nanosecond)
			}
		}
		l.emit(Event{Type: EventAgentText, Turn: rep.gen, Text: ev.Text, Language: rep.lang})
		l.feed(ctx, chunkStarted{uninterruptible: ev.Uninterruptible})
		if l.rep == rep && !l.barge.paused() && !l.user.speaking {
			l.setState(StateSpeaking)
		}
	case pipeline.Drained:
		rep.drained = true
		if rep.done {
			l.finishReply(ctx)
		}
	}
}

// finishReply commits a reply that played to the end.
func (l *loop) finishReply(ctx context.Context) {
	rep := l.rep
	l.rep = nil
	l.gens.End(rep.gen)
	msgs := rep.rec.snapshot()
	var spoken []string
	kept := msgs[:0]
	for _, m := range msgs {
		if m.Role == pipeline.RoleAssistant {
			if m.Content == "" && len(m.ToolCalls) == 0 {
				continue
			}
			if m.Content != "" {
				spoken = append(spoken, m.Content)
			}
		}
		kept = append(kept, m)
	}
	l.appendHistory(kept...)
	l.emit(Event{Type: EventAgentDone, Turn: rep.gen, Text: strings.Join(spoken, " ")})
	l.reportMetrics(rep)
	l.feed(ctx, replyFinished{})
	l.afterUser()
}

func (l *loop) reportMetrics(rep *reply) {
	tm := rep.metrics
	// The canceller's figures cover its last seconds of echo: this
	// reply's, once it has heard enough of it.
	if rep.echo >= int64(l.rate)*4/10 {
		tm.EchoERLE, tm.EchoERLESuppressed = l.echo.erle, l.echo.erleSuppressed
	}
	if tm == (TurnMetrics{}) {
		return
	}
	l.cfg.metrics.observeTurn(tm)
	l.emit(Event{Type: EventMetrics, Turn: rep.gen, Metrics: &tm})
}

// heardText is what the listener heard of a reply so far.
func (l *loop) heardText(rep *reply) string {
	if rep == nil {
		return ""
	}
	f := l.play.Format()
	var parts []string
	for _, r := range l.play.Records(rep.gen) {
		if h := r.Heard(f.Rate * f.Channels); h != "" {
			parts = append(parts, h)
		}
	}
	return strings.Join(parts, " ")
}

// interruptedToolResult is the tool message recorded for a call the user
// interrupted before it returned.
const interruptedToolResult = "cancelled: the user interrupted before the tool finished"

// cutToHeard rewrites a reply's messages to what the listener heard: each
// assistant message keeps the heard words of its chunks; the last one cut
// is marked Interrupted; messages with no heard words and no tool calls are
// dropped; every tool call keeps a tool result, so the history stays valid.
func cutToHeard(msgs []pipeline.Message, recs []pipeline.ChunkRecord, rate int) ([]pipeline.Message, string) {
	heardBy := map[int][]string{}
	for _, r := range recs {
		if h := r.Heard(rate); h != "" {
			heardBy[r.Message] = append(heardBy[r.Message], h)
		}
	}
	var out []pipeline.Message
	var all []string
	for i, m := range msgs {
		if m.Role == pipeline.RoleAssistant {
			heard := strings.Join(heardBy[i], " ")
			m.Interrupted = normalize(heard) != normalize(m.Content)
			m.Content = heard
			if heard != "" {
				all = append(all, heard)
			}
			if heard == "" && len(m.ToolCalls) == 0 {
				continue
			}
		}
		out = append(out, m)
	}
	out = pairToolCalls(out)
	// The reply was cut (text unheard, or unanswered calls): its last
	// message says so.
	if slices.ContainsFunc(out, func(m pipeline.Message) bool {
		return m.Interrupted || m.Content == interruptedToolResult
	}) || len(out) < len(msgs) {
		for i := len(out) - 1; i >= 0; i-- {
			if out[i].Role == pipeline.RoleAssistant {
				out[i].Interrupted = true
				break
			}
		}
	}
	return out, strings.Join(all, " ")
}

// pairToolCalls adds a tool result after each assistant message for every
// call of it that has none.
func pairToolCalls(msgs []pipeline.Message) []pipeline.Message {
	answered := map[string]bool{}
	for _, m := range msgs {
		if m.Role == pipeline.RoleTool {
			answered[m.ToolCallID] = true
		}
	}
	var out []pipeline.Message
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		out = append(out, m)
		if m.Role != pipeline.RoleAssistant || len(m.ToolCalls) == 0 {
			continue
		}
		// Copy the results that follow, then add the missing ones.
		for i+1 < len(msgs) && msgs[i+1].Role == pipeline.RoleTool {
			i++
			out = append(out, msgs[i])
		}
		for _, c := range m.ToolCalls {
			if !answered[c.ID] {
				out = append(out, pipeline.Message{Role: pipeline.RoleTool, ToolCallID: c.ID, Content: interruptedToolResult})
			}
		}
	}
	return out
}

// worker produces one reply: LLM rounds, tool calls, TTS, into the
// playout. It reads only what is fixed for the reply (the configuration,
// the language and voice it started with) and talks to the loop only
// through the inbox.
type worker struct {
	cfg             *config
	in              *inbox
	play            *pipeline.Playout
	convs           *sync.Pool // of *voiceConv
	gen             uint64
	rec             *replyRecord
	lang, voice     string
	uninterruptible bool
	// speed scales the TTS rate (0: normal).
	speed float64
	// handoff is the reason of a hand-off this reply announces, and
	// handoffConv the conversation until then; handingOff: there is one.
	handoff     string
	handoffConv []pipeline.Message
	handingOff  bool
	seq         atomic.Int64
	firstAudio  bool
	segs        chan pipeline.Segment
	// ttsFailed is set by the TTS goroutine when synthesis failed; the LLM
	// stream then stops and the rest of the reply is not spoken.
	ttsFailed atomic.Bool
}

// errTTSFailed stops the LLM stream of a reply whose TTS failed.
var errTTSFailed = errors.New("agent: tts failed")

func (w *worker) post(m replyMsg) {
	m.gen = w.gen
	if m.at.IsZero() {
		m.at = time.Now()
	}
	w.in.put(false, m)
}

// speak runs f with a TTS goroutine consuming the segments it queues, and
// waits for both.
func (w *worker) speak(ctx context.Context, f func()) {
	w.segs = make(chan pipeline.Segment, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.synthesize(ctx)
	}()
	f()
	close(w.segs)
	<-done
}

// queue sends a chunk of text to the TTS.
func (w *worker) queue(ctx context.Context, msg int, text string) {
	seg := pipeline.Segment{Gen: w.gen, Seq: w.nextSeq(), Message: msg, Text: text, Uninterruptible: w.uninterruptible}
	select {
	case w.segs <- seg:
	case <-ctx.Done():
	}
}

// nextSeq numbers the reply's chunks.
func (w *worker) nextSeq() int { return int(w.seq.Add(1) - 1) }

// synthesize turns queued chunks into audio in the playout, one at a time.
// When the TTS fails, the message is cut to the chunks already spoken, the
// fallback line is spoken in place of the rest (and kept in the message
// only if that worked), and later chunks are dropped.
func (w *worker) synthesize(ctx context.Context) {
	vc := w.convs.Get().(*voiceConv)
	defer w.convs.Put(vc)
	vc.conv.Reset()
	spoken := map[int][]string{} // message -> texts of chunks fully synthesised
	first := true
	for seg := range w.segs {
		if !first && pipeline.AwaitTurn(ctx) != nil || ctx.Err() != nil || w.ttsFailed.Load() {
			continue
		}
		first = false
		err := w.synthesizeSegment(ctx, vc, seg)
		if err == nil || ctx.Err() != nil {
			spoken[seg.Message] = append(spoken[seg.Message], seg.Text)
			continue
		}
		w.ttsFailed.Store(true)
		w.post(replyMsg{kind: replyFailed, stage: "tts", err: err})
		said := spoken[seg.Message]
		w.rec.freeze(seg.Message, strings.Join(said, " "))
		line := w.cfg.fallback
		fb := pipeline.Segment{Gen: w.gen, Seq: w.nextSeq(), Message: seg.Message, Text: line}
		switch err := w.synthesizeSegment(ctx, vc, fb); {
		case err == nil:
			w.rec.freeze(seg.Message, strings.Join(append(said, line), " "))
		case ctx.Err() == nil:
			w.post(replyMsg{kind: replyFailed, stage: "tts", err: err})
		}
	}
}

// synthesizeSegment speaks one chunk into the playout.
func (w *worker) synthesizeSegment(ctx context.Context, vc *voiceConv, seg pipeline.Segment) error {
	if err := w.play.Begin(seg); err != nil {
		return nil // stale: the reply was cut
	}
	// The chunk's text stays as the model wrote it (history, transcripts);
	// the voice reads it without Markdown.
	req := pipeline.SpeechRequest{Text: pipeline.Speakable(seg.Text), Language: w.lang, Voice: w.voice, Speed: w.speed}
	if req.Text == "" {
		_ = w.play.End(w.gen, seg.Seq)
		return nil
	}
	err := w.watch(ctx, func(sctx context.Context, alive func()) error {
		for fr, err := range w.cfg.tts.Synthesize(sctx, req) {
			if err != nil {
				return err
			}
			alive()
			if !w.firstAudio {
				w.firstAudio = true
				w.post(replyMsg{kind: replyFirstAudio})
			}
			// The playout copies what it is given: one buffer serves
			// every frame.
			var err error
			if vc.buf, err = vc.conv.Convert(vc.buf[:0], fr); err != nil {
				return err
			}
			if err := w.play.Write(w.gen, seg.Seq, vc.buf); err != nil {
				return nil // stale: the reply was cut
			}
		}
		return nil
	})
	_ = w.play.End(w.gen, seg.Seq)
	return err
}

// watch runs f with a context that is cancelled with ErrTimeout when f
// makes no progress (calls alive) for the provider timeout.
func (w *worker) watch(ctx context.Context, f func(ctx context.Context, alive func()) error) error {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	d := w.cfg.providerTimeout
	t := time.AfterFunc(d, func() { cancel(ErrTimeout) })
	defer t.Stop()
	err := f(wctx, func() { t.Reset(d) })
	if ctx.Err() == nil && errors.Is(context.Cause(wctx), ErrTimeout) {
		return ErrTimeout
	}
	return err
}

// say speaks fixed text.
func (w *worker) say(ctx context.Context, text string) {
	msg := w.rec.add(pipeline.Message{Role: pipeline.RoleAssistant, Content: text})
	w.speak(ctx, func() {
		ch := pipeline.NewChunker()
		for _, c := range ch.Push(text) {
			w.queue(ctx, msg, c)
		}
		if rest := ch.Flush(); rest != "" {
			w.queue(ctx, msg, rest)
		}
	})
	w.finish(ctx)
}

func (w *worker) finish(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	_ = w.play.Finish(w.gen)
	w.post(replyMsg{kind: replyDone})
}

// run produces the reply to req: streams the LLM into the chunker and TTS,
// runs tool calls and feeds their results back, and speaks the fallback
// line if a provider fails.
func (w *worker) run(ctx context.Context, req pipeline.Request) {
	if w.handoff != "" {
		w.startHandoff(req.Messages, w.handoff)
	}
	w.speak(ctx, func() {
		firstToken := false
		for round := 0; ; round++ {
			if round == maxToolRounds-1 {
				req.Tools = nil
			}
			msg := w.rec.add(pipeline.Message{Role: pipeline.RoleAssistant})
			var text strings.Builder
			var calls []pipeline.ToolCall
			ch := pipeline.NewChunker()
			err := w.watch(ctx, func(lctx context.Context, alive func()) error {
				for d, err := range w.cfg.llm.Stream(lctx, req) {
					if err != nil {
						return err
					}
					if w.ttsFailed.Load() {
						return errTTSFailed
					}
					alive()
					if !firstToken {
						firstToken = true
						w.post(replyMsg{kind: replyFirstToken})
					}
					if d.Text != "" {
						text.WriteString(d.Text)
						content := text.String()
						w.rec.update(msg, func(m *pipeline.Message) { m.Content = content })
						for _, c := range ch.Push(d.Text) {
							w.queue(ctx, msg, c)
						}
					}
					if d.ToolCall != nil {
						calls = append(calls, *d.ToolCall)
					}
				}
				return nil
			})
			if rest := ch.Flush(); rest != "" && ctx.Err() == nil {
				w.queue(ctx, msg, rest)
			}
			if ctx.Err() != nil || w.ttsFailed.Load() {
				return
			}
			if err != nil {
				w.post(replyMsg{kind: replyFailed, stage: "llm", err: err})
				w.fallback(ctx, msg, text.String())
				return
			}
			if len(calls) == 0 || round >= maxToolRounds-1 {
				return
			}
			for i := range calls {
				if calls[i].ID == "" {
					calls[i].ID = fmt.Sprintf("call_%d_%d_%d", w.gen, round, i)
				}
			}
			if pipeline.AwaitTurn(ctx) != nil {
				return // dropped before the turn ended: no tool runs
			}
			w.rec.update(msg, func(m *pipeline.Message) { m.ToolCalls = calls })
			assistant := pipeline.Message{Role: pipeline.RoleAssistant, Content: text.String(), ToolCalls: calls}
			req.Messages = append(req.Messages, assistant)
			for _, c := range calls {
				result := w.callTool(ctx, c, req.Messages)
				if ctx.Err() != nil {
					return // the loop pairs the unanswered calls
				}
				tm := pipeline.Message{Role: pipeline.RoleTool, ToolCallID: c.ID, Content: result}
				w.rec.add(tm)
				req.Messages = append(req.Messages, tm)
			}
		}
	})
	w.endHandoff(ctx)
	w.finish(ctx)
}

// fallback speaks the fallback line after a provider failure, as part of
// assistant message msg.
func (w *worker) fallback(ctx context.Context, msg int, spoken string) {
	line := w.cfg.fallback
	content := strings.TrimSpace(spoken + " " + line)
	w.rec.update(msg, func(m *pipeline.Message) { m.Content = content })
	w.queue(ctx, msg, line)
}

// callTool runs one tool call with its timeout and returns the result given
// back to the model; conv is the conversation so far, for a hand-off's
// summary.
func (w *worker) callTool(ctx context.Context, c pipeline.ToolCall, conv []pipeline.Message) string {
	ev := ToolEvent{Name: c.Name, Arguments: c.Arguments}
	var result string
	var err error
	t, ok := w.cfg.tools[c.Name]
	if c.Name == reportFrustrationTool && w.cfg.escalation != nil && !ok {
		t, ok = w.reportTool(), true
	}
	if !ok {
		err = fmt.Errorf("%w: %q", ErrUnknownTool, c.Name)
	} else {
		timeout := t.Timeout
		args := json.RawMessage(c.Arguments)
		if len(args) == 0 || !json.Valid(args) {
			args = json.RawMessage("{}")
		}
		tctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
		result, err = t.Func(tctx, args)
		if ctx.Err() == nil && errors.Is(context.Cause(tctx), ErrTimeout) {
			err = fmt.Errorf("%w: tool %q took longer than %v", ErrTimeout, c.Name, timeout)
		}
		cancel()
	}
	w.cfg.metrics.observeTool(c.Name, err)
	var h *HandoffError
	switch {
	case errors.As(err, &h):
		w.startHandoff(conv, h.Reason)
		result = "The caller is being handed to a human: " + h.Reason
		ev.Result = result
	case err != nil:
		ev.Error = err.Error()
		result = "error: " + err.Error()
	default:
		ev.Result = result
	}
	w.post(replyMsg{kind: replyEvent, ev: Event{Type: EventToolCall, Tool: &ev}})
	return result
}

// startHandoff records a hand-off for reason, with the conversation conv
// so far; endHandoff reports it. Only the first hand-off of a reply counts.
func (w *worker) startHandoff(conv []pipeline.Message, reason string) {
	if w.handingOff {
		return
	}
	w.cfg.metrics.observeHandoff()
	w.handingOff, w.handoff, w.handoffConv = true, reason, slices.Clone(conv)
}

// endHandoff reports a hand-off of this reply, once its words are queued
// and before it ends (a transport may act on the hand-off once the reply
// has played), with a summary of the conversation: written by the model
// while the reply plays when the escalation policy is on, else made from
// the history.
func (w *worker) endHandoff(ctx context.Context) {
	if !w.handingOff {
		return
	}
	summary := fallbackSummary(w.handoffConv, w.handoff)
	if w.cfg.escalation != nil {
		sctx, cancel := context.WithTimeoutCause(ctx, w.cfg.providerTimeout, ErrTimeout)
		summary = summarize(sctx, w.cfg.llm, w.handoffConv, w.handoff)
		cancel()
	}
	w.post(replyMsg{kind: replyEvent, ev: Event{Type: EventHandoff, Text: w.handoff, Summary: summary}})
}

// withNote adds the escalation policy's note to a request's system message.
func withNote(req pipeline.Request, note string) pipeline.Request {
	if note == "" {
		return req
	}
	msgs := slices.Clone(req.Messages)
	if len(msgs) > 0 && msgs[0].Role == pipeline.RoleSystem {
		msgs[0].Content += "\n\n" + note
	} else {
		msgs = append([]pipeline.Message{{Role: pipeline.RoleSystem, Content: note}}, msgs...)
	}
	req.Messages = msgs
	return req
}

// reportTool is the built-in report_frustration: the model's judgement
// goes to the escalation policy on the session loop.
func (w *worker) reportTool() Tool {
	return Tool{Tool: reportFrustrationDef, Timeout: DefaultToolTimeout, Func: func(_ context.Context, raw json.RawMessage) (string, error) {
		a, err := parseReport(string(raw))
		if err != nil {
			return "", err
		}
		w.post(replyMsg{kind: replyEvent, ev: Event{Type: EventFrustration, Frustration: &Frustration{Score: *a.Level, Reason: a.Reason}}})
		return "noted", nil
	}}
}
