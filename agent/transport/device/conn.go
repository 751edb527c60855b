package device

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// frameDuration is the length of each server audio message.
const frameDuration = 20 * time.Millisecond

// Conn is one device connection after a valid hello. It implements
// transport.Transport, transport.EventSink and transport.Marker: device
// audio comes out of ReadAudio, agent audio goes out through WriteAudio as
// binary messages in the device's encoding, session events go out as JSON,
// and marks go to devices that asked for them. Flush sends the device a
// "clear" message ahead of any later audio. None of its methods blocks: a
// device that stops reading is disconnected instead (see the package
// documentation).
type Conn struct {
	core  *wscore.Conn
	cfg   *config
	hello Hello
	id    string
	log   *slog.Logger

	// encMu guards the encoder state: Flush drops the samples waiting for
	// a full Opus frame and resets the encoder together with the new
	// generation, so no flushed audio reaches the next reply.
	encMu   sync.Mutex
	enc     *opus.Encoder
	stale   bool // the encoder holds audio from before a Flush
	pending []int16
	encBuf  []byte

	// Reader state, used only by the reader goroutine.
	dec *opus.Decoder
	// decodeRoom is the room a packet may need decoding into (120 ms).
	decodeRoom int
	// msg is the storage of the message being read, kept while small.
	msg     []byte
	inPos   int64 // device samples received, for frame timestamps
	limiter *rate.Limiter
	errs    *rate.Limiter
	sess    transport.Session
}

var (
	_ transport.Transport = (*Conn)(nil)
	_ transport.EventSink = (*Conn)(nil)
	_ transport.Marker    = (*Conn)(nil)
)

// Hello returns the device's hello.
func (c *Conn) Hello() Hello { return c.hello }

// WantsEchoCancellation implements transport.EchoCancellationRequester:
// the hello's "aec" (true unless the device said false).
func (c *Conn) WantsEchoCancellation() bool { return c.hello.AEC }

// ID returns the session identifier sent in the server hello.
func (c *Conn) ID() string { return c.id }

// InputFormat is the PCM format of the frames ReadAudio returns.
func (c *Conn) InputFormat() pcm.Format { return c.hello.Audio.Format() }

// OutputFormat is the format WriteAudio expects: the device's own rate,
// mono.
func (c *Conn) OutputFormat() pcm.Format { return c.hello.Audio.Format() }

// ReadAudio returns the next frame of device audio. It returns io.EOF once
// the device said "bye" or the connection ended.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) { return c.core.ReadAudio(ctx) }

// WriteAudio queues one frame of agent audio for the device. Frames must be
// in OutputFormat; Opus audio is re-framed into 20 ms packets.
func (c *Conn) WriteAudio(_ context.Context, fr pcm.Frame) error {
	if fr.Format != c.OutputFormat() {
		return fmt.Errorf("%w: got %v, the device takes %v", pcm.ErrFormat, fr.Format, c.OutputFormat())
	}
	return c.encode(fr.Samples)
}

// encode turns samples into audio messages of the current generation and
// queues them.
func (c *Conn) encode(samples []int16) error {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	gen := c.core.Gen()
	if c.enc == nil {
		b := c.core.Packet(2 * len(samples))[:2*len(samples)]
		for i, s := range samples {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		return c.core.Send(gen, websocket.BinaryMessage, b)
	}
	if c.stale {
		// A reset encoder, so the next reply does not start with the
		// tail of the flushed one.
		if err := c.enc.Reset(); err != nil {
			return fmt.Errorf("device: opus encoder: %w", err)
		}
		c.stale = false
	}
	n := c.OutputFormat().Samples(frameDuration)
	c.pending = append(c.pending, samples...)
	for len(c.pending) >= n {
		pkt, err := c.enc.Encode(c.pending[:n], c.encBuf[:0])
		if err != nil {
			return fmt.Errorf("device: opus encode: %w", err)
		}
		c.pending = c.pending[:copy(c.pending, c.pending[n:])]
		if err := c.core.Send(gen, websocket.BinaryMessage, append(c.core.Packet(len(pkt)), pkt...)); err != nil {
			return err
		}
	}
	return nil
}

// newEncoder returns the encoder of the agent's audio: speech, at the
// complexity that costs least for the same quality.
func newEncoder(rate int) (*opus.Encoder, error) {
	return opus.NewEncoder(rate, 1, opus.WithComplexity(opus.SpeechComplexity))
}

// Flush drops agent audio not yet sent and tells the device to drop what
// it has buffered: a "clear" message that the device receives before any
// audio written after Flush returns.
func (c *Conn) Flush(context.Context) error {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	c.pending = c.pending[:0]
	c.stale = c.enc != nil
	return c.core.Flush([]byte(`{"type":"clear"}`))
}

// Mark implements transport.Marker. For a device that asked for marks in
// its hello, it sends a mark message after the audio written so far and
// runs played when the device reports it played; a Flush first forgets the
// mark, so played never runs. For other devices audio counts as played
// once sent, so played runs at once.
func (c *Conn) Mark(_ context.Context, name string, played func()) error {
	if !c.hello.Marks {
		played()
		return nil
	}
	return c.core.Mark(name, func(wire string) ([]byte, error) {
		return json.Marshal(struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}{TypeMark, wire})
	}, played)
}

// SendEvent forwards a session event to the device as JSON.
func (c *Conn) SendEvent(ev transport.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("device: encode event: %w", err)
	}
	return c.core.Control(b)
}

// handle acts on one device message; io.EOF means the device said bye.
func (c *Conn) handle(kind int, r io.Reader) error {
	if !c.limiter.Allow() {
		_, _ = io.Copy(io.Discard, r)
		return c.refuse(protoErr(CodeRateLimited, "over %g messages per second; message discarded", c.cfg.core.Rate))
	}
	data, err := readLimited(r, c.cfg.core.MaxMessage, c.msg)
	if cap(data) <= wscore.KeptMessage {
		c.msg = data[:0]
	}
	if err != nil {
		var pe *ProtocolError // declared here: it escapes, and steady audio allocates nothing
		switch {
		case errors.Is(err, errHuge):
			return c.closeWith(CodeTooLarge, err.Error())
		case errors.As(err, &pe):
			return c.refuse(pe)
		}
		return err
	}
	if kind == websocket.BinaryMessage {
		return c.handleAudio(data)
	}
	return c.handleText(data)
}

// refuse answers a refused message with an error message. Once refusals
// come faster than the error budget, it ends the connection: the device
// gets too_many_errors and a close frame, and nothing more is read.
func (c *Conn) refuse(pe *ProtocolError) error {
	c.log.Debug("device message refused", "code", pe.Code, "reason", pe.Reason)
	if !c.errs.Allow() {
		return c.closeWith(CodeTooManyErrors, "too many refused messages")
	}
	return c.core.Control(errorJSON(pe.Code, pe.Reason))
}

// closeWith queues an error message and returns the end reason; the
// writer sends the error, then a close frame with the reason.
func (c *Conn) closeWith(code, reason string) error {
	pe := &ProtocolError{Code: code, Reason: reason}
	_ = c.core.Control(errorJSON(code, reason)) // if the queue is full, the close frame still says why
	c.core.Finish(pe)
	return pe
}

// handleAudio decodes one binary message into a frame for ReadAudio.
func (c *Conn) handleAudio(data []byte) error {
	var samples []int16
	if c.dec == nil {
		if len(data)%2 != 0 {
			return c.refuse(protoErr(CodeBadAudio, "pcm16 message has an odd length (%d bytes)", len(data)))
		}
		samples = c.core.Buffer(len(data) / 2)[:len(data)/2]
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
	} else {
		var err error
		if samples, err = c.dec.Decode(data, c.core.Buffer(c.decodeRoom)); err != nil {
			return c.refuse(protoErr(CodeBadAudio, "opus packet does not decode: %v", err))
		}
	}
	if len(samples) == 0 {
		return nil
	}
	fr := pcm.Frame{Samples: samples, Format: c.InputFormat(), Timestamp: c.InputFormat().Duration(int(c.inPos))}
	c.inPos += int64(len(samples))
	if o, report := c.core.Deliver(fr); report {
		c.log.Warn("device audio overrun: the session is behind", "dropped_frames", o.Frames, "dropped", o.Audio)
		return c.core.Control(errorJSON(CodeOverrun, fmt.Sprintf("the session is behind; the oldest %v of audio was dropped", o.Audio)))
	}
	return nil
}

// handleText acts on one JSON message; io.EOF means the device said bye.
func (c *Conn) handleText(data []byte) error {
	m, err := ParseClientMessage(data)
	if err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			return c.refuse(pe)
		}
		return err
	}
	switch m.Type {
	case TypeHello:
		return c.refuse(protoErr(CodeUnexpectedHello, "the session has started; hello is accepted once"))
	case TypeText:
		c.sess.SendText(m.Text)
	case TypeImage:
		c.sess.SendImage(pipeline.Image{Data: m.Image.Data, MIMEType: m.Image.MIMEType})
	case TypeStop:
		c.sess.Interrupt()
	case TypePlayed:
		c.core.Played(m.Mark) // unknown or flushed marks are ignored
	case TypeBye:
		return io.EOF
	}
	return nil
}

// errHuge reports a message over four times the size limit, which ends
// the connection (close 1009).
var errHuge = errors.New("device: message over four times the size limit")

// readLimited reads a message of at most limit bytes into buf's storage
// (grown as needed). A larger one is discarded and reported as a
// *ProtocolError; one over four times the limit is not read to its end,
// and the error wraps errHuge.
func readLimited(r io.Reader, limit int, buf []byte) ([]byte, error) {
	data, err := wscore.ReadInto(r, limit, buf)
	if err != nil {
		return nil, err
	}
	if len(data) <= limit {
		return data, nil
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, int64(3*limit)))
	if err != nil {
		return nil, err
	}
	if n == int64(3*limit) {
		return nil, fmt.Errorf("%w: more than %d bytes", errHuge, 4*limit)
	}
	return nil, protoErr(CodeTooLarge, "message of %d bytes is over the %d-byte limit; discarded", int64(len(data))+n, limit)
}
