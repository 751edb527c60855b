package twilio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
)

// Conn is one Media Stream after its start message. It implements
// transport.Transport and transport.Marker: caller audio (μ-law 8 kHz)
// comes out of ReadAudio as 8 kHz PCM, agent audio goes to Twilio as media
// messages, Flush sends "clear", and Mark sends a mark whose echo reports
// that the caller heard everything before it. None of its methods blocks: a
// stream that stops reading is disconnected instead.
type Conn struct {
	core  *wscore.Conn
	cfg   *config
	start Start
	log   *slog.Logger
	// mediaPrefix is the start of every media message, up to the payload.
	mediaPrefix []byte
	// ulawMu guards ulaw, the μ-law of the audio being written.
	ulawMu sync.Mutex
	ulaw   []byte

	// Reader state, used only by the reader goroutine.
	msg     []byte // the storage of the message being read, kept while small
	payload []byte // a media message's decoded payload
	inPos   int64
	sess    transport.Session
	refused int
	limiter *rate.Limiter
}

var (
	_ transport.Transport = (*Conn)(nil)
	_ transport.Marker    = (*Conn)(nil)
)

// Start returns the stream's metadata (call SID, custom parameters).
func (c *Conn) Start() Start { return c.start }

// OutputFormat is 8 kHz mono: WriteAudio encodes it to μ-law.
func (c *Conn) OutputFormat() pcm.Format { return pcm.Mono8k }

// ReadAudio returns the next chunk of the caller's audio as 8 kHz PCM. It
// returns io.EOF after Twilio's stop message or when the socket closes.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) { return c.core.ReadAudio(ctx) }

// WriteAudio queues one frame of agent audio (8 kHz mono) as a media
// message.
func (c *Conn) WriteAudio(_ context.Context, fr pcm.Frame) error {
	if fr.Format != pcm.Mono8k {
		return fmt.Errorf("%w: got %v, Twilio takes %v", pcm.ErrFormat, fr.Format, pcm.Mono8k)
	}
	gen := c.core.Gen()
	return c.core.Send(gen, websocket.TextMessage, c.media(fr.Samples))
}

// media returns the media message of samples,
// {"event":"media","streamSid":…,"media":{"payload":"…"}}, built directly
// in storage of messages already written: this runs every 20 ms of every
// call.
func (c *Conn) media(samples []int16) []byte {
	c.ulawMu.Lock()
	defer c.ulawMu.Unlock()
	c.ulaw = g711.EncodeUlaw(c.ulaw[:0], samples)
	b := c.core.Packet(len(c.mediaPrefix) + base64.StdEncoding.EncodedLen(len(c.ulaw)) + 3)
	b = append(b, c.mediaPrefix...)
	b = base64.StdEncoding.AppendEncode(b, c.ulaw)
	return append(b, `"}}`...)
}

// Mark sends a mark after the audio written so far. played runs (on the
// reader goroutine) once Twilio reports that the caller heard everything up
// to the mark; a Flush before that forgets the mark, so played never runs.
func (c *Conn) Mark(_ context.Context, name string, played func()) error {
	return c.core.Mark(name, func(wire string) ([]byte, error) {
		return json.Marshal(outMark{Event: EventMark, StreamSid: c.start.StreamSid, Mark: Mark{Name: wire}})
	}, played)
}

// Flush drops agent audio and marks not yet sent, forgets pending marks,
// and sends Twilio a clear message, which reaches Twilio before any audio
// written after Flush returns.
func (c *Conn) Flush(context.Context) error {
	b, err := json.Marshal(outClear{Event: EventClear, StreamSid: c.start.StreamSid})
	if err != nil {
		return fmt.Errorf("twilio: encode clear: %w", err)
	}
	return c.core.Flush(b)
}

// read handles one message from Twilio; io.EOF means the stream stopped.
func (c *Conn) read(_ int, r io.Reader) error {
	data, err := wscore.ReadInto(r, c.cfg.core.MaxMessage, c.msg)
	if err != nil {
		return err
	}
	if cap(data) <= wscore.KeptMessage {
		c.msg = data[:0]
	}
	var m Message
	if c.limiter.Allow() {
		m, err = ParseMessage(data)
		if err == nil {
			err = c.handle(m)
		}
	} else {
		err = fmt.Errorf("%w: over %g messages per second; discarded", ErrMessage, c.cfg.core.Rate)
	}
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	c.refused++
	level := slog.LevelDebug
	if c.refused == 1 {
		level = slog.LevelWarn // the first one; a flood logs one line
	}
	c.log.Log(context.Background(), level, "twilio message refused", "err", err, "count", c.refused)
	if c.refused > c.cfg.maxErrors {
		return fmt.Errorf("%w: too many malformed messages; the last: %w", ErrProtocol, err)
	}
	return nil
}

// handle acts on one message; io.EOF means the stream stopped.
func (c *Conn) handle(m Message) error {
	switch m.Event {
	case EventMedia:
		if m.Media.Track != "" && m.Media.Track != "inbound" {
			return nil // both_tracks streams also carry the agent's audio
		}
		b, err := m.Media.AppendAudio(c.payload[:0])
		if err != nil {
			return err
		}
		c.payload = b
		if len(b) == 0 {
			return nil
		}
		fr := pcm.Frame{Samples: g711.DecodeUlaw(c.core.Buffer(len(b)), b), Format: pcm.Mono8k, Timestamp: m.Media.At()}
		if fr.Timestamp < 0 {
			fr.Timestamp = pcm.Mono8k.Duration(int(c.inPos))
		}
		c.inPos += int64(len(b))
		if o, report := c.core.Deliver(fr); report {
			c.log.Warn("twilio audio overrun: the session is behind", "dropped_frames", o.Frames, "dropped", o.Audio)
		}
	case EventMark:
		c.core.Played(m.Mark.Name)
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
