package websocket

import (
	"context"
	"encoding/binary"
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
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// frameDuration is the length of each server audio message.
const frameDuration = 20 * time.Millisecond

// Queue sizes: decoded device audio waiting for the session (2 s of 20 ms
// frames), encoded agent audio waiting for the socket, and JSON messages.
const (
	inQueue    = 100
	audioQueue = 16
	ctrlQueue  = 256
)

// Conn is one device connection after a valid hello. It implements
// agent.Transport, agent.EventSink and agent.Marker: device audio comes out
// of ReadAudio, agent audio goes out through WriteAudio as binary messages
// in the device's encoding, session events go out as JSON, and marks go to
// devices that asked for them. Flush sends the device a "clear" message
// ahead of any later audio.
type Conn struct {
	ws    *websocket.Conn
	cfg   *config
	hello Hello
	id    string
	log   *slog.Logger

	frames chan pcm.Frame // decoded device audio
	ctrl   chan []byte    // JSON messages, sent before queued audio
	audio  chan audioItem // encoded agent audio

	gen  atomic.Uint64 // bumped by Flush; older audio items are dropped
	done chan struct{} // closed when the connection ends
	once sync.Once
	err  error // why the connection ended; read after done is closed

	// encMu guards the encoder state and the pending marks: Flush bumps
	// gen, drops the samples waiting for a full Opus frame, and forgets
	// the marks together, so a flushed mark never counts as played.
	encMu   sync.Mutex
	enc     *opus.Encoder
	stale   bool // the encoder holds audio from before a Flush
	pending []int16
	encBuf  []byte
	marks   map[string]func()
	markSeq uint64

	// Reader state, used only by the reader goroutine.
	dec     *opus.Decoder
	decBuf  []int16
	inPos   int64 // device samples received, for frame timestamps
	limiter *rate.Limiter
	errs    *rate.Limiter
	sess    Session
}

// audioItem is a binary audio message, or (text) a mark that follows it.
type audioItem struct {
	gen  uint64
	data []byte
	text bool
}

// Hello returns the device's hello.
func (c *Conn) Hello() Hello { return c.hello }

// ID returns the session identifier sent in the server hello.
func (c *Conn) ID() string { return c.id }

// InputFormat is the PCM format of the frames ReadAudio returns.
func (c *Conn) InputFormat() pcm.Format { return c.hello.Audio.Format() }

// OutputFormat is the format WriteAudio expects: the device's own rate,
// mono.
func (c *Conn) OutputFormat() pcm.Format { return c.hello.Audio.Format() }

// ReadAudio returns the next frame of device audio. It returns io.EOF once
// the device said "bye" or the connection ended.
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

// WriteAudio queues one frame of agent audio for the device. Frames must be
// in OutputFormat; Opus audio is re-framed into 20 ms packets.
func (c *Conn) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	if fr.Format != c.OutputFormat() {
		return fmt.Errorf("%w: got %v, the device takes %v", pcm.ErrFormat, fr.Format, c.OutputFormat())
	}
	items, err := c.encode(fr.Samples)
	if err != nil {
		return err
	}
	for _, it := range items {
		select {
		case c.audio <- it:
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-c.done:
			return ErrClosed
		}
	}
	return nil
}

// encode turns samples into audio messages tagged with the current
// generation.
func (c *Conn) encode(samples []int16) ([]audioItem, error) {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	gen := c.gen.Load()
	if c.enc == nil {
		b := make([]byte, 2*len(samples))
		for i, s := range samples {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		return []audioItem{{gen: gen, data: b}}, nil
	}
	if c.stale {
		// A fresh encoder, so the next reply does not start with the
		// tail of the flushed one.
		enc, err := opus.NewEncoder(c.hello.Audio.SampleRate, 1)
		if err != nil {
			return nil, fmt.Errorf("websocket: opus encoder: %w", err)
		}
		c.enc, c.stale = enc, false
	}
	n := c.OutputFormat().Samples(frameDuration)
	c.pending = append(c.pending, samples...)
	var items []audioItem
	for len(c.pending) >= n {
		pkt, err := c.enc.Encode(c.pending[:n], c.encBuf[:0])
		if err != nil {
			return items, fmt.Errorf("websocket: opus encode: %w", err)
		}
		items = append(items, audioItem{gen: gen, data: append([]byte(nil), pkt...)})
		c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	}
	return items, nil
}

// Flush drops agent audio not yet sent and tells the device to drop what
// it has buffered: a "clear" message that the device receives before any
// audio written after Flush returns.
func (c *Conn) Flush(ctx context.Context) error {
	c.encMu.Lock()
	c.gen.Add(1)
	c.pending = c.pending[:0]
	c.stale = c.enc != nil
	clear(c.marks)
	c.encMu.Unlock()
	for {
		select {
		case <-c.audio:
			continue
		default:
		}
		break
	}
	return c.sendCtrl(ctx, []byte(`{"type":"clear"}`))
}

// Mark implements agent.Marker. For a device that asked for marks in its
// hello, it sends a mark message after the audio written so far and runs
// played when the device reports it played; a Flush first forgets the
// mark, so played never runs. For other devices audio counts as played
// once sent, so played runs at once.
func (c *Conn) Mark(ctx context.Context, name string, played func()) error {
	if !c.hello.Marks {
		played()
		return nil
	}
	c.encMu.Lock()
	c.markSeq++
	wire := truncate(name, maxMarkName-32) + "#" + strconv.FormatUint(c.markSeq, 10)
	c.marks[wire] = played
	gen := c.gen.Load()
	c.encMu.Unlock()
	b, err := json.Marshal(struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}{TypeMark, wire})
	if err != nil {
		return fmt.Errorf("websocket: encode mark: %w", err)
	}
	select {
	case c.audio <- audioItem{gen: gen, data: b, text: true}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		return ErrClosed
	}
}

// played runs the callback of a mark the device played.
func (c *Conn) played(name string) {
	c.encMu.Lock()
	fn := c.marks[name]
	delete(c.marks, name)
	c.encMu.Unlock()
	if fn != nil {
		fn()
	}
}

// SendEvent forwards a session event to the device as JSON.
func (c *Conn) SendEvent(ev transport.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("websocket: encode event: %w", err)
	}
	return c.sendCtrl(context.Background(), b)
}

// sendCtrl queues a JSON message. It blocks only while the queue is full,
// which the writer's deadline bounds.
func (c *Conn) sendCtrl(ctx context.Context, msg []byte) error {
	select {
	case c.ctrl <- msg:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c.done:
		return ErrClosed
	}
}

// finish ends the connection once, recording why.
func (c *Conn) finish(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
	})
}

// writeLoop sends queued messages and pings until ctx is done or a write
// fails. JSON messages always go out before queued audio, so a "clear"
// precedes all audio written after it.
func (c *Conn) writeLoop(ctx context.Context) {
	ping := time.NewTicker(c.cfg.pingInterval)
	defer ping.Stop()
	for {
		var err error
		select {
		case msg := <-c.ctrl:
			err = c.write(websocket.TextMessage, msg)
		default:
			select {
			case <-ctx.Done():
				if errors.Is(context.Cause(ctx), errSessionEnded) {
					c.finish(nil)
				} else {
					c.finish(errShutdown) // the server's context ended
				}
				c.goodbye()
				return
			case <-c.done:
				c.goodbye()
				return
			case msg := <-c.ctrl:
				err = c.write(websocket.TextMessage, msg)
			case it := <-c.audio:
				err = c.drainCtrl()
				if err == nil && it.gen == c.gen.Load() {
					kind := websocket.BinaryMessage
					if it.text {
						kind = websocket.TextMessage
					}
					err = c.write(kind, it.data)
				}
			case <-ping.C:
				err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.cfg.writeTimeout))
			}
		}
		if err != nil {
			c.log.Debug("device write failed", "err", err)
			c.finish(fmt.Errorf("websocket: write: %w", err))
			return
		}
	}
}

// goodbye writes the queued JSON messages and a close frame that gives the
// connection's end reason. Write errors no longer matter here.
func (c *Conn) goodbye() {
	if c.drainCtrl() != nil {
		return
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, closeFrame(c.err), time.Now().Add(c.cfg.writeTimeout))
}

// drainCtrl writes every queued JSON message.
func (c *Conn) drainCtrl() error {
	for {
		select {
		case msg := <-c.ctrl:
			if err := c.write(websocket.TextMessage, msg); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (c *Conn) write(kind int, data []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(kind, data)
}

// readLoop reads device messages until the connection ends.
func (c *Conn) readLoop() {
	for {
		kind, r, err := c.ws.NextReader()
		if err != nil {
			c.finish(readError(err))
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(c.cfg.pongWait()))
		if !c.limiter.Allow() {
			_, _ = io.Copy(io.Discard, r)
			c.refuse(protoErr(CodeRateLimited, "over %g messages per second; message discarded", c.cfg.rate))
			continue
		}
		data, err := readLimited(r, c.cfg.maxMessage)
		if err != nil {
			var pe *ProtocolError
			if errors.As(err, &pe) {
				c.refuse(pe)
				continue
			}
			c.finish(readError(err))
			return
		}
		if kind == websocket.BinaryMessage {
			c.handleAudio(data)
			continue
		}
		if bye := c.handleText(data); bye {
			c.finish(nil)
			return
		}
	}
}

// readError maps the end of a read to the connection's end reason: a
// normal close is no error.
func readError(err error) error {
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway) {
		return nil
	}
	return fmt.Errorf("websocket: read: %w", err)
}

// refuse answers a refused message with an error message, and closes the
// connection once refusals come faster than the error budget.
func (c *Conn) refuse(pe *ProtocolError) {
	c.log.Debug("device message refused", "code", pe.Code, "reason", pe.Reason)
	if !c.errs.Allow() {
		c.closeWith(CodeTooManyErrors, "too many refused messages")
		return
	}
	select {
	case c.ctrl <- errorJSON(pe.Code, pe.Reason):
	case <-c.done:
	}
}

// closeWith queues an error message and ends the connection; the writer
// sends the error, then a close frame with the reason.
func (c *Conn) closeWith(code, reason string) {
	select {
	case c.ctrl <- errorJSON(code, reason):
	default: // the queue is full; the close frame still carries the reason
	}
	c.finish(&ProtocolError{Code: code, Reason: reason})
}

// closeFrame returns the close message for the connection's end reason.
func closeFrame(err error) []byte {
	var pe *ProtocolError
	switch {
	case err == nil:
		return websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	case errors.Is(err, errShutdown):
		return websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down")
	case errors.As(err, &pe) && pe.Code == CodeSessionFailed:
		return websocket.FormatCloseMessage(websocket.CloseInternalServerErr, truncate(pe.Code+": "+pe.Reason, 120))
	case errors.As(err, &pe):
		return websocket.FormatCloseMessage(websocket.ClosePolicyViolation, truncate(pe.Code+": "+pe.Reason, 120))
	}
	return websocket.FormatCloseMessage(websocket.CloseInternalServerErr, truncate(err.Error(), 120))
}

// handleAudio decodes one binary message into a frame for ReadAudio.
func (c *Conn) handleAudio(data []byte) {
	var samples []int16
	if c.dec == nil {
		if len(data)%2 != 0 {
			c.refuse(protoErr(CodeBadAudio, "pcm16 message has an odd length (%d bytes)", len(data)))
			return
		}
		samples = make([]int16, len(data)/2)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
	} else {
		out, err := c.dec.Decode(data, c.decBuf[:0])
		if err != nil {
			c.refuse(protoErr(CodeBadAudio, "opus packet does not decode: %v", err))
			return
		}
		samples = append([]int16(nil), out...)
	}
	if len(samples) == 0 {
		return
	}
	fr := pcm.Frame{Samples: samples, Format: c.InputFormat(), Timestamp: c.InputFormat().Duration(int(c.inPos))}
	c.inPos += int64(len(samples))
	select {
	case c.frames <- fr:
	default:
		c.refuse(protoErr(CodeOverrun, "the session is behind; %v of audio dropped", fr.Duration()))
	}
}

// handleText acts on one JSON message; it reports whether the device said
// bye.
func (c *Conn) handleText(data []byte) bool {
	m, err := ParseClientMessage(data)
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			c.refuse(pe)
		}
		return false
	}
	switch m.Type {
	case TypeHello:
		c.refuse(protoErr(CodeUnexpectedHello, "the session has started; hello is accepted once"))
	case TypeText:
		c.sess.SendText(m.Text)
	case TypeImage:
		c.sess.SendImage(pipeline.Image{Data: m.Image.Data, MIMEType: m.Image.MIMEType})
	case TypeStop:
		c.sess.Interrupt()
	case TypePlayed:
		c.played(m.Mark) // unknown or flushed marks are ignored
	case TypeBye:
		return true
	}
	return false
}

// readLimited reads a message of at most limit bytes; a larger one is
// discarded and reported as a *ProtocolError.
func readLimited(r io.Reader, limit int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return nil, err
		}
		return nil, protoErr(CodeTooLarge, "message of %d bytes is over the %d-byte limit; discarded", int64(len(data))+n, limit)
	}
	return data, nil
}
