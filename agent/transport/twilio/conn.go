package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

// Queue sizes: caller audio waiting for the session (2 s of 20 ms chunks),
// agent audio and marks waiting for the socket, and control messages.
const (
	inQueue    = 100
	audioQueue = 16
	ctrlQueue  = 16
)

// Conn is one Media Stream after its start message. It implements
// agent.Transport and agent.Marker: caller audio (μ-law 8 kHz) comes out of
// ReadAudio as 8 kHz PCM, agent audio goes to Twilio as media messages,
// Flush sends "clear", and Mark sends a mark whose echo reports that the
// caller heard everything before it.
type Conn struct {
	ws    *websocket.Conn
	cfg   *config
	start Start
	log   *slog.Logger
	// mediaPrefix is the start of every media message, up to the payload.
	mediaPrefix []byte

	frames chan pcm.Frame
	ctrl   chan []byte   // clear, sent before queued audio
	audio  chan outItem  // media and marks, in order
	done   chan struct{} // closed when the stream ends
	once   sync.Once
	err    error // why the stream ended; read after done is closed

	// mu guards gen changes and the pending marks: Flush bumps gen and
	// forgets the marks together, so a flushed mark never fires.
	mu      sync.Mutex
	gen     atomic.Uint64
	marks   map[string]func()
	markSeq uint64

	// Reader state, used only by the reader goroutine.
	inPos   int64
	sess    Session
	refused int
}

type outItem struct {
	gen  uint64
	data []byte
}

// Start returns the stream's metadata (call SID, custom parameters).
func (c *Conn) Start() Start { return c.start }

// OutputFormat is 8 kHz mono: WriteAudio encodes it to μ-law.
func (c *Conn) OutputFormat() pcm.Format { return pcm.Mono8k }

// ReadAudio returns the next chunk of the caller's audio as 8 kHz PCM. It
// returns io.EOF after Twilio's stop message or when the socket closes.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	select {
	case fr := <-c.frames:
		return fr, nil
	case <-ctx.Done():
		return pcm.Frame{}, context.Cause(ctx)
	case <-c.done:
		select {
		case fr := <-c.frames:
			return fr, nil
		default:
		}
		return pcm.Frame{}, io.EOF
	}
}

// WriteAudio sends one frame of agent audio (8 kHz mono) as a media
// message.
func (c *Conn) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	if fr.Format != pcm.Mono8k {
		return fmt.Errorf("%w: got %v, Twilio takes %v", pcm.ErrFormat, fr.Format, pcm.Mono8k)
	}
	gen := c.gen.Load()
	// {"event":"media","streamSid":…,"media":{"payload":"…"}}, built
	// directly: this runs every 20 ms of every call.
	ulaw := g711.EncodeUlaw(make([]byte, 0, len(fr.Samples)), fr.Samples)
	b := make([]byte, 0, len(c.mediaPrefix)+base64.StdEncoding.EncodedLen(len(ulaw))+3)
	b = append(b, c.mediaPrefix...)
	b = base64.StdEncoding.AppendEncode(b, ulaw)
	b = append(b, `"}}`...)
	return c.enqueue(ctx, outItem{gen: gen, data: b})
}

// Mark sends a mark after the audio written so far. played runs (on the
// reader goroutine) once Twilio reports that the caller heard everything up
// to the mark; a Flush before that forgets the mark, so played never runs.
func (c *Conn) Mark(ctx context.Context, name string, played func()) error {
	c.mu.Lock()
	c.markSeq++
	wire := name + "#" + strconv.FormatUint(c.markSeq, 10)
	c.marks[wire] = played
	gen := c.gen.Load()
	c.mu.Unlock()
	b, err := json.Marshal(outMark{Event: EventMark, StreamSid: c.start.StreamSid, Mark: Mark{Name: wire}})
	if err != nil {
		return fmt.Errorf("twilio: encode mark: %w", err)
	}
	return c.enqueue(ctx, outItem{gen: gen, data: b})
}

// Flush drops agent audio and marks not yet sent, forgets pending marks,
// and sends Twilio a clear message, which reaches Twilio before any audio
// written after Flush returns.
func (c *Conn) Flush(ctx context.Context) error {
	c.mu.Lock()
	c.gen.Add(1)
	clear(c.marks)
	c.mu.Unlock()
	for {
		select {
		case <-c.audio:
			continue
		default:
		}
		break
	}
	b, err := json.Marshal(outClear{Event: EventClear, StreamSid: c.start.StreamSid})
	if err != nil {
		return fmt.Errorf("twilio: encode clear: %w", err)
	}
	select {
	case c.ctrl <- b:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		return ErrClosed
	}
}

func (c *Conn) enqueue(ctx context.Context, it outItem) error {
	select {
	case c.audio <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		return ErrClosed
	}
}

// finish ends the stream once, recording why.
func (c *Conn) finish(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
	})
}

// writeLoop sends queued messages until ctx is done or a write fails.
// Control messages always go out before queued audio, so a clear precedes
// all audio written after it.
func (c *Conn) writeLoop(ctx context.Context) {
	for {
		var err error
		select {
		case msg := <-c.ctrl:
			err = c.write(msg)
		default:
			select {
			case <-ctx.Done():
				c.finish(nil)
				c.goodbye()
				return
			case <-c.done:
				c.goodbye()
				return
			case msg := <-c.ctrl:
				err = c.write(msg)
			case it := <-c.audio:
				err = c.drainCtrl()
				if err == nil && it.gen == c.gen.Load() {
					err = c.write(it.data)
				}
			}
		}
		if err != nil {
			c.log.Debug("twilio write failed", "err", err)
			c.finish(fmt.Errorf("twilio: write: %w", err))
			return
		}
	}
}

// goodbye writes queued control messages and a normal close frame.
func (c *Conn) goodbye() {
	if c.drainCtrl() != nil {
		return
	}
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(c.cfg.writeTimeout))
}

func (c *Conn) drainCtrl() error {
	for {
		select {
		case msg := <-c.ctrl:
			if err := c.write(msg); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (c *Conn) write(msg []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, msg)
}

// readLoop reads Twilio's messages until the stream stops.
func (c *Conn) readLoop() {
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.readTimeout))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
				err = nil
			} else {
				err = fmt.Errorf("twilio: read: %w", err)
			}
			c.finish(err)
			return
		}
		m, err := ParseMessage(data)
		if err == nil {
			err = c.handle(m)
		}
		if errors.Is(err, io.EOF) {
			c.finish(nil)
			return
		}
		if err != nil {
			c.refused++
			c.log.Warn("twilio message refused", "err", err, "count", c.refused)
			if c.refused > c.cfg.maxErrors {
				c.finish(fmt.Errorf("twilio: too many malformed messages: %w", err))
				return
			}
		}
	}
}

// handle acts on one message; io.EOF means the stream stopped.
func (c *Conn) handle(m Message) error {
	switch m.Event {
	case EventMedia:
		if m.Media.Track != "" && m.Media.Track != "inbound" {
			return nil // both_tracks streams also carry the agent's audio
		}
		b, err := m.Media.Audio()
		if err != nil {
			return err
		}
		if len(b) == 0 {
			return nil
		}
		fr := pcm.Frame{Samples: g711.DecodeUlaw(nil, b), Format: pcm.Mono8k, Timestamp: m.Media.At()}
		if fr.Timestamp < 0 {
			fr.Timestamp = pcm.Mono8k.Duration(int(c.inPos))
		}
		c.inPos += int64(len(b))
		select {
		case c.frames <- fr:
		default:
			c.log.Warn("twilio audio overrun: the session is behind", "dropped", fr.Duration())
		}
	case EventMark:
		c.mu.Lock()
		played := c.marks[m.Mark.Name]
		delete(c.marks, m.Mark.Name)
		c.mu.Unlock()
		if played != nil {
			played()
		}
	case EventDTMF:
		if c.cfg.dtmf != nil {
			c.cfg.dtmf(c.sess, m.DTMF.Digit)
		} else {
			c.log.Info("caller pressed a key", "digit", m.DTMF.Digit)
		}
	case EventStop:
		return io.EOF
	case EventStart:
		return fmt.Errorf("%w: a second start", ErrMessage)
	}
	return nil
}

// mediaPrefix returns the JSON of an outbound media message up to its
// payload's opening quote.
func mediaPrefix(streamSid string) []byte {
	sid, _ := json.Marshal(streamSid) // a string always marshals
	return fmt.Appendf(nil, `{"event":"media","streamSid":%s,"media":{"payload":"`, sid)
}
