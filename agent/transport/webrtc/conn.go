package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/frameq"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

const (
	// inQueue is how many decoded 20 ms frames wait for ReadAudio before
	// the oldest is dropped (1 s).
	inQueue = 50
	// overrunReport is how often dropped input is logged at most.
	overrunReport = time.Second
	// maxTextRunes bounds a typed user turn, as in the device protocol.
	maxTextRunes = 4000
	// maxConceal is the longest loss, in packets, filled by concealment.
	maxConceal = 5
	// pendingEvents is how many events wait for the data channel to open.
	pendingEvents = 64
	// maxBuffered is the data channel send buffer above which events are
	// dropped.
	maxBuffered = 1 << 20
)

// Session is the conversation a Handler runs over each Conn;
// *agent.Session implements it.
type Session = transport.Session

// NewSessionFunc makes the session for a new peer; r is the offer's request
// (its query may carry settings such as a language). It is called before the
// answer is sent; an error fails the offer with 500 Internal Server Error.
// It is the constructor shape every transport handler takes.
type NewSessionFunc = transport.NewSessionFunc[*Conn]

// Conn is one peer connection. It implements agent.Transport (Opus in and
// out at 48 kHz) and agent.EventSink (JSON on the data channel).
type Conn struct {
	id     string
	client string // the address the offer came from
	pc     *pion.PeerConnection
	log    *slog.Logger

	maxMessage int
	msgs       *rate.Limiter // client messages
	refusals   *rate.Limiter // error events answering refused messages

	in        *frameq.Queue
	done      chan struct{} // closed by end
	once      sync.Once
	err       error // why the connection ended; set before done closes
	connected chan struct{}
	connOnce  sync.Once
	finished  chan struct{} // closed when the session has stopped

	cmu    sync.Mutex
	cancel context.CancelCauseFunc // cancels the session's context

	// Outgoing audio; wmu serialises WriteAudio.
	wmu    sync.Mutex
	enc    *opus.Encoder
	pace   *pacer
	pkt    []byte
	padded []int16

	// Data channel, and the session its messages go to.
	dmu     sync.Mutex
	session Session // set before the answer leaves
	dc      *pion.DataChannel
	open    bool
	pending [][]byte

	rmu     sync.Mutex
	closing bool
	wg      sync.WaitGroup // track and RTCP readers
}

var (
	_ transport.Transport = (*Conn)(nil)
	_ transport.EventSink = (*Conn)(nil)
)

// ID returns the session id, the last element of the Location URL.
func (c *Conn) ID() string { return c.id }

// OutputFormat returns 48 kHz mono.
func (c *Conn) OutputFormat() pcm.Format { return pcm.Mono48k }

// ReadAudio returns the next decoded frame of the peer's audio at 48 kHz
// mono (20 ms per packet from browsers; a frame after a short loss starts
// with the concealed audio). Once the peer has gone or the session was
// deleted, and the frames received before are read, it returns io.EOF, or a
// *ConnectError if the peer never connected.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	fr, err := c.in.Pop(ctx, c.done)
	if errors.Is(err, io.EOF) && errors.Is(c.err, ErrConnectTimeout) {
		return pcm.Frame{}, c.err
	}
	return fr, err
}

// WriteAudio encodes frame (48 kHz mono; a final partial 20 ms block is
// padded with silence) and sends it paced at real time: it blocks while the
// caller runs more than 40 ms ahead. Frames waiting when Flush is called are
// dropped.
func (c *Conn) WriteAudio(ctx context.Context, frame pcm.Frame) error {
	if frame.Format != pcm.Mono48k {
		return fmt.Errorf("%w: webrtc output wants %v, got %v", pcm.ErrFormat, pcm.Mono48k, frame.Format)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	flushed := c.pace.flushSignal()
	for s := frame.Samples; len(s) > 0; {
		block := s
		if len(block) > frameSamples {
			block = block[:frameSamples]
		} else if len(block) < frameSamples {
			c.padded = append(append(c.padded[:0], block...), make([]int16, frameSamples-len(block))...)
			block = c.padded
		}
		s = s[min(frameSamples, len(s)):]
		pkt, err := c.enc.Encode(block, c.pkt[:0])
		if err != nil {
			return fmt.Errorf("webrtc: encode: %w", err)
		}
		c.pkt = pkt
		sent, err := c.pace.send(ctx, c.done, flushed, pkt)
		var we *writeError
		if errors.As(err, &we) {
			// A lost packet must not stop the conversation; the
			// receiver conceals it.
			c.log.Debug("webrtc: packet dropped", "err", err)
			err = nil
		}
		if err != nil {
			return err
		}
		if !sent {
			return nil // flushed
		}
	}
	return nil
}

// Flush drops audio waiting in WriteAudio; the next frame starts a new
// talkspurt on the same RTP clock. It never blocks.
func (c *Conn) Flush(context.Context) error {
	c.pace.flush()
	return nil
}

// SendEvent sends ev as JSON on the data channel, or queues it until the
// channel opens. It does not block.
func (c *Conn) SendEvent(ev transport.Event) error {
	msg, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webrtc: encode event: %w", err)
	}
	return c.sendJSON(msg)
}

func (c *Conn) sendJSON(msg []byte) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if !c.open {
		if len(c.pending) >= pendingEvents {
			return ErrBackpressure
		}
		c.pending = append(c.pending, msg)
		return nil
	}
	if c.dc.BufferedAmount() > maxBuffered {
		return ErrBackpressure
	}
	return c.dc.SendText(string(msg))
}

// attachDataChannel adopts the client's first data channel.
func (c *Conn) attachDataChannel(dc *pion.DataChannel) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.dc != nil {
		c.log.Warn("webrtc: ignoring extra data channel", "label", dc.Label())
		return
	}
	c.dc = dc
	dc.OnOpen(func() {
		c.dmu.Lock()
		defer c.dmu.Unlock()
		c.open = true
		for _, msg := range c.pending {
			if err := dc.SendText(string(msg)); err != nil {
				c.log.Debug("webrtc: send queued event", "err", err)
			}
		}
		c.pending = nil
	})
	dc.OnMessage(func(m pion.DataChannelMessage) {
		if err := c.handleMessage(m); err != nil {
			c.log.Debug("webrtc: client message", "err", err)
			if !c.refusals.Allow() {
				return // a flood: the first refusals were answered
			}
			if err := c.SendEvent(transport.Event{Type: transport.EventError, Text: err.Error()}); err != nil {
				c.log.Debug("webrtc: send error event", "err", err)
			}
		}
	})
}

// ClientMessage is a JSON message from the client on the data channel.
type ClientMessage struct {
	// Type is "text", "image" or "stop".
	Type string `json:"type"`
	// Text is a typed user turn ("text").
	Text string `json:"text,omitempty"`
	// MIMEType ("image/png", "image/jpeg", ...) and Data (base64 in JSON)
	// carry an image ("image").
	MIMEType string `json:"mime_type,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// ParseClientMessage decodes and validates one data channel message. Errors
// are *MessageError.
func ParseClientMessage(data []byte) (ClientMessage, error) {
	var m ClientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return ClientMessage{}, &MessageError{Reason: "not a JSON object: " + err.Error()}
	}
	switch m.Type {
	case "text":
		if m.Text == "" {
			return ClientMessage{}, &MessageError{Reason: `"text" message without text`}
		}
		if n := utf8.RuneCountInString(m.Text); n > maxTextRunes {
			return ClientMessage{}, &MessageError{Reason: fmt.Sprintf("text has %d characters; the limit is %d", n, maxTextRunes)}
		}
	case "image":
		if len(m.Data) == 0 {
			return ClientMessage{}, &MessageError{Reason: `"image" message without data`}
		}
		switch m.MIMEType {
		case "image/png", "image/jpeg", "image/gif", "image/webp":
		default:
			return ClientMessage{}, &MessageError{Reason: fmt.Sprintf("unsupported image type %q", m.MIMEType)}
		}
	case "stop":
	case "":
		return ClientMessage{}, &MessageError{Reason: `missing "type"`}
	default:
		return ClientMessage{}, &MessageError{Reason: fmt.Sprintf("unknown message type %q", m.Type)}
	}
	return m, nil
}

func (c *Conn) handleMessage(m pion.DataChannelMessage) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	if !c.msgs.Allow() {
		return &MessageError{Reason: "over the message rate limit; message discarded"}
	}
	if !m.IsString {
		return &MessageError{Reason: "binary messages are not accepted"}
	}
	if len(m.Data) > c.maxMessage {
		return &MessageError{Reason: fmt.Sprintf("message of %d bytes exceeds %d", len(m.Data), c.maxMessage)}
	}
	msg, err := ParseClientMessage(m.Data)
	if err != nil {
		return err
	}
	c.dmu.Lock()
	s := c.session
	c.dmu.Unlock()
	switch msg.Type {
	case "text":
		s.SendText(msg.Text)
	case "image":
		s.SendImage(pipeline.Image{Data: msg.Data, MIMEType: msg.MIMEType})
	case "stop":
		s.Interrupt()
	}
	return nil
}

// setSession makes s the receiver of the client's messages.
func (c *Conn) setSession(s Session) {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	c.session = s
}

// goRead runs a reader goroutine unless the connection is closing.
func (c *Conn) goRead(f func()) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closing {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// readTrack decodes the peer's Opus track into c.in until the track ends.
func (c *Conn) readTrack(track *pion.TrackRemote) {
	rx, err := newReceiver()
	if err != nil {
		c.end(err)
		return
	}
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		fr, ok, err := rx.receive(p)
		if err != nil {
			c.log.Debug("webrtc: opus decode", "err", err)
		}
		if ok {
			c.push(fr)
		}
	}
}

// receiver turns RTP packets of one Opus stream into PCM frames: it skips
// padding-only packets, drops late and duplicate ones, and fills short
// losses with in-band FEC and concealment.
type receiver struct {
	dec     *opus.Decoder
	started bool
	nextSeq uint16
	lastTS  uint32
	pos     int64 // samples since the first packet
	buf     []int16
}

func newReceiver() (*receiver, error) {
	dec, err := opus.NewDecoder(rtpRate, 1)
	if err != nil {
		return nil, fmt.Errorf("webrtc: opus decoder: %w", err)
	}
	return &receiver{dec: dec}, nil
}

// receive decodes p. ok is false when p carries no audio to deliver.
func (r *receiver) receive(p *rtp.Packet) (fr pcm.Frame, ok bool, err error) {
	lost := 0
	if r.started {
		gap := p.SequenceNumber - r.nextSeq
		if gap >= 0x8000 {
			return pcm.Frame{}, false, nil // late or duplicate
		}
		lost = int(gap)
		r.pos += int64(int32(p.Timestamp - r.lastTS))
	}
	r.started, r.nextSeq, r.lastTS = true, p.SequenceNumber+1, p.Timestamp
	if len(p.Payload) == 0 {
		return pcm.Frame{}, false, nil // padding only
	}
	r.buf = r.buf[:0]
	if lost > 0 && lost <= maxConceal {
		// Conceal all but the packet just before this one, which this
		// packet's in-band FEC data may rebuild.
		for range lost - 1 {
			r.buf, _ = r.dec.Conceal(r.buf)
		}
		r.buf, _ = r.dec.DecodeFEC(p.Payload, r.buf)
	}
	filled := len(r.buf)
	if r.buf, err = r.dec.Decode(p.Payload, r.buf); err != nil {
		return pcm.Frame{}, false, err
	}
	return pcm.Frame{
		Samples:   append([]int16(nil), r.buf...),
		Format:    pcm.Mono48k,
		Timestamp: pcm.Mono48k.Duration(int(max(0, r.pos-int64(filled)))),
	}, true, nil
}

// push queues a decoded frame, dropping the oldest if the session is
// behind (the policy of every transport), and logs drops at most once a
// second.
func (c *Conn) push(fr pcm.Frame) {
	if o, report := c.in.Push(fr); report {
		c.log.Warn("webrtc: audio overrun: the session is behind", "dropped_frames", o.Frames, "dropped", o.Audio)
	}
}

// readRTCP drains the sender's RTCP so pion's interceptors run.
func (c *Conn) readRTCP(s *pion.RTPSender) {
	for {
		if _, _, err := s.ReadRTCP(); err != nil {
			return
		}
	}
}

func (c *Conn) markConnected() { c.connOnce.Do(func() { close(c.connected) }) }

func (c *Conn) isConnected() bool {
	select {
	case <-c.connected:
		return true
	default:
		return false
	}
}

func (c *Conn) setCancel(cancel context.CancelCauseFunc) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.cancel = cancel
}

// end marks the connection finished with cause (the first cause wins) and
// cancels the session's context.
func (c *Conn) end(cause error) {
	c.once.Do(func() {
		c.err = cause
		close(c.done)
	})
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if c.cancel != nil {
		c.cancel(c.err)
	}
}

// close ends the connection, closes the peer connection and waits for the
// readers.
func (c *Conn) close(cause error) error {
	c.end(cause)
	c.rmu.Lock()
	c.closing = true
	c.rmu.Unlock()
	err := c.pc.Close()
	c.wg.Wait()
	return err
}
