package rtserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Conn is one Realtime connection. It is the session's transport
// (transport.Transport and transport.EventSink) and wraps the session's
// LLM and TTS (LLM, TTS), so that the client's conversation, instructions,
// tools and voice shape every reply. None of its methods blocks: a client
// that stops reading is disconnected instead.
type Conn struct {
	core  *wscore.Conn
	cfg   *config
	log   *slog.Logger
	model string
	sess  transport.Session
	limit *rate.Limiter

	// mu guards the protocol state and orders the events it sends.
	mu sync.Mutex
	m  *machine

	refused int           // client events refused; read by the reader only
	timers  []*time.Timer // guarded by mu; stopped when the connection ends
	ended   bool          // guarded by mu
}

var (
	_ transport.Transport = (*Conn)(nil)
	_ transport.EventSink = (*Conn)(nil)
)

// Model returns the model the client asked for (?model=).
func (c *Conn) Model() string { return c.model }

// OutputFormat is 24 kHz mono; audio goes to the client in the session's
// output format (24 kHz PCM, or μ-law or A-law at 8 kHz).
func (c *Conn) OutputFormat() pcm.Format { return formatPCM24k }

// ReadAudio returns the client's audio: 24 kHz PCM, or 8 kHz decoded from
// μ-law or A-law. It returns io.EOF once the client has gone.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) { return c.core.ReadAudio(ctx) }

// WriteAudio sends one frame of the reply as response.output_audio.delta.
// Silent frames (a paused or starved reply) are not sent.
func (c *Conn) WriteAudio(_ context.Context, fr pcm.Frame) error {
	if fr.Format != formatPCM24k {
		return fmt.Errorf("%w: got %v, the Realtime transport takes %v", pcm.ErrFormat, fr.Format, formatPCM24k)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.frame(fr.Samples)
	return c.flush()
}

// Flush has nothing to drop: audio goes out paced in real time, as the
// session plays it, so at most a frame waits in the queue. The client
// drops what it buffered when the barge-in is reported
// (input_audio_buffer.speech_started).
func (c *Conn) Flush(context.Context) error { return nil }

// SendEvent turns the session's events into the protocol's.
func (c *Conn) SendEvent(ev transport.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m.agent(ev)
	return c.flush()
}

// flush sends what the machine produced and carries out its commands, in
// order. c.mu is held.
func (c *Conn) flush() error {
	events, cmds := c.m.take()
	var errs []error
	for _, ev := range events {
		b, err := realtimeapi.Marshal(ev)
		if err == nil {
			err = c.core.Control(b)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, cmd := range cmds {
		switch cmd.kind {
		case cmdAudio:
			if o, report := c.core.Deliver(cmd.frame); report {
				c.log.Warn("realtime audio overrun: the session is behind", "dropped_frames", o.Frames, "dropped", o.Audio)
			}
		case cmdSendText:
			c.sess.SendText(cmd.text)
		case cmdInterrupt:
			c.sess.Interrupt()
		case cmdExpire:
			if !c.ended {
				id := cmd.text
				c.timers = append(c.timers, time.AfterFunc(commitWait, func() { c.locked(func() { c.m.expire(id) }) }))
			}
		}
	}
	return errors.Join(errs...)
}

// read handles one client message.
func (c *Conn) read(kind int, r io.Reader) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(c.cfg.maxMsg)+1))
	if err != nil {
		return err
	}
	var refusal *realtimeapi.APIError
	switch {
	case len(data) > c.cfg.maxMsg:
		if _, err := io.Copy(io.Discard, r); err != nil {
			return err
		}
		refusal = &realtimeapi.APIError{Code: "message_too_large", Message: fmt.Sprintf("client events are limited to %d bytes", c.cfg.maxMsg)}
	case kind != websocket.TextMessage:
		refusal = &realtimeapi.APIError{Code: "invalid_message", Message: "client events are JSON text messages"}
	case !c.limit.Allow():
		refusal = &realtimeapi.APIError{Code: "rate_limit_exceeded", Message: fmt.Sprintf("over %v client events per second: event dropped", c.limit.Limit())}
	}
	var ev realtimeapi.Event
	if refusal == nil {
		var de *realtimeapi.DecodeError
		if ev, err = realtimeapi.DecodeClient(data); errors.As(err, &de) {
			refusal = decodeRefusal(de)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if refusal != nil {
		c.m.fail(refusal.Code, refusal.Param, refusal.Message, refusal.EventID)
	} else {
		c.m.client(ev)
	}
	n := c.m.refusals()
	if err := c.flush(); err != nil {
		return err
	}
	if c.refused += n; c.refused > c.cfg.maxError {
		return fmt.Errorf("rtserver: %d client events refused", c.refused)
	}
	return nil
}

// decodeRefusal describes a client event that did not decode.
func decodeRefusal(de *realtimeapi.DecodeError) *realtimeapi.APIError {
	if errors.Is(de, realtimeapi.ErrUnknownEvent) {
		return &realtimeapi.APIError{Code: "invalid_value", Param: "type", EventID: de.EventID,
			Message: fmt.Sprintf("Invalid value: %q is not a client event type", de.Type)}
	}
	code := "invalid_json"
	if de.Type != "" {
		code = "invalid_value"
	}
	return &realtimeapi.APIError{Code: code, EventID: de.EventID, Message: de.Error()}
}

// LLM wraps the session's language model: every request is rebuilt from
// the client's conversation (instructions, items, tools; see machine), the
// reply's text is reported as it streams, and calls of the client's tools
// are sent to the client — such a call ends the reply.
func (c *Conn) LLM(inner pipeline.LLM) pipeline.LLM {
	return pipeline.LLMFunc(func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		// The request is the conversation's, and asking creates a response
		// the client sees: a reply prepared before the user's turn has ended
		// waits for the turn (and the user's item) first.
		if err := pipeline.AwaitTurn(ctx); err != nil {
			return func(yield func(pipeline.Delta, error) bool) { yield(pipeline.Delta{}, err) }
		}
		server := map[string]bool{}
		for _, t := range req.Tools {
			server[t.Name] = true
		}
		c.mu.Lock()
		req, ok := c.m.request(req)
		client := map[string]bool{}
		for _, t := range c.m.clientTools() {
			client[t.Name] = !server[t.Name]
		}
		err := c.flush()
		c.mu.Unlock()
		if err != nil {
			c.log.Debug("realtime event not sent", "err", err)
		}
		return func(yield func(pipeline.Delta, error) bool) {
			if !ok {
				return // the client creates its responses itself
			}
			var calls []pipeline.ToolCall
			for d, err := range inner.Stream(ctx, req) {
				if err != nil {
					yield(pipeline.Delta{}, err)
					return
				}
				if tc := d.ToolCall; tc != nil && client[tc.Name] {
					calls = append(calls, *tc)
					continue
				}
				if d.Text != "" {
					c.locked(func() { c.m.textDelta(d.Text) })
				}
				if !yield(d, nil) {
					return
				}
			}
			if len(calls) > 0 && ctx.Err() == nil {
				c.locked(func() {
					for _, call := range calls {
						c.m.clientCall(call)
					}
				})
			}
		}
	})
}

// TTS wraps the session's speech synthesiser: no audio for responses with
// text output only, and the client's voice through WithVoices.
func (c *Conn) TTS(inner pipeline.TTS) pipeline.TTS {
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		c.mu.Lock()
		speaks, voice := c.m.speaks(), c.cfg.voices[c.m.voice()]
		c.mu.Unlock()
		if !speaks {
			return func(func(pcm.Frame, error) bool) {}
		}
		if voice != "" {
			req.Voice = voice
		}
		return inner.Synthesize(ctx, req)
	})
}

// end stops the connection's timers once the session has returned.
func (c *Conn) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended = true
	for _, t := range c.timers {
		t.Stop()
	}
}

// locked runs f on the machine and sends what it produced.
func (c *Conn) locked(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	if err := c.flush(); err != nil {
		c.log.Debug("realtime event not sent", "err", err)
	}
}
