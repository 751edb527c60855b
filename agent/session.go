package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// DefaultFallbackText is spoken when a provider fails.
const DefaultFallbackText = "Sorry, I ran into a problem. Could you say that again?"

// defaultVAD returns a Silero v5 model at 16 kHz.
func defaultVAD() (vad.Model, error) {
	w, err := silero.Load()
	if err != nil {
		return nil, err
	}
	return w.NewModel(16000)
}

// Session owns one conversation: it reads the Transport's audio, detects
// speech, transcribes user turns, streams the LLM's reply through the TTS to
// the paced playout, and handles the user talking over the agent. Create it
// with New and drive it with Run; the other methods are safe to call from
// any goroutine, before or during Run.
type Session struct {
	tr     Transport
	sink   EventSink
	marker Marker

	stt             pipeline.STT
	sstt            pipeline.StreamingSTT
	llm             pipeline.LLM
	tts             pipeline.TTS
	newVAD          func() (vad.Model, error)
	vadParams       vad.Params
	preset          Preset
	endOfTurn       time.Duration
	endOfTurnSet    bool
	numberHold      time.Duration
	numberHoldSet   bool
	policy          InterruptionPolicy
	echo            EchoGuard
	systemPrompt    string
	lang            string
	voices          map[string]string
	tools           map[string]Tool
	toolDefs        []pipeline.Tool
	onEvent         func(Event)
	log             *slog.Logger
	metrics         recorder
	fallback        string
	providerTimeout time.Duration
	backchannels    phraseSet
	stopWords       phraseSet

	in      *inbox
	running atomic.Bool

	mu      sync.Mutex
	history []pipeline.Message
	state   State
}

// New makes a session on tr. It needs an LLM, a TTS and an STT (WithSTT or
// WithStreamingSTT). The VAD is Silero v5 unless WithVAD says otherwise.
func New(tr Transport, opts ...Option) (*Session, error) {
	if tr == nil {
		return nil, ErrNoTransport
	}
	s := &Session{tr: tr, tools: map[string]Tool{}, state: StateListening, in: newInbox()}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	s.applyPreset()
	switch {
	case s.stt == nil && s.sstt == nil:
		return nil, fmt.Errorf("%w: no STT", ErrMissingStage)
	case s.llm == nil:
		return nil, fmt.Errorf("%w: no LLM", ErrMissingStage)
	case s.tts == nil:
		return nil, fmt.Errorf("%w: no TTS", ErrMissingStage)
	}
	if s.newVAD == nil {
		s.newVAD = defaultVAD
	}
	if err := tr.OutputFormat().Validate(); err != nil {
		return nil, fmt.Errorf("%w: transport output: %w", ErrOption, err)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.fallback == "" {
		s.fallback = DefaultFallbackText
	}
	if s.providerTimeout == 0 {
		s.providerTimeout = 15 * time.Second
	}
	p := &s.policy
	if p.Window == 0 {
		p.Window = 1500 * time.Millisecond
	}
	if p.LongSpeech == 0 {
		p.LongSpeech = 1500 * time.Millisecond
	}
	if p.MinWords == 0 {
		p.MinWords = 2
	}
	s.backchannels = newPhraseSet(builtinBackchannels, p.Backchannels)
	s.stopWords = newPhraseSet(builtinStopWords, p.StopWords)
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

// Say speaks text as the agent without asking the LLM (a greeting, a
// notice), interrupting any reply in progress. Uninterruptible text (a
// disclaimer) is not paused when the user talks over it.
func (s *Session) Say(text string, uninterruptible bool) {
	s.in.put(false, sayCmd{text: text, uninterruptible: uninterruptible})
}

// History returns a copy of the conversation so far, starting with the
// system prompt when one is set.
func (s *Session) History() []pipeline.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]pipeline.Message, 0, len(s.history)+1)
	if s.systemPrompt != "" {
		out = append(out, pipeline.Message{Role: pipeline.RoleSystem, Content: s.systemPrompt})
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

// Commands and messages of the session loop.
type (
	textCmd struct {
		text string
		at   time.Time
	}
	imageCmd     struct{ img pipeline.Image }
	interruptCmd struct{}
	sayCmd       struct {
		text            string
		uninterruptible bool
	}
	// micMsg is one frame of microphone audio at the VAD's rate with the
	// events it completed: the control lane.
	micMsg struct {
		samples []int16
		events  []vad.Event
		pos     int64 // stream position after samples
		at      time.Time
	}
	endMsg struct{ err error }
)

// speaker is the playout's sink: the transport, whose write errors do not
// stop the clock (a peer that has gone is noticed by ReadAudio); the first
// error of a run of failures is reported to the session loop.
type speaker struct {
	tr     Transport
	in     *inbox
	failed atomic.Bool
}

// speakerFailed reports a failing WriteAudio.
type speakerFailed struct{ err error }

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
// transport's ReadAudio returns io.EOF (returning nil). It leaves no
// goroutine behind.
func (s *Session) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)
	model, err := s.newVAD()
	if err != nil {
		return fmt.Errorf("agent: VAD model: %w", err)
	}
	if model == nil {
		return fmt.Errorf("%w: VAD factory returned nil", ErrMissingStage)
	}
	var guard *echoGuard
	if !s.echo.Disabled {
		guard = newEchoGuard(s.echo)
		model = guardedModel{Model: model, g: guard}
	}
	det, err := vad.NewDetector(model, s.vadParams)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	s.in.keepCommands() // a previous Run may have left audio and progress behind
	l := &loop{s: s, in: s.in, lang: s.lang, rate: det.Rate()}
	popts := []pipeline.PlayoutOption{pipeline.WithNotify(func(ev pipeline.PlayoutEvent) { l.in.put(false, ev) })}
	if guard != nil {
		popts = append(popts, pipeline.WithTap(guard.reference))
	}
	if s.marker != nil {
		popts = append(popts, pipeline.WithMarker(s.marker))
	}
	l.play, err = pipeline.NewPlayout(&speaker{tr: s.tr, in: s.in}, s.tr.OutputFormat(), &l.gens, popts...)
	if err != nil {
		return err
	}
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		if err := l.play.Run(ctx); ctx.Err() == nil {
			l.in.put(true, endMsg{err: &StageError{Stage: "transport", Err: err}})
		}
	}()
	go func() {
		defer l.wg.Done()
		l.ingest(ctx, det)
	}()
	err = l.run(ctx)
	cancel(err)
	l.gens.Interrupt(context.Canceled)
	l.closeStream()
	l.wg.Wait()
	s.setState(StateListening)
	return err
}

// ingest reads the transport, converts to the VAD's format and runs the
// detector, posting every frame with its events on the control lane.
func (l *loop) ingest(ctx context.Context, det *vad.Detector) {
	conv := resample.NewConverter(pcm.Format{Rate: det.Rate(), Channels: 1})
	var pos int64
	for {
		fr, err := l.s.tr.ReadAudio(ctx)
		if err != nil {
			l.in.put(true, endMsg{err: err})
			return
		}
		at := time.Now()
		samples, err := conv.Convert(nil, fr)
		if err != nil {
			l.s.log.Warn("dropping a bad input frame", "err", err)
			continue
		}
		evs, err := det.Write(samples)
		if err != nil {
			l.s.log.Warn("VAD failed on a frame", "err", err)
		}
		pos += int64(len(samples))
		l.in.put(true, micMsg{samples: samples, events: evs, pos: pos, at: at})
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
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-l.in.signal:
		}
	}
}

func (l *loop) handle(ctx context.Context, m any) (bool, error) {
	switch m := m.(type) {
	case micMsg:
		l.onMic(ctx, m)
	case endMsg:
		if errors.Is(m.err, io.EOF) {
			return true, nil
		}
		if ctx.Err() != nil {
			return true, context.Cause(ctx)
		}
		return true, m.err
	case speakerFailed:
		l.emitError("transport", m.err)
	case sttMsg:
		l.onSTT(ctx, m)
	case replyMsg:
		l.onReply(m)
	case pipeline.PlayoutEvent:
		l.onPlayout(ctx, m)
	case textCmd:
		l.onText(ctx, m)
	case imageCmd:
		l.images = append(l.images, m.img)
	case interruptCmd:
		if l.barge != nil || l.rep != nil {
			l.cancelReply(ctx, "client")
		}
	case sayCmd:
		if l.rep != nil {
			l.cancelReply(ctx, "say")
		}
		l.startSay(ctx, m.text, m.uninterruptible)
	}
	return false, nil
}

// setState records a state change and emits it.
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

// emit sends an event to the handler and the transport.
func (l *loop) emit(ev Event) {
	if ev.Turn == 0 {
		ev.Turn = l.gens.Current()
	}
	if l.s.onEvent != nil {
		l.s.onEvent(ev)
	}
	if l.s.sink != nil {
		if err := l.s.sink.SendEvent(ev); err != nil {
			l.s.log.Debug("event not delivered", "type", ev.Type, "err", err)
		}
	}
}

func (l *loop) emitError(stage string, err error) {
	l.s.metrics.observeError(stage)
	l.s.log.Warn("provider failed", "stage", stage, "err", err)
	l.emit(Event{Type: EventError, Text: (&StageError{Stage: stage, Err: err}).Error()})
}

// flush drops audio buffered in the transport, briefly bounded.
func (l *loop) flush(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
	defer cancel()
	if err := l.s.tr.Flush(fctx); err != nil {
		l.s.log.Debug("transport flush failed", "err", err)
	}
}

// samplesDur converts a sample count at the VAD rate to a duration.
func (l *loop) samplesDur(n int64) time.Duration {
	return time.Duration(n * int64(time.Second) / int64(l.rate))
}
