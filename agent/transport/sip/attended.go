package sip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/pipeline"
)

// How a hand-off put the caller through (Handoff.Method).
const (
	// MethodRefer: a blind REFER to the target (WithTransfer).
	MethodRefer = "refer"
	// MethodReplaces: an attended hand-off whose REFER told the caller's
	// phone to replace Hark's call to the person (RFC 3891).
	MethodReplaces = "replaces"
	// MethodBridge: an attended hand-off where Hark relays the audio of
	// the two calls.
	MethodBridge = "bridge"
)

const (
	// maxWhisper bounds the whisper said to the person.
	maxWhisper = 60 * time.Second
	// replacedWait is how long Hark waits, after the caller's phone
	// replaced Hark's call to the person, for the person's phone to end
	// that call before Hark does.
	replacedWait = 5 * time.Second
)

// leg is the second call of an attended hand-off: Hark calling the person.
type leg struct {
	conn    *Conn
	d       *sipgo.DialogClientSession
	pc      *net.UDPConn
	reading sync.WaitGroup
	bye     sync.Once
}

// hangup sends BYE once, unless the person already ended the call, and
// releases the leg's socket.
func (l *leg) hangup() {
	l.bye.Do(func() {
		if l.d.Context().Err() == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := l.d.Bye(ctx); err != nil {
				l.conn.log.Debug("sip: hang-up of the person's call failed", "err", err)
			}
		}
		_ = l.d.Close()
		l.conn.finish(errHungUp)
		_ = l.pc.Close()
		l.reading.Wait()
		l.conn.close()
	})
}

// attendedTransfer calls the person at h.Target, whispers the summary to
// them, and puts the caller through: by REFER with Replaces when the
// caller's phone supports it, else by relaying the two calls' RTP. When
// nobody answers, the caller is told so and the session goes on.
func (s *Server) attendedTransfer(ctx context.Context, c *call, h *Handoff) error {
	l, err := s.dial(ctx, c, h.Target)
	if err == nil {
		err = s.whisper(ctx, l, whisperText(h))
		if err != nil {
			s.dropLeg(l)
		}
	}
	if err != nil {
		c.conn.sayFailed()
		return err
	}
	if c.takesReplaces() {
		err := s.refer(ctx, c, replacesTarget(l))
		if err == nil {
			h.Method = MethodReplaces
			c.conn.finish(errTransferred)
			c.hangup()
			// The person's phone ends Hark's call to it once the caller's
			// call replaced it.
			select {
			case <-l.d.Context().Done():
			case <-time.After(replacedWait):
			}
			s.dropLeg(l)
			return nil
		}
		if c.conn.ended() {
			s.dropLeg(l)
			return err
		}
		c.conn.log.Warn("sip: REFER with Replaces failed; relaying the call instead", "err", err)
	}
	if !s.bridge(c, l) {
		s.dropLeg(l)
		return fmt.Errorf("%w: the caller hung up", ErrTransfer)
	}
	h.Method = MethodBridge
	return nil
}

// takesReplaces reports whether the caller's phone said it takes REFER and
// Replaces.
func (c *call) takesReplaces() bool {
	has := func(name, token string) bool {
		for _, hdr := range c.d.InviteRequest.GetHeaders(name) {
			for v := range strings.SplitSeq(hdr.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(v), token) {
					return true
				}
			}
		}
		return false
	}
	return has("Allow", "REFER") && has("Supported", "replaces")
}

// replacesTarget is the Refer-To URI that makes the caller's phone call
// the person and replace Hark's call to them: the person's Contact with a
// Replaces header naming that call as the person's phone sees it (RFC
// 3891 §3: to-tag is its own tag, from-tag Hark's).
func replacesTarget(l *leg) string {
	target := l.d.InviteRequest.Recipient
	if ct := l.d.InviteResponse.Contact(); ct != nil {
		target = ct.Address
	}
	target = *target.Clone()
	target.Headers = nil
	fromTag, _ := l.d.InviteRequest.From().Params.Get("tag")
	toTag, _ := l.d.InviteResponse.To().Params.Get("tag")
	replaces := l.d.InviteRequest.CallID().Value() + ";to-tag=" + toTag + ";from-tag=" + fromTag
	return target.String() + "?Replaces=" + url.QueryEscape(replaces)
}

// dial calls the person at target, offering the caller's codec, and
// returns the answered call. Errors wrap ErrTransfer.
func (s *Server) dial(ctx context.Context, c *call, target string) (*leg, error) {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return nil, fmt.Errorf("%w: target %q: %v", ErrTransfer, target, err)
	}
	pc, err := s.listenRTP()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTransfer, err)
	}
	local := netip.AddrPortFrom(s.cfg.externalIP, uint16(pc.LocalAddr().(*net.UDPAddr).Port))
	caller := c.conn.media
	offer := answerSDP(media{codec: caller.codec, pt: caller.pt, dtmfPT: caller.dtmfPT, dir: dirSendRecv}, local, s.sdpID.Add(1)+rand.Uint64N(1<<40), 1)
	ringCtx, cancel := context.WithTimeoutCause(ctx, s.cfg.att.ring, fmt.Errorf("%w: %s did not answer within %v", ErrTransfer, target, s.cfg.att.ring))
	defer cancel()
	d, err := c.dua.Invite(ringCtx, uri, offer, sip.NewHeader("Content-Type", "application/sdp"))
	if err == nil {
		err = d.WaitAnswer(ringCtx, sipgo.AnswerOptions{})
		if err != nil {
			_ = d.Close()
		}
	}
	if err != nil {
		_ = pc.Close()
		var refused *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &refused):
			return nil, fmt.Errorf("%w: %s answered %d %s", ErrTransfer, target, refused.Res.StatusCode, refused.Res.Reason)
		case ringCtx.Err() != nil && ctx.Err() == nil:
			return nil, context.Cause(ringCtx)
		}
		return nil, fmt.Errorf("%w: calling %s: %v", ErrTransfer, target, err)
	}
	var m media
	var cd coder
	err = d.Ack(ctx)
	if err == nil {
		m, err = answeredMedia(d.InviteResponse.Body(), caller.codec)
	}
	if err == nil {
		cd, err = m.codec.newCoder()
	}
	if err != nil {
		// Answered with media Hark cannot relay: end the call.
		bctx, bcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer bcancel()
		_ = d.Bye(bctx)
		_ = d.Close()
		_ = pc.Close()
		return nil, fmt.Errorf("%w: %s answered: %v", ErrTransfer, target, err)
	}
	callID := d.InviteRequest.CallID().Value()
	info := Call{ID: callID, From: d.InviteRequest.From().Address.String(), To: target, Codec: m.codec, Remote: m.remote, Local: local}
	l := &leg{d: d, pc: pc, conn: newConn(info, &s.cfg, c.conn.log.With("leg", callID), pc, cd, m)}
	l.conn.mute = true
	l.reading.Go(l.conn.readLoop)
	s.mu.Lock()
	s.legs[callID] = l
	s.mu.Unlock()
	c.conn.log.Info("sip: the person answered", "to", target, "call", callID)
	return l, nil
}

// answeredMedia reads the person's SDP answer, which must take codec.
func answeredMedia(body []byte, codec Codec) (media, error) {
	ans, err := parseOffer(body)
	if err != nil {
		return media{}, err
	}
	return negotiate(ans, []Codec{codec})
}

// dropLeg hangs up the person's call and forgets it.
func (s *Server) dropLeg(l *leg) {
	l.hangup()
	s.mu.Lock()
	delete(s.legs, l.conn.call.ID)
	s.mu.Unlock()
}

func (s *Server) lookupLeg(req *sip.Request) *leg {
	h := req.CallID()
	if h == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[h.Value()]
}

// whisperText is what the person hears before the caller is put through.
func whisperText(h *Handoff) string {
	if h.Summary != "" {
		return h.Summary
	}
	var b strings.Builder
	reason := strings.TrimSpace(h.Reason)
	if reason == "" {
		reason = "the agent handed the call over"
	}
	b.WriteString("Handed over: " + reason + ".")
	for _, l := range h.Transcript[max(0, len(h.Transcript)-4):] {
		who := "The caller said"
		if l.Role == "agent" {
			who = "The agent said"
		}
		b.WriteString(" " + who + ": " + l.Text)
	}
	return b.String()
}

// whisper says text to the person alone, paced in real time, and returns
// once it has played.
func (s *Server) whisper(ctx context.Context, l *leg, text string) error {
	tts := s.cfg.att.whisper
	if tts == nil || strings.TrimSpace(text) == "" {
		return nil
	}
	f := l.conn.OutputFormat()
	n := f.Samples(frameDuration)
	conv := resample.NewConverter(f)
	var buf []int16
	var said time.Duration
	write := func(samples []int16) error {
		said += f.Duration(len(samples))
		if err := l.conn.WriteAudio(ctx, pcm.Frame{Format: f, Samples: samples}); err != nil {
			return fmt.Errorf("%w: whisper: %v", ErrTransfer, err)
		}
		return nil
	}
	for fr, err := range tts.Synthesize(ctx, pipeline.SpeechRequest{Text: text}) {
		if err != nil {
			return fmt.Errorf("%w: whisper: %v", ErrTransfer, err)
		}
		if buf, err = conv.Convert(buf, fr); err != nil {
			return fmt.Errorf("%w: whisper: %v", ErrTransfer, err)
		}
		whole := len(buf) / n * n
		if err := write(buf[:whole]); err != nil {
			return err
		}
		buf = buf[:copy(buf, buf[whole:])]
		if said >= maxWhisper {
			break
		}
	}
	if len(buf) > 0 {
		if err := write(buf); err != nil {
			return err
		}
	}
	// WriteAudio runs up to paceLead ahead of the clock.
	t := time.NewTimer(paceLead + frameDuration)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrTransfer, context.Cause(ctx))
	case <-l.d.Context().Done():
		return fmt.Errorf("%w: the person hung up during the whisper", ErrTransfer)
	}
	return nil
}

// sayer is a session that can speak a notice (*agent.Session).
type sayer interface {
	Say(text string, opts ...agent.SayOption)
}

// sayFailed tells the caller that nobody took the call.
func (c *Conn) sayFailed() {
	if c.ended() {
		return
	}
	if s, ok := c.sess.(sayer); ok {
		s.Say(c.cfg.att.sorry)
		return
	}
	c.log.Warn("sip: the session cannot say that the hand-off failed (it has no Say method)")
}

// ended reports whether the call has ended.
func (c *Conn) ended() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// bridge relays the RTP of the caller's call and the person's, and ends
// the session: the agent is out of the audio. The call's handler keeps
// both calls up until one side hangs up.
// It reports false if the call had ended already.
func (s *Server) bridge(c *call, l *leg) bool {
	c.leg.Store(l)
	c.conn.peer.Store(l.conn)
	l.conn.peer.Store(c.conn)
	if !c.conn.finish(errBridged) {
		c.conn.peer.Store(nil)
		l.conn.peer.Store(nil)
		c.leg.Store(nil)
		return false
	}
	c.conn.log.Info("sip: caller and person bridged", "person", l.conn.call.ID)
	return true
}

// holdBridge waits until the caller or the person hangs up (or ctx ends),
// then hangs up the other.
func (s *Server) holdBridge(ctx context.Context, c *call, l *leg) {
	select {
	case <-ctx.Done():
	case <-c.d.Context().Done():
	case <-l.d.Context().Done():
	}
	c.conn.log.Info("sip: bridged call ended")
	s.dropLeg(l)
	c.hangup()
}

// relay sends a packet received on the peer call: same payload, our
// SSRC, and sequence numbers and timestamps that continue our stream (a
// new source starts a talkspurt at the wall-clock timestamp).
func (c *Conn) relay(h rtpHeader, pt uint8, payload []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.relaying || h.ssrc != c.relaySSRC {
		ts := c.ts0 + uint32(int64(time.Since(c.start))*int64(c.media.codec.clock)/int64(time.Second))
		if c.sent && int32(ts-c.nextTS) < 0 {
			ts = c.nextTS
		}
		c.relaying, c.relaySSRC = true, h.ssrc
		c.seqOff, c.tsOff = c.seq-h.seq, ts-h.ts
		h.marker = true
	}
	out := rtpHeader{marker: h.marker, pt: pt, seq: h.seq + c.seqOff, ts: h.ts + c.tsOff, ssrc: c.ssrc}
	if int16(out.seq-c.seq) >= 0 {
		c.seq = out.seq + 1
	}
	if int32(out.ts-c.nextTS) >= 0 {
		c.nextTS = out.ts + c.media.codec.frameTicks()
	}
	c.sent, c.inSpurt, c.sentAt = true, false, time.Now()
	if c.media.dir == dirRecvOnly || c.media.dir == dirInactive {
		return // on hold
	}
	c.pkt = appendRTP(c.pkt[:0], out, payload)
	if _, err := c.pc.WriteToUDPAddrPort(c.pkt, *c.remote.Load()); err != nil {
		c.log.Debug("sip: RTP relay failed", "err", err)
	}
}
