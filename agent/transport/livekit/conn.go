package livekit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	lkp "github.com/livekit/protocol/livekit"
	lklog "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

const (
	// opusRate is Opus's RTP clock rate; audio goes both ways at 48 kHz.
	opusRate = 48000
	// frameSamples is one 20 ms frame at opusRate.
	frameSamples = opusRate / 50
	// inQueue is how many decoded frames wait for ReadAudio before the
	// oldest is dropped (1 s).
	inQueue = 50
	// eventQueue is how many events wait to be sent into the room.
	eventQueue = 256
	// maxConceal is the longest loss, in packets, filled by concealment.
	maxConceal = 5
	// joinTimeout bounds joining the room.
	joinTimeout = 15 * time.Second
)

// Conn is a job's connection to its LiveKit room. It implements
// transport.Transport: ReadAudio returns the caller's microphone (the
// first participant that is not an agent to publish audio, or the job's
// participant), decoded to 48 kHz mono; WriteAudio encodes the agent's
// voice to Opus on the track it publishes. It implements
// transport.EventSink: states become the lk.agent.state attribute,
// transcripts lk.transcription text streams, and every event goes as JSON
// on TopicEvents.
type Conn struct {
	job       Job
	agentName string
	cfg       config
	serverURL string
	log       *slog.Logger
	room      *lksdk.Room

	in       chan pcm.Frame
	done     chan struct{} // closed by end
	endOnce  sync.Once
	err      error // why the connection ended; set before done closes
	sessMu   sync.Mutex
	session  Session
	caller   string // identity whose microphone is read
	callerTr string // that track's SID
	closing  bool
	handoff  handoffState
	operator string         // the operator's identity once paged
	summary  string         // the hand-off summary
	wg       sync.WaitGroup // track readers, the event pump, the hand-off's notify

	operatorIn chan struct{} // the operator joined

	wmu   sync.Mutex
	track *lksdk.LocalTrack
	enc   *opus.Encoder
	pkt   []byte
	trSID string // the agent's track SID
	quiet bool   // the call was handed over: no more audio either way

	events chan transport.Event
}

var (
	_ transport.Transport = (*Conn)(nil)
	_ transport.EventSink = (*Conn)(nil)
)

// dial joins the job's room, publishes the agent's audio track and starts
// listening for the caller.
func dial(ctx context.Context, serverURL, token string, job Job, cfg config, log *slog.Logger) (*Conn, error) {
	enc, err := opus.NewEncoder(opusRate, 1)
	if err != nil {
		return nil, fmt.Errorf("livekit: opus encoder: %w", err)
	}
	c := &Conn{
		job: job, agentName: cfg.agentName, cfg: cfg, serverURL: serverURL, log: log, enc: enc,
		in: make(chan pcm.Frame, inQueue), done: make(chan struct{}),
		events: make(chan transport.Event, eventQueue), operatorIn: make(chan struct{}, 1),
	}
	cb := lksdk.NewRoomCallback()
	cb.ParticipantCallback.OnTrackSubscribed = c.onTrack
	cb.OnParticipantConnected = c.onJoin
	cb.OnParticipantDisconnected = c.onLeave
	cb.OnDisconnected = func() { c.end(io.EOF) }
	c.room = lksdk.NewRoom(cb)
	jctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	opts := append([]lksdk.ConnectOption{lksdk.WithLogger(lklog.GetDiscardLogger())}, cfg.connectOpts...)
	if err := c.room.JoinWithContextAndToken(jctx, serverURL, token, opts...); err != nil {
		return nil, fmt.Errorf("livekit: join room %q: %w", job.Room, err)
	}
	track, err := lksdk.NewLocalSampleTrack(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: opusRate, Channels: 2})
	if err == nil {
		var pub *lksdk.LocalTrackPublication
		pub, err = c.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
			Name: "agent", Source: lkp.TrackSource_MICROPHONE,
		})
		if err == nil {
			c.wmu.Lock()
			c.track, c.trSID = track, pub.SID()
			c.wmu.Unlock()
		}
	}
	if err != nil {
		c.room.Disconnect()
		return nil, fmt.Errorf("livekit: publish the agent's track: %w", err)
	}
	if err := c.room.RegisterTextStreamHandler(TopicChat, c.onChat); err != nil {
		log.Warn("livekit: chat handler", "err", err)
	}
	c.room.LocalParticipant.SetAttributes(map[string]string{AttrAgentState: "initializing"})
	c.wg.Add(1)
	go c.pump()
	c.checkDuplicate()
	return c, nil
}

// Room returns the SDK's room, for what the transport does not cover
// (RPC, more tracks, metadata).
func (c *Conn) Room() *lksdk.Room { return c.room }

// Job returns the job the connection serves.
func (c *Conn) Job() Job { return c.job }

// Caller returns the identity of the participant whose microphone the
// session hears, or "" before one published.
func (c *Conn) Caller() string {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.caller
}

// OutputFormat returns 48 kHz mono.
func (c *Conn) OutputFormat() pcm.Format { return pcm.Mono48k }

// ReadAudio returns the caller's next decoded frame at 48 kHz mono. Once
// the caller left or the room closed, and the frames received before are
// read, it returns io.EOF.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	select {
	case fr := <-c.in:
		return fr, nil
	case <-c.done:
		select {
		case fr := <-c.in:
			return fr, nil
		default:
		}
		return pcm.Frame{}, io.EOF
	case <-ctx.Done():
		return pcm.Frame{}, context.Cause(ctx)
	}
}

// WriteAudio encodes frame (48 kHz mono, 20 ms; a shorter final block is
// padded with silence) and sends it on the agent's track at once: the
// session's playout clock already paces it.
func (c *Conn) WriteAudio(_ context.Context, frame pcm.Frame) error {
	if frame.Format != pcm.Mono48k {
		return fmt.Errorf("%w: livekit output wants %v, got %v", pcm.ErrFormat, pcm.Mono48k, frame.Format)
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.quiet {
		return nil
	}
	for s := frame.Samples; len(s) > 0; {
		block := s[:min(frameSamples, len(s))]
		s = s[len(block):]
		if len(block) < frameSamples {
			block = append(block[:len(block):len(block)], make([]int16, frameSamples-len(block))...)
		}
		pkt, err := c.enc.Encode(block, c.pkt[:0])
		if err != nil {
			return fmt.Errorf("livekit: encode: %w", err)
		}
		c.pkt = pkt
		if err := c.track.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}, nil); err != nil {
			// A lost packet must not stop the conversation (the track
			// may not be subscribed yet); the receiver conceals it.
			c.log.Debug("livekit: sample dropped", "err", err)
		}
	}
	return nil
}

// Flush does nothing: frames leave as WriteAudio is called, and the SFU
// forwards them without a queue of its own.
func (c *Conn) Flush(context.Context) error { return nil }

// SendEvent queues ev for the room (see the type's description). It never
// blocks; when the queue is full the event is dropped with an error.
func (c *Conn) SendEvent(ev transport.Event) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	select {
	case c.events <- ev:
		return nil
	default:
		return errors.New("livekit: event queue full; event dropped")
	}
}

// pump sends queued events into the room in order.
func (c *Conn) pump() {
	defer c.wg.Done()
	var (
		r router
		h history
	)
	for {
		select {
		case ev := <-c.events:
			c.publish(&r, ev)
			h.add(ev)
			if ev.Type == transport.EventHandoff {
				c.startHandoff(ev, &h)
			}
		case <-c.operatorIn:
			if !c.takeOver() {
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *Conn) publish(r *router, ev transport.Event) {
	lp := c.room.LocalParticipant
	out := r.route(ev)
	if out.state != "" {
		lp.SetAttributes(map[string]string{AttrAgentState: out.state})
	}
	if t := out.text; t != nil {
		track := c.trackSIDFor(t.agent)
		attrs := map[string]string{attrSegmentID: t.segment, attrFinal: fmt.Sprint(t.final)}
		if track != "" {
			attrs[attrTrackID] = track
		}
		lp.SendText(t.text, lksdk.StreamTextOptions{Topic: TopicTranscription, Attributes: attrs})
	}
	msg, err := json.Marshal(ev)
	if err != nil {
		c.log.Debug("livekit: encode event", "err", err)
		return
	}
	if err := lp.PublishDataPacket(lksdk.UserData(msg), lksdk.WithDataPublishTopic(TopicEvents),
		lksdk.WithDataPublishReliable(true)); err != nil {
		c.log.Debug("livekit: publish event", "err", err)
	}
}

// trackSIDFor returns the SID of the track a transcript belongs to.
func (c *Conn) trackSIDFor(agent bool) string {
	if agent {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.trSID
	}
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.callerTr
}

// setSession makes s the receiver of typed messages.
func (c *Conn) setSession(s Session) {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	c.session = s
}

func (c *Conn) onChat(reader *lksdk.TextStreamReader, identity string) {
	text := reader.ReadAll()
	c.sessMu.Lock()
	s := c.session
	c.sessMu.Unlock()
	if s != nil && text != "" {
		c.log.Debug("livekit: chat", "from", identity)
		s.SendText(text)
	}
}

// onTrack binds the first audio track of a participant that is not an
// agent (or of the job's participant) as the caller's microphone.
func (c *Conn) onTrack(track *pion.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if track.Kind() != pion.RTPCodecTypeAudio || rp.Kind() == lksdk.ParticipantAgent || isOperator(rp) {
		return
	}
	if c.job.Participant != "" && rp.Identity() != c.job.Participant {
		return
	}
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	if c.caller != "" || c.closing {
		return
	}
	c.caller, c.callerTr = rp.Identity(), pub.SID()
	c.log.Info("livekit: listening", "participant", rp.Identity(), "track", pub.SID())
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.readTrack(track)
	}()
}

// onLeave ends the call when the caller leaves, or when the last
// participant who is not an agent leaves before anyone published.
func (c *Conn) onLeave(rp *lksdk.RemoteParticipant) {
	c.sessMu.Lock()
	caller := c.caller
	c.sessMu.Unlock()
	if caller != "" {
		if rp.Identity() == caller {
			c.end(io.EOF)
		}
		return
	}
	for _, p := range c.room.GetRemoteParticipants() {
		if p.Kind() != lksdk.ParticipantAgent && p.Identity() != rp.Identity() {
			return
		}
	}
	c.end(io.EOF)
}

// checkDuplicate ends the call if an agent of the same name that joined
// earlier is in the room (identities sort by creation time).
func (c *Conn) checkDuplicate() {
	me := c.room.LocalParticipant.Identity()
	for _, p := range c.room.GetRemoteParticipants() {
		if p.Kind() == lksdk.ParticipantAgent && p.Attributes()[attrAgentName] == c.agentName && p.Identity() < me {
			c.log.Info("livekit: another agent serves this room; leaving", "agent", p.Identity())
			c.end(ErrDuplicateAgent)
			return
		}
	}
}

// readTrack decodes the caller's Opus track into c.in until it ends.
func (c *Conn) readTrack(track *pion.TrackRemote) {
	dec, err := newDecoder()
	if err != nil {
		c.log.Error("livekit: opus decoder", "err", err)
		c.end(err)
		return
	}
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		samples, err := dec.decode(p)
		if err != nil {
			c.log.Debug("livekit: opus decode", "err", err)
		}
		if len(samples) == 0 || c.isQuiet() {
			continue
		}
		fr := pcm.Frame{Format: pcm.Mono48k, Samples: append([]int16(nil), samples...)}
		select {
		case c.in <- fr:
		default:
			// The session is behind: drop the oldest frame.
			select {
			case <-c.in:
			default:
			}
			select {
			case c.in <- fr:
			default:
			}
		}
	}
}

// isQuiet reports whether the call was handed over (no more audio).
func (c *Conn) isQuiet() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.quiet
}

// decoder turns one Opus RTP stream into PCM: it skips padding-only and
// late packets and conceals short losses.
type decoder struct {
	dec     *opus.Decoder
	started bool
	next    uint16
	buf     []int16
}

func newDecoder() (*decoder, error) {
	d, err := opus.NewDecoder(opusRate, 1)
	if err != nil {
		return nil, err
	}
	return &decoder{dec: d}, nil
}

// decode returns the audio p carries, after concealment of the packets
// lost just before it. The slice is reused by the next call.
func (d *decoder) decode(p *rtp.Packet) ([]int16, error) {
	lost := 0
	if d.started {
		gap := p.SequenceNumber - d.next
		if gap >= 0x8000 {
			return nil, nil // late or duplicate
		}
		lost = int(gap)
	}
	d.started, d.next = true, p.SequenceNumber+1
	if len(p.Payload) == 0 {
		return nil, nil
	}
	d.buf = d.buf[:0]
	if lost <= maxConceal {
		for range lost {
			d.buf, _ = d.dec.Conceal(d.buf)
		}
	}
	var err error
	d.buf, err = d.dec.Decode(p.Payload, d.buf)
	return d.buf, err
}

// sessionContext returns a context for the session that also ends when
// the connection ends for a reason other than the caller leaving (which
// ReadAudio reports as io.EOF), and the function releasing it.
func (c *Conn) sessionContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-c.done:
			if !errors.Is(c.err, io.EOF) {
				cancel(c.err)
			}
		case <-stopped:
		}
	}()
	return ctx, func() {
		close(stopped)
		cancel(nil)
	}
}

// cause returns why the connection ended, or nil while it is open.
func (c *Conn) cause() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

func (c *Conn) end(err error) {
	c.endOnce.Do(func() {
		c.err = err
		close(c.done)
	})
}

// Close leaves the room and waits for the connection's goroutines.
func (c *Conn) Close() {
	c.sessMu.Lock()
	c.closing = true
	c.sessMu.Unlock()
	c.end(ErrClosed)
	c.room.Disconnect()
	c.wg.Wait()
}
