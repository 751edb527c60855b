package livekit

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/livekit/protocol/auth"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/harkvoice/hark/agent/transport"
)

// HandoffMode is what the agent does once the person it handed the call to
// has joined the room.
type HandoffMode int

const (
	// HandoffQuiet keeps the agent in the room, silent: it unpublishes its
	// audio track, cancels the reply it was speaking and no longer hears
	// the caller. It leaves when the caller does.
	HandoffQuiet HandoffMode = iota + 1
	// HandoffLeave reports the job successful and leaves the room to the
	// caller and the person.
	HandoffLeave
)

func (m HandoffMode) String() string {
	switch m {
	case HandoffQuiet:
		return "quiet"
	case HandoffLeave:
		return "leave"
	}
	return fmt.Sprintf("HandoffMode(%d)", int(m))
}

// Handoff describes a call the agent handed to a person (a session's
// EventHandoff). The worker gives it to the function set with WithHandoff,
// which pages an operator with PageURL (or ServerURL and Token).
type Handoff struct {
	Job Job
	// Reason is why the session asked for a person.
	Reason string
	// Summary is the conversation so far for the person taking over: the
	// reason, then the caller's and the agent's turns.
	Summary string
	// Operator is the identity the person joins the room with; Token is a
	// join token for it (valid one hour), ServerURL the server's URL.
	Operator, Token, ServerURL string
	// PageURL opens the operator page (WithOperatorPage) on this room, the
	// server URL and token in its fragment; empty without the option.
	PageURL string
}

// Names of the hand-off in the room.
const (
	// TopicHandoff is the text stream topic on which the agent sends the
	// hand-off summary to the operator when it joins.
	TopicHandoff = "hark.handoff"
	// AttrHandoff is the agent participant's attribute holding the
	// hand-off summary from the hand-off on, so that an operator sees it
	// as soon as it joins.
	AttrHandoff = "hark.handoff"
	// AttrRole is the participant attribute the operator's token sets to
	// RoleOperator.
	AttrRole = "hark.role"
	// RoleOperator marks the person a call was handed to.
	RoleOperator = "operator"
)

// operatorTokenTTL is how long an operator's join token is valid.
const operatorTokenTTL = time.Hour

// maxSummaryTurns bounds the turns a summary lists (the latest ones).
const maxSummaryTurns = 20

// WithHandoff makes the worker hand calls to people: when a session emits
// EventHandoff (a tool returned agent.Handoff), the agent puts the summary
// of the call in its AttrHandoff attribute, mints a join token for an
// operator (attribute AttrRole=RoleOperator) and calls notify with both
// (on a goroutine of its own; it may block). When the operator joins, the
// agent sends it the summary on TopicHandoff and on lk.chat (which
// LiveKit's chat components show), then goes quiet or leaves as mode says.
// Until the operator comes, the session goes on. notify may be nil.
func WithHandoff(mode HandoffMode, notify func(Handoff)) Option {
	return func(c *config) error {
		if mode != HandoffQuiet && mode != HandoffLeave {
			return fmt.Errorf("%w: hand-off mode %v", ErrConfig, mode)
		}
		c.handoffMode, c.handoffNotify = mode, notify
		return nil
	}
}

// WithOperatorPage sets the URL at which operators reach OperatorHandler;
// each Handoff then carries a PageURL that joins its room.
func WithOperatorPage(pageURL string) Option {
	return func(c *config) error {
		u, err := url.Parse(pageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: operator page URL %q", ErrConfig, pageURL)
		}
		c.operatorPage = pageURL
		return nil
	}
}

// history keeps the latest turns of a call for the hand-off summary. It is
// a plain type fed one event at a time.
type history struct {
	lines []string
}

func (h *history) add(ev transport.Event) {
	var line string
	switch ev.Type {
	case transport.EventUserFinal:
		line = "Caller: " + ev.Text
	case transport.EventAgentDone:
		line = "Agent: " + ev.Text
	case transport.EventInterruption:
		if ev.Interruption == nil || !ev.Interruption.Cancelled || ev.Interruption.Heard == "" {
			return
		}
		line = "Agent: " + ev.Interruption.Heard + " (interrupted)"
	default:
		return
	}
	if strings.TrimSpace(line[strings.IndexByte(line, ':')+1:]) == "" {
		return
	}
	h.lines = append(h.lines, line)
	if len(h.lines) > maxSummaryTurns {
		h.lines = h.lines[len(h.lines)-maxSummaryTurns:]
	}
}

// summary returns the hand-off summary: the reason, the turns, then the
// session's own summary (written by the model or from its history), if any.
func (h *history) summary(reason, session string) string {
	var b strings.Builder
	if reason = strings.TrimSpace(reason); reason == "" {
		reason = "the agent handed the call over"
	}
	b.WriteString("Reason: " + reason)
	for _, l := range h.lines {
		b.WriteString("\n" + l)
	}
	if session = strings.TrimSpace(session); session != "" {
		b.WriteString("\nSummary: " + session)
	}
	return b.String()
}

// handoffState is where a Conn is in a hand-off.
type handoffState int

const (
	handoffNone    handoffState = iota
	handoffWaiting              // the operator was paged
	handoffDone                 // the operator joined and the agent went quiet or left
)

// startHandoff acts on the session's EventHandoff (from the event pump):
// it publishes the summary, mints the operator's token and pages it.
func (c *Conn) startHandoff(ev transport.Event, h *history) {
	if c.cfg.handoffMode == 0 {
		return
	}
	c.sessMu.Lock()
	if c.handoff != handoffNone {
		c.sessMu.Unlock()
		return
	}
	op, summary := "operator-"+c.job.ID, h.summary(ev.Text, ev.Summary)
	c.handoff, c.operator, c.summary = handoffWaiting, op, summary
	c.sessMu.Unlock()

	c.room.LocalParticipant.SetAttributes(map[string]string{AttrHandoff: summary})
	tok, err := auth.NewAccessToken(c.cfg.apiKey, c.cfg.apiSecret).
		SetIdentity(op).SetName("Operator").
		SetAttributes(map[string]string{AttrRole: RoleOperator}).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: c.job.Room}).
		SetValidFor(operatorTokenTTL).ToJWT()
	if err != nil {
		c.log.Error("livekit: operator token", "err", err)
		return
	}
	ho := Handoff{Job: c.job, Reason: ev.Text, Summary: summary, Operator: op, Token: tok, ServerURL: c.serverURL}
	if c.cfg.operatorPage != "" {
		ho.PageURL = c.cfg.operatorPage + "#" + url.Values{"url": {c.serverURL}, "token": {tok}}.Encode()
	}
	c.log.Info("livekit: call handed off; waiting for the operator", "operator", op, "reason", ev.Text)
	if notify := c.cfg.handoffNotify; notify != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			notify(ho)
		}()
	}
}

// onJoin reacts to a participant joining: another agent of this name (see
// checkDuplicate) or the operator the call was handed to.
func (c *Conn) onJoin(rp *lksdk.RemoteParticipant) {
	c.checkDuplicate()
	c.sessMu.Lock()
	waiting := c.handoff == handoffWaiting && rp.Identity() == c.operator
	c.sessMu.Unlock()
	if waiting {
		select {
		case c.operatorIn <- struct{}{}:
		default:
		}
	}
}

// takeOver runs (on the event pump) once the operator joined: the summary
// goes to it, then the agent goes quiet or leaves. It reports whether the
// pump goes on.
func (c *Conn) takeOver() bool {
	c.sessMu.Lock()
	if c.handoff != handoffWaiting {
		c.sessMu.Unlock()
		return true
	}
	c.handoff = handoffDone
	op, summary, sess := c.operator, c.summary, c.session
	c.sessMu.Unlock()
	c.log.Info("livekit: the operator joined", "operator", op, "mode", c.cfg.handoffMode)

	lp := c.room.LocalParticipant
	sent := make(chan struct{}, 2)
	for _, topic := range []string{TopicHandoff, TopicChat} {
		w := lp.StreamText(lksdk.StreamTextOptions{Topic: topic, DestinationIdentities: []string{op}})
		done := func() {
			w.Close()
			sent <- struct{}{}
		}
		w.Write(summary, &done)
	}
	// Quiet: no more audio either way. Cancel the reply being spoken.
	c.wmu.Lock()
	c.quiet = true
	sid := c.trSID
	c.wmu.Unlock()
	if sess != nil {
		sess.Interrupt()
	}
	for range 2 {
		select {
		case <-sent:
		case <-c.done:
			return false
		case <-time.After(5 * time.Second):
			c.log.Warn("livekit: hand-off summary not sent in 5 s")
		}
	}
	if c.cfg.handoffMode == HandoffLeave {
		c.end(ErrHandedOff)
		return false
	}
	if err := lp.UnpublishTrack(sid); err != nil {
		c.log.Warn("livekit: unpublish the agent's track", "err", err)
	}
	return true
}

// isOperator reports whether rp joined with an operator's token.
func isOperator(rp *lksdk.RemoteParticipant) bool {
	return rp.Attributes()[AttrRole] == RoleOperator
}
