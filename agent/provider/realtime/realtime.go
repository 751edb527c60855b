package realtime

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

var (
	_ pipeline.StreamingSTT    = (*Recognizer)(nil)
	_ pipeline.STT             = (*Recognizer)(nil)
	_ pipeline.StreamCommitter = (*Stream)(nil)
	_ pipeline.StreamAborter   = (*Stream)(nil)
)

// minCommit is the least audio a commit carries: OpenAI refuses shorter
// buffers.
const minCommit = 100 * time.Millisecond

// maxAppend bounds the audio bytes of one input_audio_buffer.append.
const maxAppend = 32 << 10

// maxEvent bounds the size of a server event.
const maxEvent = 4 << 20

// Recognizer recognises speech over the Realtime API. It is safe for
// concurrent use; each stream has a connection of its own.
type Recognizer struct {
	cfg  config
	url  string
	wire pcm.Format // format of the audio sent
}

// New returns a recogniser. With no options it talks to OpenAI
// (DefaultBaseURL) with DefaultModel and no API key.
func New(opts ...Option) (*Recognizer, error) {
	c := config{retries: -1}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.baseURL == "" {
		if err := WithBaseURL(DefaultBaseURL)(&c); err != nil {
			return nil, err
		}
	}
	if c.model == "" {
		c.model = DefaultModel
	}
	if c.format == "" {
		c.format = realtimeapi.FormatPCM
	}
	if c.dialect == DialectLocalAI && c.urlModel == "" {
		c.urlModel = c.model
	}
	if c.beta && c.format != realtimeapi.FormatPCM {
		return nil, fmt.Errorf("%w: the beta shape sends 24 kHz PCM only", ErrInvalidOption)
	}
	if c.timeout == 0 {
		c.timeout = 10 * time.Second
	}
	if c.retries < 0 {
		c.retries = 1
	}
	if c.dialer == nil {
		d := *websocket.DefaultDialer
		c.dialer = &d
	}
	q := url.Values{}
	switch {
	case c.beta:
		q.Set("intent", "transcription")
		q.Set("model", c.model)
	case c.urlModel != "":
		q.Set("model", c.urlModel)
	default:
		q.Set("intent", "transcription")
	}
	r := &Recognizer{cfg: c, url: c.baseURL + "/realtime?" + q.Encode(), wire: pcm.Format{Rate: 24000, Channels: 1}}
	if c.format != realtimeapi.FormatPCM {
		r.wire.Rate = 8000
	}
	return r, nil
}

// URL returns the WebSocket URL streams connect to.
func (r *Recognizer) URL() string { return r.url }

// Transcribe recognises one whole utterance through a stream.
func (r *Recognizer) Transcribe(ctx context.Context, audio pcm.Frame, language string) (pipeline.Transcript, error) {
	st, err := r.StartStream(ctx, audio.Format, language)
	if err != nil {
		return pipeline.Transcript{}, err
	}
	if err := st.Write(audio.Samples); err != nil {
		_, _ = st.Close()
		return pipeline.Transcript{}, err
	}
	return st.Close()
}

// StartStream starts recognising one utterance. It returns at once: the
// stream's goroutine connects while audio queues. Write never waits for
// the network; Partial returns the transcript so far; Commit sends the
// audio so far for transcription; Close commits the rest and waits for the
// final transcript; Abort drops the stream without a transcript. Cancelling
// ctx closes the connection at once and ends the stream with the context's
// cause. Close or Abort must be called or ctx cancelled, or the stream's
// goroutine stays.
func (r *Recognizer) StartStream(ctx context.Context, format pcm.Format, language string) (pipeline.STTStream, error) {
	if err := format.Validate(); err != nil {
		return nil, err
	}
	if !slices.Contains(resample.Rates, format.Rate) {
		return nil, fmt.Errorf("%w: %d Hz (the resampler takes %v)", pcm.ErrFormat, format.Rate, resample.Rates)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	s := &Stream{
		r:      r,
		in:     format,
		lang:   isoLanguage(language),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		cancel: cancel,
	}
	if format != r.wire {
		s.conv = resample.NewConverter(r.wire)
	}
	go s.run(ctx)
	return s, nil
}

// isoLanguage turns a BCP-47 tag into the ISO-639-1 code the API takes
// ("en-US" -> "en").
func isoLanguage(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}

// Stream is one utterance being recognised. Write, Commit, Close and Abort
// are called from one goroutine at a time; Partial from any.
type Stream struct {
	r      *Recognizer
	in     pcm.Format
	conv   *resample.Converter // nil when the input is already in the wire format
	lang   string
	wake   chan struct{}
	done   chan struct{}
	cancel context.CancelCauseFunc // ends run: Abort, or run's own end

	mu      sync.Mutex
	pending []byte // audio in the wire format not yet taken by run
	commit  bool
	closing bool
	partial string
	// covered: partial is the transcript of all the audio written (every
	// piece committed and transcribed, nothing written since).
	covered bool
	final   pipeline.Transcript
	err     error

	// Owned by run.
	segs []*segment
	open []byte // audio of the segment not yet committed
	sent int    // bytes of open sent on the current connection
	seq  int
}

// segment is one committed piece of the utterance.
type segment struct {
	audio   []byte // kept until transcribed, to send again after a drop
	eventID string // of its commit
	itemID  string
	text    string
	done    bool
}

// Write queues samples in the stream's format.
func (s *Stream) Write(samples []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return ErrClosed
	case s.err != nil:
		return s.err
	}
	if s.conv != nil {
		conv, err := s.conv.Convert(nil, pcm.Frame{Samples: samples, Format: s.in})
		if err != nil {
			return err
		}
		samples = conv
	}
	s.pending = s.r.encode(s.pending, samples)
	s.covered = false
	s.signal()
	return nil
}

// Commit sends the audio written so far for transcription now (the user
// stopped speaking), so that its transcript streams in while the end of
// the turn is awaited; audio written later is transcribed as a piece of its
// own and joined to it. Audio shorter than 100 ms waits for more.
func (s *Stream) Commit() {
	s.mu.Lock()
	s.commit = true
	s.mu.Unlock()
	s.signal()
}

// Partial returns the transcript so far: the pieces transcribed and the
// deltas of the one being transcribed. It is Final once everything written
// has been committed and transcribed.
func (s *Stream) Partial() pipeline.Transcript {
	s.mu.Lock()
	defer s.mu.Unlock()
	return pipeline.Transcript{Text: s.partial, Language: s.lang, Final: s.covered}
}

// Abort drops the stream: the connection closes without a commit, and
// Close then returns pipeline.ErrAborted.
func (s *Stream) Abort() { s.cancel(pipeline.ErrAborted) }

// Close commits what is left and returns the final transcript. Later calls
// return the same.
func (s *Stream) Close() (pipeline.Transcript, error) {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.signal()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.final, s.err
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// encode appends samples in the wire format to dst.
func (r *Recognizer) encode(dst []byte, samples []int16) []byte {
	switch r.cfg.format {
	case realtimeapi.FormatPCMU:
		return g711.EncodeUlaw(dst, samples)
	case realtimeapi.FormatPCMA:
		return g711.EncodeAlaw(dst, samples)
	}
	for _, v := range samples {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
	}
	return dst
}

// bytesFor returns how many wire bytes hold d of audio.
func (r *Recognizer) bytesFor(d time.Duration) int {
	n := r.wire.SamplesPerChannel(d)
	if r.cfg.format == realtimeapi.FormatPCM {
		n *= 2
	}
	return n
}

// run connects, streams and collects the transcript, connecting again
// after a drop, until the stream is closed or ctx is done.
func (s *Stream) run(ctx context.Context) {
	defer close(s.done)
	defer s.cancel(nil)
	var err error
	for attempt := 0; ; attempt++ {
		err = s.attempt(ctx)
		if err == nil || ctx.Err() != nil || !retryable(err) || attempt >= s.r.cfg.retries {
			break
		}
	}
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return
	}
	s.final = pipeline.Transcript{Text: s.joined(), Language: s.lang, Final: true}
}

// retryable tells the failures a new connection may cure.
func retryable(err error) bool {
	var he *HandshakeError
	if errors.As(err, &he) {
		return he.StatusCode >= 500
	}
	return errors.Is(err, ErrConnect) || errors.Is(err, ErrConnectionLost)
}

// joined returns the text of the segments in order.
func (s *Stream) joined() string {
	var parts []string
	for _, sg := range s.segs {
		if t := strings.TrimSpace(sg.text); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// finished reports a closed stream with every segment transcribed.
func (s *Stream) finished(closing bool) bool {
	if !closing || len(s.open) > 0 {
		return false
	}
	for _, sg := range s.segs {
		if !sg.done {
			return false
		}
	}
	return true
}

// take moves the queued audio into the open segment and reads the flags.
func (s *Stream) take() (commit, closing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = append(s.open, s.pending...)
	s.pending = s.pending[:0]
	commit, closing = s.commit, s.closing
	s.commit = false
	return commit, closing
}

// serverEvent is what the reader goroutine hands over.
type serverEvent struct {
	ev  realtimeapi.Event
	err error
}

// attempt runs one connection.
func (s *Stream) attempt(ctx context.Context) error {
	s.mu.Lock()
	if s.closing && len(s.segs) == 0 && len(s.open)+len(s.pending) < s.r.bytesFor(minCommit) {
		s.open, s.pending = nil, nil
		s.mu.Unlock()
		return nil // closed before there was audio to transcribe
	}
	s.mu.Unlock()
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	// Cancelling ctx ends a write or read in progress at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	events := make(chan serverEvent)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		read(conn, events, quit)
	}()
	defer func() {
		close(quit)
		_ = conn.Close()
		wg.Wait()
	}()
	c := &sender{conn: conn, timeout: s.r.cfg.timeout}
	if err := c.send(s.sessionUpdate()); err != nil {
		return err
	}
	// Send again what the server has not transcribed (after a drop).
	s.sent = 0
	for _, sg := range s.segs {
		if !sg.done {
			sg.itemID, sg.text = "", ""
			if err := s.sendSegment(c, sg); err != nil {
				return err
			}
		}
	}
	var timeout <-chan time.Time
	for {
		commit, closing := s.take()
		if len(s.open) > s.sent {
			if err := c.appendAudio(s.open[s.sent:]); err != nil {
				return err
			}
			s.sent = len(s.open)
		}
		every := s.r.cfg.commitEvery
		if commit || closing || (every > 0 && len(s.open) >= s.r.bytesFor(every)) {
			if err := s.commitOpen(c, closing); err != nil {
				return err
			}
		}
		if s.finished(closing) {
			return nil
		}
		if closing && timeout == nil {
			t := time.NewTimer(s.r.cfg.timeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-timeout:
			return fmt.Errorf("%w: no transcript %v after the end of the utterance", ErrTimeout, s.r.cfg.timeout)
		case <-s.wake:
		case e := <-events:
			if e.err != nil {
				return e.err
			}
			if err := s.handle(e.ev); err != nil {
				return err
			}
		}
	}
}

// commitOpen commits the open segment when it is long enough. When the
// stream is closing, a shorter rest is dropped.
func (s *Stream) commitOpen(c *sender, closing bool) error {
	if len(s.open) >= s.r.bytesFor(minCommit) {
		s.seq++
		sg := &segment{audio: s.open, eventID: fmt.Sprintf("hark_commit_%d", s.seq)}
		s.segs = append(s.segs, sg)
		s.open, s.sent = nil, 0
		return c.send(realtimeapi.InputAudioBufferCommit{EventID: sg.eventID})
	}
	if closing && len(s.open) > 0 {
		s.open, s.sent = nil, 0
		return c.send(realtimeapi.InputAudioBufferClear{})
	}
	return nil
}

// sendSegment appends a segment's audio and commits it.
func (s *Stream) sendSegment(c *sender, sg *segment) error {
	if err := c.appendAudio(sg.audio); err != nil {
		return err
	}
	return c.send(realtimeapi.InputAudioBufferCommit{EventID: sg.eventID})
}

// handle applies a server event.
func (s *Stream) handle(ev realtimeapi.Event) error {
	switch ev := ev.(type) {
	case *realtimeapi.InputAudioBufferCommitted:
		for _, sg := range s.segs {
			if !sg.done && sg.itemID == "" {
				sg.itemID = ev.ItemID
				break
			}
		}
	case *realtimeapi.InputAudioTranscriptionDelta:
		if sg := s.item(ev.ItemID); sg != nil && !sg.done {
			sg.text += ev.Delta
			s.publish()
		}
	case *realtimeapi.InputAudioTranscriptionCompleted:
		if sg := s.item(ev.ItemID); sg != nil {
			sg.text, sg.done, sg.audio = ev.Transcript, true, nil
			s.publish()
		}
	case *realtimeapi.InputAudioTranscriptionFailed:
		e := ev.Error
		return fmt.Errorf("%w: transcription failed: %w", ErrServer, &e)
	case *realtimeapi.ErrorEvent:
		for _, sg := range s.segs {
			if !sg.done && ev.Error.EventID != "" && ev.Error.EventID == sg.eventID && sg.itemID == "" {
				// The server refused this commit (too little audio
				// after all): the piece has no words.
				sg.done, sg.audio = true, nil
				return nil
			}
		}
		e := ev.Error
		return fmt.Errorf("%w: %w", ErrServer, &e)
	}
	return nil
}

// item returns the segment of an item id.
func (s *Stream) item(id string) *segment {
	for _, sg := range s.segs {
		if sg.itemID == id && id != "" {
			return sg
		}
	}
	return nil
}

// publish makes the text so far the partial result.
func (s *Stream) publish() {
	text := s.joined()
	covered := len(s.open) == 0 && s.finished(true)
	s.mu.Lock()
	s.partial = text
	s.covered = covered && len(s.pending) == 0
	s.mu.Unlock()
}

// sessionUpdate configures a connection for this stream.
func (s *Stream) sessionUpdate() realtimeapi.Event {
	c := s.r.cfg
	tr := &realtimeapi.Transcription{Model: c.model, Language: s.lang, Prompt: c.prompt}
	if c.beta {
		return realtimeapi.SessionUpdate{Session: realtimeapi.Session{
			InputAudioTranscription: tr,
			TurnDetection:           realtimeapi.NoTurnDetection,
		}}
	}
	format := &realtimeapi.AudioFormat{Type: c.format}
	if c.format == realtimeapi.FormatPCM {
		format.Rate = s.r.wire.Rate
	}
	return realtimeapi.SessionUpdate{Session: realtimeapi.Session{
		Type: realtimeapi.SessionTranscription,
		Audio: &realtimeapi.SessionAudio{Input: &realtimeapi.AudioInput{
			Format:        format,
			Transcription: tr,
			TurnDetection: realtimeapi.NoTurnDetection,
		}},
	}}
}

// dial connects within the configured timeout.
func (s *Stream) dial(ctx context.Context) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, s.r.cfg.timeout)
	defer cancel()
	h := http.Header{}
	if s.r.cfg.apiKey != "" {
		h.Set("Authorization", "Bearer "+s.r.cfg.apiKey)
	}
	conn, resp, err := s.r.cfg.dialer.DialContext(dctx, s.r.url, h)
	if err != nil {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(body))}
		}
		return nil, fmt.Errorf("%w: %w", ErrConnect, err)
	}
	conn.SetReadLimit(maxEvent)
	return conn, nil
}

// read hands the server's events to events until the connection fails or
// quit is closed. Events of types this package does not know are skipped.
func read(conn *websocket.Conn, events chan<- serverEvent, quit <-chan struct{}) {
	for {
		var e serverEvent
		_, data, err := conn.ReadMessage()
		if err != nil {
			e.err = fmt.Errorf("%w: %w", ErrConnectionLost, err)
		} else if e.ev, err = realtimeapi.DecodeServer(data); errors.Is(err, realtimeapi.ErrUnknownEvent) {
			continue
		} else if err != nil {
			e.err = fmt.Errorf("%w: %w", ErrProtocol, err)
		}
		select {
		case events <- e:
		case <-quit:
			return
		}
		if e.err != nil {
			return
		}
	}
}

// sender writes client events with a deadline.
type sender struct {
	conn    *websocket.Conn
	timeout time.Duration
}

func (c *sender) send(ev realtimeapi.Event) error {
	msg, err := realtimeapi.Marshal(ev)
	if err != nil {
		return err
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return nil
}

// appendAudio sends audio in appends of at most maxAppend bytes.
func (c *sender) appendAudio(audio []byte) error {
	for len(audio) > 0 {
		n := min(len(audio), maxAppend)
		if err := c.send(realtimeapi.InputAudioBufferAppend{Audio: base64.StdEncoding.EncodeToString(audio[:n])}); err != nil {
			return err
		}
		audio = audio[n:]
	}
	return nil
}
