package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/codecs/pcm"
)

const (
	// inQueue is how much caller audio waits for the session (2 s).
	inQueue = 100
	// freeBuffers is how many spare frame buffers a call keeps.
	freeBuffers = 4
	// frameDuration is the length of every packet Hark sends.
	frameDuration = 20 * time.Millisecond
	// paceLead is how far ahead of real time WriteAudio may run before it
	// blocks; the far end's jitter buffer absorbs it.
	paceLead = 40 * time.Millisecond
	// gapFill is how long ReadAudio waits for caller audio before it
	// returns silence.
	gapFill = 100 * time.Millisecond
	// paceMaxLag is how far behind schedule a talkspurt may fall before the
	// next packet starts a new one at the wall-clock timestamp.
	paceMaxLag = 60 * time.Millisecond
	// maxPacket bounds one received datagram.
	maxPacket = 1500
	// defaultMediaTimeout is WithMediaTimeout's default.
	defaultMediaTimeout = 30 * time.Second
	// transferTimeout bounds a transfer, from REFER to the final NOTIFY.
	transferTimeout = 30 * time.Second
	// keepAliveEvery is how often a call the agent is silent on sends a
	// frame of silence (see keepAlive).
	keepAliveEvery = time.Second
)

// Call describes an answered call.
type Call struct {
	ID     string         // SIP Call-ID
	From   string         // the caller's URI
	To     string         // the URI called
	Codec  Codec          // negotiated audio codec
	Remote netip.AddrPort // where Hark sends RTP
	Local  netip.AddrPort // where Hark receives RTP
}

// Conn is one call's media. It implements transport.Transport and
// transport.EventSink: caller audio comes out of ReadAudio as PCM (8 kHz for
// G.711, 16 kHz for Opus), agent audio goes out as RTP, paced at 20 ms on
// a continuous clock, and the session's hand-off events trigger the
// transfer.
type Conn struct {
	call  Call
	cfg   *config
	log   *slog.Logger
	pc    *net.UDPConn
	coder coder
	media media

	frames chan pcm.Frame
	done   chan struct{} // closed when the call ends
	once   sync.Once
	err    error // why the call ended; read after done is closed

	// remote is where RTP goes: the SDP address, or with symmetric RTP the
	// address the caller's first packet came from (for NAT).
	remote atomic.Pointer[netip.AddrPort]
	// relatch makes the reader learn the source address afresh (after a
	// re-INVITE moved the media).
	relatch atomic.Bool

	// Sending, guarded by wmu.
	wmu         sync.Mutex
	ssrc        uint32
	seq         uint16
	ts0         uint32
	start       time.Time
	sent        bool
	inSpurt     bool
	due         time.Time // when the next packet of the talkspurt is due
	nextTS      uint32
	lastFlushed <-chan struct{}
	sentAt      time.Time // when the last packet was sent
	enc, pkt    []byte
	silence     []int16     // a frame of silence, for keepAlive
	keepTimer   *time.Timer // keepAlive's, once started
	// mu guards flushed, replaced at every flush.
	mu      sync.Mutex
	flushed chan struct{}

	// heard is when the far end's last packet arrived (unix nanoseconds):
	// set by the reader, read by ReadAudio while it fills silence.
	heard atomic.Int64

	// keyMu hands the DTMF function one key at a time: keys arrive on the
	// reader and on SIP's request goroutines.
	keyMu sync.Mutex

	// Receiving, used only by the reader goroutine.
	jb        jitterBuffer
	rxSSRC    uint32
	rxStart   bool
	lastDTMF  uint32 // RTP timestamp of the last telephone-event delivered
	sawDTMF   bool
	bad       int           // malformed packets
	dropped   time.Duration // caller audio dropped since the last report
	droppedAt time.Time

	// ReadAudio's state (one goroutine).
	gap     *time.Timer
	filling bool          // the caller is silent: fill every 20 ms
	readPos time.Duration // timestamp of the next frame
	lent    []int16       // samples of the frame ReadAudio returned last

	// free holds sample buffers back from the session (the frame before
	// the one it reads) and from dropped frames, for the reader to decode
	// into: a call's steady stream of packets allocates nothing.
	free chan []int16

	sess Session

	// Relaying (an attended hand-off bridged by Hark): peer is the other
	// call, whose packets the reader passes on instead of decoding them.
	// mute drops received audio until then (the person's call).
	peer atomic.Pointer[Conn]
	mute bool
	// The relayed stream's source and offsets, guarded by wmu.
	relaying  bool
	relaySSRC uint32
	seqOff    uint16
	tsOff     uint32

	// Hand-off, guarded by hmu.
	hmu        sync.Mutex
	transcript []Line
	handoff    *handoffState
	transfer   func(ctx context.Context, h *Handoff) error // put the caller through
	wg         sync.WaitGroup
}

func newConn(call Call, cfg *config, log *slog.Logger, pc *net.UDPConn, cd coder, m media) *Conn {
	c := &Conn{
		call:    call,
		cfg:     cfg,
		log:     log,
		pc:      pc,
		coder:   cd,
		media:   m,
		frames:  make(chan pcm.Frame, inQueue),
		free:    make(chan []int16, freeBuffers),
		done:    make(chan struct{}),
		ssrc:    rand.Uint32(),
		seq:     uint16(rand.Uint32()),
		ts0:     rand.Uint32(),
		start:   time.Now(),
		flushed: make(chan struct{}),
	}
	c.heard.Store(c.start.UnixNano())
	c.jb.depth = cfg.jitter
	remote := m.remote
	c.remote.Store(&remote)
	return c
}

// Call returns the call's details.
func (c *Conn) Call() Call { return c.call }

// OutputFormat is the codec's PCM format: 8 kHz mono for G.711, 16 kHz
// mono for Opus.
func (c *Conn) OutputFormat() pcm.Format { return c.coder.format() }

// ReadAudio returns the next 20 ms of the caller's audio, packets put back
// in order and lost ones concealed. When the caller sends nothing for
// 100 ms (silence suppression, comfort noise, hold) it returns silence in
// real time, so the session still hears the end of a turn. It returns
// io.EOF once the call has ended (BYE, CANCEL, transfer), and ends the call
// with ErrMediaTimeout when the far end has sent nothing for the media
// timeout while the call is not on hold. The frame's
// samples are the caller's until the next ReadAudio call, which takes their
// storage back.
func (c *Conn) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	if c.lent != nil {
		c.release(c.lent)
		c.lent = nil
	}
	var fr pcm.Frame
	select {
	case fr = <-c.frames:
	default:
		wait := gapFill
		if c.filling {
			wait = frameDuration
		}
		if c.gap == nil {
			c.gap = time.NewTimer(wait)
		} else {
			c.gap.Reset(wait)
		}
		select {
		case fr = <-c.frames:
		case <-c.gap.C:
			if c.mediaLost() {
				c.finish(ErrMediaTimeout)
				return pcm.Frame{}, io.EOF
			}
			f := c.coder.format()
			fr = pcm.Frame{Format: f, Samples: c.buffer(), Timestamp: -1}
			for range f.Samples(frameDuration) {
				fr.Samples = append(fr.Samples, 0)
			}
		case <-ctx.Done():
			return pcm.Frame{}, context.Cause(ctx)
		case <-c.done:
			select {
			case fr = <-c.frames:
			default:
				return pcm.Frame{}, io.EOF
			}
		}
		c.gap.Stop()
	}
	c.filling = fr.Samples != nil && fr.Timestamp < 0
	fr.Timestamp = c.readPos
	c.readPos += fr.Duration()
	c.lent = fr.Samples
	return fr, nil
}

// mediaLost reports whether the far end has been silent past the media
// timeout on a call that is not on hold (where silence is expected).
func (c *Conn) mediaLost() bool {
	t := c.cfg.mediaTimeout
	if t <= 0 || time.Since(time.Unix(0, c.heard.Load())) < t {
		return false
	}
	c.wmu.Lock()
	dir := c.media.dir
	c.wmu.Unlock()
	return dir == dirSendRecv
}

// buffer returns an empty sample buffer to fill: a spare one if any.
func (c *Conn) buffer() []int16 {
	select {
	case b := <-c.free:
		return b
	default:
		return nil
	}
}

// release keeps b for reuse, unless enough buffers are spare.
func (c *Conn) release(b []int16) {
	select {
	case c.free <- b[:0]:
	default:
	}
}

// WriteAudio sends agent audio in OutputFormat as RTP, one packet per
// 20 ms (a short last frame is padded with silence). Within a talkspurt
// timestamps advance by one frame per packet; after a flush or a pause the
// next packet starts a talkspurt (marker bit) at the wall-clock timestamp,
// so the RTP clock never restarts or runs backwards. A caller writing
// faster than real time is held back.
func (c *Conn) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	f := c.coder.format()
	if fr.Format != f {
		return fmt.Errorf("%w: got %v, the call takes %v", pcm.ErrFormat, fr.Format, f)
	}
	n := f.Samples(frameDuration)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	flushed := c.flushSignal()
	for s := fr.Samples; len(s) > 0; {
		block := s[:min(n, len(s))]
		s = s[len(block):]
		if len(block) < n {
			block = append(block[:len(block):len(block)], make([]int16, n-len(block))...)
		}
		var err error
		if c.enc, err = c.coder.encode(c.enc[:0], block); err != nil {
			return fmt.Errorf("sip: encode: %w", err)
		}
		if err := c.send(ctx, flushed, c.enc); err != nil {
			return err
		}
	}
	return nil
}

// flushSignal returns the channel the next Flush closes.
func (c *Conn) flushSignal() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushed
}

// Flush drops agent audio not yet sent: a WriteAudio waiting for its
// packet's time returns at once without sending, and the next packet
// starts a new talkspurt. Hark queues nothing else on an RTP call, and the
// far end buffers only its jitter buffer's few tens of milliseconds.
func (c *Conn) Flush(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.flushed)
	c.flushed = make(chan struct{})
	return nil
}

// send waits until payload is due and sends it; c.wmu is held.
func (c *Conn) send(ctx context.Context, flushed <-chan struct{}, payload []byte) error {
	select {
	case <-flushed:
		return nil
	case <-c.done:
		return ErrClosed
	default:
	}
	now := time.Now()
	current := c.flushSignal()
	if current != c.lastFlushed || (c.inSpurt && now.Sub(c.due) > paceMaxLag) {
		c.inSpurt, c.lastFlushed = false, current
	}
	ticks := c.media.codec.frameTicks()
	marker := false
	if !c.inSpurt {
		ts := c.ts0 + uint32(int64(now.Sub(c.start))*int64(c.media.codec.clock)/int64(time.Second))
		if c.sent && int32(ts-c.nextTS) < 0 {
			ts = c.nextTS // the last talkspurt ran ahead of the wall clock
		}
		c.nextTS, c.due, c.inSpurt, marker = ts, now, true, true
	}
	if wait := c.due.Sub(now) - paceLead; wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-flushed:
			return nil
		case <-c.done:
			return ErrClosed
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	c.pkt = appendRTP(c.pkt[:0], rtpHeader{marker: marker, pt: c.media.pt, seq: c.seq, ts: c.nextTS, ssrc: c.ssrc}, payload)
	c.seq++
	c.nextTS += ticks
	c.due = c.due.Add(frameDuration)
	c.sent, c.sentAt = true, now
	if c.media.dir == dirRecvOnly || c.media.dir == dirInactive {
		return nil // on hold: the clock runs, nothing is sent
	}
	if _, err := c.pc.WriteToUDPAddrPort(c.pkt, *c.remote.Load()); err != nil {
		// A lost packet must not stop the conversation; the far end
		// conceals it.
		c.log.Debug("sip: RTP write failed", "err", err)
	}
	return nil
}

// startKeepAlive sends a frame of silence now, and from then on whenever
// the call has sent nothing for keepAliveEvery (see keepAlive), until the
// call ends.
func (c *Conn) startKeepAlive() {
	c.keepAlive()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.keepTimer = time.AfterFunc(keepAliveEvery, func() {
		select {
		case <-c.done:
			return
		default:
		}
		c.keepAlive()
		c.wmu.Lock()
		c.keepTimer.Reset(keepAliveEvery)
		c.wmu.Unlock()
	})
}

// keepAlive sends a frame of silence, as a talkspurt of its own, unless the
// call sent a packet within keepAliveEvery or relays another call's
// stream. While the agent is silent the caller still receives RTP: a far
// end that waits for the first packet to learn where to send (symmetric
// RTP behind NAT) hears the caller's side at once, NAT bindings stay open,
// and a carrier's RTP inactivity timer does not hang up on a caller who
// is thinking.
func (c *Conn) keepAlive() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.relaying || c.sent && time.Since(c.sentAt) < keepAliveEvery {
		return
	}
	if c.silence == nil {
		c.silence = make([]int16, c.coder.format().Samples(frameDuration))
	}
	var err error
	if c.enc, err = c.coder.encode(c.enc[:0], c.silence); err != nil {
		c.log.Debug("sip: encode", "err", err)
		return
	}
	_ = c.send(context.Background(), c.flushSignal(), c.enc)
}

// finish ends the call once, recording why. It reports whether this call
// ended it.
func (c *Conn) finish(err error) bool {
	ended := false
	c.once.Do(func() {
		c.err = err
		close(c.done)
		ended = true
	})
	return ended
}

// readLoop receives RTP until the socket is closed.
func (c *Conn) readLoop() {
	buf := make([]byte, maxPacket)
	latched := false
	for {
		n, from, err := c.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			c.log.Debug("sip: RTP read failed", "err", err)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if c.relatch.Swap(false) {
			latched = false
		}
		if latched && from != *c.remote.Load() {
			continue // not the caller's stream
		}
		c.heard.Store(time.Now().UnixNano())
		if err := c.handlePacket(buf[:n]); err != nil {
			c.bad++
			if c.bad <= 3 || c.bad%1000 == 0 {
				c.log.Warn("sip: RTP packet refused", "err", err, "from", from, "count", c.bad)
			}
			continue
		}
		if c.cfg.symmetric && !latched {
			latched = true
			c.remote.Store(&from)
		}
	}
}

// handlePacket acts on one received datagram: caller audio into the
// jitter buffer, telephone-events to the DTMF handler. Other payload types
// (comfort noise, RTCP multiplexed on the port) are ignored.
func (c *Conn) handlePacket(b []byte) error {
	if len(b) >= 2 && b[1] >= 192 && b[1] <= 223 {
		return nil // RTCP (RFC 5761 §4)
	}
	h, payload, err := parseRTP(b)
	if err != nil {
		return err
	}
	if p := c.peer.Load(); p != nil {
		switch {
		case h.pt == c.media.pt:
			p.relay(h, p.media.pt, payload)
		case int(h.pt) == c.media.dtmfPT && p.media.dtmfPT >= 0:
			p.relay(h, uint8(p.media.dtmfPT), payload)
		}
		return nil
	}
	if c.mute {
		return nil
	}
	switch {
	case int(h.pt) == c.media.dtmfPT:
		ev, err := parseDTMF(payload)
		if err != nil {
			return err
		}
		if c.sawDTMF && h.ts == c.lastDTMF {
			return nil // a later packet of an event already delivered
		}
		c.sawDTMF, c.lastDTMF = true, h.ts
		if d := ev.digit(); d != "" {
			c.pressed(d)
		}
	case h.pt == c.media.pt:
		if len(payload) == 0 {
			return nil
		}
		if !c.rxStart || h.ssrc != c.rxSSRC {
			if c.rxStart {
				c.jb.drain(c.emit)
				c.jb = jitterBuffer{depth: c.jb.depth}
			}
			c.rxStart, c.rxSSRC = true, h.ssrc
		}
		c.jb.push(h.seq, payload, c.emit)
	}
	return nil
}

// emit decodes (or conceals) one packet and queues it for ReadAudio.
func (c *Conn) emit(payload []byte, lost bool) {
	samples := c.buffer()
	if lost {
		samples = c.coder.conceal(samples)
	} else {
		var err error
		if samples, err = c.coder.decode(samples, payload); err != nil {
			c.bad++
			c.log.Debug("sip: undecodable packet concealed", "err", err)
			samples = c.coder.conceal(samples[:0])
		}
	}
	fr := pcm.Frame{Samples: samples, Format: c.coder.format()}
	for {
		select {
		case c.frames <- fr:
			return
		default:
		}
		// The session is behind: drop the oldest frame, as every
		// transport does, and say so at most once a second.
		select {
		case old := <-c.frames:
			c.release(old.Samples)
			c.dropped += old.Duration()
			if now := time.Now(); now.Sub(c.droppedAt) >= time.Second {
				c.log.Warn("sip: caller audio overrun: the session is behind", "dropped", c.dropped)
				c.dropped, c.droppedAt = 0, now
			}
		default:
		}
	}
}

// pressed delivers a key the caller pressed.
func (c *Conn) pressed(digit string) {
	c.keyMu.Lock()
	defer c.keyMu.Unlock()
	if c.cfg.dtmf != nil && c.sess != nil {
		c.cfg.dtmf(c.sess, digit)
		return
	}
	c.log.Info("caller pressed a key", "digit", digit)
}

// Line is one turn of a conversation handed off.
type Line struct {
	Role        string `json:"role"` // "caller" or "agent"
	Text        string `json:"text"`
	Interrupted bool   `json:"interrupted,omitempty"` // the caller talked over the rest
}

// Handoff is a call handed to a human: the conversation so far goes with
// it.
type Handoff struct {
	Call   Call
	Reason string // why the agent handed off
	Target string // where the call was transferred; "" without WithTransfer
	// Method is how the caller was put through: MethodRefer,
	// MethodReplaces or MethodBridge; "" when it was not.
	Method string
	// Summary is the session's summary of the conversation (the hand-off
	// event's), which an attended hand-off says to the person.
	Summary    string
	Transcript []Line
	// Err is nil when the far end accepted the transfer (or none was
	// configured); otherwise it wraps ErrTransfer and the call goes on
	// with the agent.
	Err error
}

type handoffState struct {
	reason  string
	summary string
	timer   *time.Timer
	fired   bool
}

// SendEvent follows the conversation for the hand-off: it keeps the
// transcript, and a hand-off event starts the transfer once the agent has
// finished speaking. It never blocks.
func (c *Conn) SendEvent(ev transport.Event) error {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	switch ev.Type {
	case transport.EventUserFinal:
		c.transcript = append(c.transcript, Line{Role: "caller", Text: ev.Text})
	case transport.EventAgentDone:
		c.transcript = append(c.transcript, Line{Role: "agent", Text: ev.Text})
		if c.handoff != nil {
			c.startHandoff()
		}
	case transport.EventInterruption:
		if ev.Interruption != nil && ev.Interruption.Cancelled && ev.Interruption.Heard != "" {
			c.transcript = append(c.transcript, Line{Role: "agent", Text: ev.Interruption.Heard, Interrupted: true})
		}
	case transport.EventHandoff:
		if c.handoff != nil {
			return nil
		}
		c.handoff = &handoffState{reason: ev.Text, summary: ev.Summary}
		c.handoff.timer = time.AfterFunc(c.cfg.handoffWait, func() {
			c.hmu.Lock()
			defer c.hmu.Unlock()
			c.startHandoff()
		})
	}
	return nil
}

// startHandoff transfers the call (once); c.hmu is held.
func (c *Conn) startHandoff() {
	h := c.handoff
	if h.fired {
		return
	}
	h.fired = true
	h.timer.Stop()
	out := Handoff{Call: c.call, Reason: h.reason, Target: c.cfg.transferTo, Summary: h.summary, Transcript: append([]Line(nil), c.transcript...)}
	c.wg.Go(func() {
		if out.Target != "" && c.transfer != nil {
			timeout := transferTimeout
			if c.cfg.attended {
				timeout += c.cfg.att.ring + maxWhisper
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				select {
				case <-c.done: // the caller hung up meanwhile
					cancel()
				case <-stop:
				}
			}()
			out.Err = c.transfer(ctx, &out)
		}
		if out.Err != nil {
			out.Method = ""
			c.log.Error("transfer failed", "to", out.Target, "err", out.Err)
		} else if out.Target != "" {
			c.log.Info("call transferred", "to", out.Target, "reason", out.Reason, "method", out.Method)
		}
		if c.cfg.handoff != nil {
			c.cfg.handoff(out)
		}
	})
}

// close stops the hand-off timer and waits for a transfer in flight.
func (c *Conn) close() {
	c.hmu.Lock()
	if c.handoff != nil && !c.handoff.fired {
		c.handoff.fired = true
		c.handoff.timer.Stop()
	}
	c.hmu.Unlock()
	c.wmu.Lock()
	if c.keepTimer != nil {
		c.keepTimer.Stop()
	}
	c.wmu.Unlock()
	c.wg.Wait()
}
