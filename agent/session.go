package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/echoguard"
)

// Session owns one conversation: it reads the Transport's audio, detects
// speech, transcribes user turns, streams the LLM's reply through the TTS to
// the paced playout, and handles the user talking over the agent. Create it
// with New and drive it with Run; the other methods are safe to call from
// any goroutine, before or during Run.
type Session struct {
	cfg    config // fixed in New
	tr     Transport
	sink   EventSink
	marker Marker

	in      *inbox
	running atomic.Bool
	aec     bool // the echo canceller is on

	mu      sync.Mutex
	history []pipeline.Message
	state   State
}

// New makes a session on tr. It needs an LLM, a TTS and an STT (WithSTT or
// WithStreamingSTT). The VAD is Silero v5 unless WithVAD says otherwise;
// its model file is read here, and when it is missing New fails with an
// error (wrapping silero.ErrModelNotFound) that gives the command fetching
// it.
func New(tr Transport, opts ...Option) (*Session, error) {
	if tr == nil {
		return nil, ErrNoTransport
	}
	cfg := config{tools: map[string]Tool{}}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.stt == nil && cfg.sstt == nil:
		return nil, fmt.Errorf("%w: no STT", ErrMissingStage)
	case cfg.llm == nil:
		return nil, fmt.Errorf("%w: no LLM", ErrMissingStage)
	case cfg.tts == nil:
		return nil, fmt.Errorf("%w: no TTS", ErrMissingStage)
	}
	if err := tr.OutputFormat().Validate(); err != nil {
		return nil, fmt.Errorf("%w: transport output: %w", ErrOption, err)
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, tr: tr, state: StateListening, in: newInbox(), aec: cfg.aec == setOn}
	if r, ok := tr.(EchoCancellationRequester); ok && !cfg.aecSet {
		s.aec = r.WantsEchoCancellation()
	}
	s.sink, _ = tr.(EventSink)
	s.marker, _ = tr.(Marker)
	return s, nil
}

// SendText adds a typed user turn (a data-channel or device text message).
// A reply in progress is interrupted.
func (s *Session) SendText(text string) { s.in.put(false, textCmd{text: text, at: time.Now()}) }

// SendImage attaches an image to the next user turn.
func (s *Session) SendImage(img pipeline.Image) { s.in.put(false, imageCmd{img: img}) }

// Interrupt cancels the current reply now (the client's "stop" button).
func (s *Session) Interrupt() { s.in.put(false, interruptCmd{}) }

// SayOption changes how Say speaks.
type SayOption func(*sayCmd)

// Uninterruptible makes Say's text play to the end even when the user
// talks over it (a disclaimer): it is not paused, and a user turn that ends
// meanwhile is answered once it has played. The client's Interrupt still
// stops it.
func Uninterruptible() SayOption {
	return func(c *sayCmd) { c.uninterruptible = true }
}

// Say speaks text as the agent without asking the LLM (a greeting, a
// notice), interrupting any reply in progress.
func (s *Session) Say(text string, opts ...SayOption) {
	c := sayCmd{text: text}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	s.in.put(false, c)
}

// History returns a copy of the conversation so far, starting with the
// system prompt when one is set.
func (s *Session) History() []pipeline.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pipeline.Message, 0, len(s.history)+1)
	if s.cfg.systemPrompt != "" {
		out = append(out, pipeline.Message{Role: pipeline.RoleSystem, Content: s.cfg.systemPrompt})
	}
	for _, m := range s.history {
		m.Images = append([]pipeline.Image(nil), m.Images...)
		m.ToolCalls = append([]pipeline.ToolCall(nil), m.ToolCalls...)
		out = append(out, m)
	}
	return out
}

// State returns where the conversation is.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// speaker is the playout's sink: the transport, whose write errors do not
// stop the clock (a peer that has gone is noticed by ReadAudio); the first
// error of a run of failures is reported to the session loop.
type speaker struct {
	tr     Transport
	in     *inbox
	failed atomic.Bool
}

// WriteAudio implements pipeline.Sink.
func (sp *speaker) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	err := sp.tr.WriteAudio(ctx, fr)
	switch {
	case err == nil:
		sp.failed.Store(false)
	case ctx.Err() == nil && !sp.failed.Swap(true):
		sp.in.put(false, speakerFailed{err: err})
	}
	return nil
}

// Run drives the conversation until ctx is done (returning its cause) or the
// transport's input ends with io.EOF (returning nil). At the end of the
// input the client has gone: a reply in progress stops (the history keeps
// what was heard of it, marked interrupted, with no interruption event),
// and the user's turn in progress is recognised and kept in the history,
// unanswered, before Run returns. It leaves no
// goroutine behind.
func (s *Session) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	l, det, ec, err := s.start()
	if err != nil {
		s.emit(Event{Type: EventError, Text: err.Error()})
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		if err := l.play.Run(ctx); ctx.Err() == nil {
			l.in.put(true, endMsg{err: &StageError{Stage: "transport", Err: err}})
		}
	}()
	go func() {
		defer l.wg.Done()
		l.ingest(ctx, det, ec)
	}()
	err = l.run(ctx)
	cancel(err)
	l.gens.Interrupt(context.Canceled)
	l.closeStream()
	l.wg.Wait()
	l.play.Clear()
	s.setState(StateListening)
	return err
}

// start prepares a run: the VAD, the echo guard and canceller, the
// playout.
func (s *Session) start() (*loop, *vad.Detector, *echoCanceller, error) {
	model, err := s.cfg.newVAD()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("agent: VAD model: %w", err)
	}
	if model == nil {
		return nil, nil, nil, fmt.Errorf("%w: VAD factory returned nil", ErrMissingStage)
	}
	var guard *echoguard.Guard
	if !s.cfg.echo.Disabled {
		if guard, err = newEchoGuard(s.cfg.echo); err != nil {
			return nil, nil, nil, err
		}
		model = guard.Wrap(model)
	}
	// Possible starts too: the interrupt machine holds the reply on them
	// (speechPending), a window before the VAD confirms the speech.
	vp := s.cfg.vad
	vp.Tentative = true
	det, err := vad.NewDetector(model, vp)
	if err != nil {
		return nil, nil, nil, err
	}
	// What the playout sent, for the guard and the canceller alike.
	var ref *echoRef
	var ec *echoCanceller
	if guard != nil || s.aec {
		ref = newEchoRef(det.Rate(), guard)
	}
	if s.aec {
		c, err := newCanceller(det.Rate(), s.cfg.aecOpts)
		if err != nil {
			return nil, nil, nil, err
		}
		ec = newEchoCanceller(c, ref)
	}
	s.in.keepCommands() // a previous Run may have left audio and progress behind
	l := newLoop(s, det.Rate())
	popts := []pipeline.PlayoutOption{pipeline.WithNotify(func(ev pipeline.PlayoutEvent) { l.in.put(false, playoutMsg{ev}) })}
	if ref != nil {
		popts = append(popts, pipeline.WithTap(ref.tap))
	}
	if s.marker != nil {
		popts = append(popts, pipeline.WithMarker(s.marker))
	}
	l.play, err = pipeline.NewPlayout(&speaker{tr: s.tr, in: s.in}, s.tr.OutputFormat(), &l.gens, popts...)
	if err != nil {
		return nil, nil, nil, err
	}
	return l, det, ec, nil
}

// emit sends an event to the handler and the transport.
func (s *Session) emit(ev Event) {
	if s.cfg.onEvent != nil {
		s.cfg.onEvent(ev)
	}
	if s.sink != nil {
		if err := s.sink.SendEvent(ev); err != nil {
			s.cfg.log.Debug("event not delivered", "type", ev.Type, "err", err)
		}
	}
}

// ingest reads the transport, converts to the VAD's format, cancels the
// agent's echo (when ec is not nil) and runs the detector, posting every
// frame with its events on the control lane.
func (l *loop) ingest(ctx context.Context, det *vad.Detector, ec *echoCanceller) {
	conv := resample.NewConverter(pcm.Format{Rate: det.Rate(), Channels: 1})
	deactivation := det.Params().Deactivation
	var pos int64
	for {
		fr, err := l.s.tr.ReadAudio(ctx)
		if err != nil {
			l.in.put(true, endMsg{err: err})
			return
		}
		at := time.Now()
		m := l.in.newMic()
		m.samples, err = conv.Convert(m.samples, fr)
		if err != nil {
			l.cfg.log.Warn("dropping a bad input frame", "err", err)
			l.in.recycle(m)
			continue
		}
		if ec != nil {
			m.samples = ec.process(m.samples, fr.Timestamp)
			m.echo = ec.stats
		}
		if m.events, err = det.Write(m.samples); err != nil {
			l.cfg.log.Warn("VAD failed on a frame", "err", err)
		}
		pos += int64(len(m.samples))
		m.pos, m.at = pos, at
		m.quiet = det.Speaking() && det.Probability() < deactivation
		l.in.put(true, m)
	}
}

// run is the session loop: it owns all conversation state.
func (l *loop) run(ctx context.Context) error {
	for {
		for {
			m, ok := l.in.take()
			if !ok {
				break
			}
			if done, err := l.handle(ctx, m); done {
				return err
			}
			if l.inputEnded && l.settled() {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if l.inputEnded {
				return nil
			}
			return context.Cause(ctx)
		case <-l.in.signal:
		}
	}
}

func (l *loop) handle(ctx context.Context, m message) (bool, error) {
	switch m := m.(type) {
	case *micMsg:
		l.onMic(ctx, *m)
		l.in.recycle(m)
	case endMsg:
		if errors.Is(m.err, io.EOF) && !l.inputEnded {
			l.inputEnded = true
			l.endInput(ctx)
			return false, nil
		}
		if ctx.Err() != nil {
			return true, context.Cause(ctx)
		}
		if l.inputEnded {
			return true, nil
		}
		return true, m.err
	case speakerFailed:
		l.emitError("transport", m.err)
	case sttMsg:
		l.onSTT(ctx, m)
	case replyMsg:
		l.onReply(ctx, m)
	case playoutMsg:
		l.onPlayout(ctx, m.ev)
	case textCmd:
		l.onText(ctx, m)
	case imageCmd:
		l.addImage(m.img)
	case interruptCmd:
		l.feed(ctx, replyStopped{reason: "client"})
	case sayCmd:
		l.feed(ctx, replyStopped{reason: "say"})
		l.startSay(ctx, m.text, m.uninterruptible)
	}
	return false, nil
}

// setState records a state change and reports whether it changed.
func (s *Session) setState(st State) bool {
	s.mu.Lock()
	changed := s.state != st
	s.state = st
	s.mu.Unlock()
	return changed
}

func (l *loop) setState(st State) {
	if l.s.setState(st) {
		l.emit(Event{Type: EventState, State: st})
	}
}

// emit sends an event, of the current turn unless it names one.
func (l *loop) emit(ev Event) {
	if ev.Turn == 0 {
		ev.Turn = l.gens.Current()
	}
	l.s.emit(ev)
}

func (l *loop) emitError(stage string, err error) {
	l.cfg.metrics.observeError(stage)
	l.cfg.log.Warn("provider failed", "stage", stage, "err", err)
	l.emit(Event{Type: EventError, Text: (&StageError{Stage: stage, Err: err}).Error()})
}

// flush drops audio buffered in the transport, briefly bounded.
func (l *loop) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	if err := l.s.tr.Flush(fctx); err != nil {
		l.cfg.log.Debug("transport flush failed", "err", err)
	}
}

// samplesDur converts a sample count at the VAD rate to a duration.
func (l *loop) samplesDur(n int64) time.Duration {
	return time.Duration(n * int64(time.Second) / int64(l.rate))
}
