package livekit

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/transport"
)

func TestSlots(t *testing.T) {
	t0 := time.Unix(0, 0)
	type step struct {
		op   string // offer, assign, finish, expire, drain
		id   string
		at   time.Duration
		want bool     // offer, assign
		gone []string // expire
		load float32
		jobs int
		full bool
	}
	tests := []struct {
		name  string
		max   int
		steps []step
	}{
		{"offer, assign, finish", 2, []step{
			{op: "offer", id: "a", want: true, load: 0.35},
			{op: "assign", id: "a", want: true, load: 0.35, jobs: 1},
			{op: "offer", id: "b", want: true, load: 1, jobs: 1, full: true},
			{op: "offer", id: "c", want: false, load: 1, jobs: 1, full: true},
			{op: "finish", id: "a", load: 0.35},
			{op: "assign", id: "b", want: true, load: 0.35, jobs: 1},
		}},
		{"assignment never offered is refused", 2, []step{
			{op: "assign", id: "x", want: false},
		}},
		{"same job offered twice", 2, []step{
			{op: "offer", id: "a", want: true, load: 0.35},
			{op: "offer", id: "a", want: false, load: 0.35},
		}},
		{"stale offers expire", 1, []step{
			{op: "offer", id: "a", want: true, load: 1, full: true},
			{op: "expire", at: 10 * time.Second, load: 1, full: true},
			{op: "expire", at: 30 * time.Second, gone: []string{"a"}},
			{op: "assign", id: "a", want: false},
		}},
		{"draining takes nothing new, keeps running jobs", 3, []step{
			{op: "offer", id: "a", want: true, load: 0.7 / 3},
			{op: "assign", id: "a", want: true, load: 0.7 / 3, jobs: 1},
			{op: "drain", load: 1, jobs: 1, full: true},
			{op: "offer", id: "b", want: false, load: 1, jobs: 1, full: true},
			{op: "finish", id: "a", load: 1, full: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSlots(tt.max)
			for i, st := range tt.steps {
				var got bool
				switch st.op {
				case "offer":
					got = s.offer(st.id, t0.Add(st.at))
				case "assign":
					got = s.assign(st.id)
				case "finish":
					s.finish(st.id)
				case "drain":
					s.drain()
				case "expire":
					if gone := s.expire(t0.Add(st.at), offerTTL); !slices.Equal(gone, st.gone) {
						t.Fatalf("step %d: expired %v, want %v", i, gone, st.gone)
					}
				}
				if (st.op == "offer" || st.op == "assign") && got != st.want {
					t.Fatalf("step %d: %s(%s) = %v, want %v", i, st.op, st.id, got, st.want)
				}
				load, jobs, full := s.status()
				if d := load - st.load; d > 1e-6 || d < -1e-6 || jobs != st.jobs || full != st.full {
					t.Fatalf("step %d: status %v %d %v, want %v %d %v", i, load, jobs, full, st.load, st.jobs, st.full)
				}
			}
		})
	}
}

func TestRouter(t *testing.T) {
	tr := func(seg string, agent, final bool, text string) *transcript {
		return &transcript{segment: seg, agent: agent, final: final, text: text}
	}
	events := []struct {
		ev   transport.Event
		want output
	}{
		{transport.Event{Type: transport.EventState, State: transport.StateUserSpeaking}, output{state: "listening"}},
		{transport.Event{Type: transport.EventUserPartial, Text: "where is"}, output{text: tr("user-0", false, false, "where is")}},
		{transport.Event{Type: transport.EventUserFinal, Text: "where is my order"}, output{text: tr("user-0", false, true, "where is my order")}},
		{transport.Event{Type: transport.EventState, State: transport.StateThinking}, output{state: "thinking"}},
		{transport.Event{Type: transport.EventState, State: transport.StateSpeaking}, output{state: "speaking"}},
		{transport.Event{Type: transport.EventAgentText, Turn: 1, Text: "It shipped."}, output{text: tr("agent-1", true, false, "It shipped.")}},
		{transport.Event{Type: transport.EventAgentText, Turn: 1, Text: " It arrives Friday. "}, output{text: tr("agent-1", true, false, "It shipped. It arrives Friday.")}},
		// Paused only: nothing yet.
		{transport.Event{Type: transport.EventInterruption, Turn: 1, Interruption: &transport.Interruption{Heard: "It shipped. It"}}, output{}},
		{transport.Event{Type: transport.EventInterruption, Turn: 1, Interruption: &transport.Interruption{Heard: "It shipped. It", Cancelled: true}},
			output{text: tr("agent-1", true, true, "It shipped. It")}},
		// The reply is closed: a late done changes nothing.
		{transport.Event{Type: transport.EventAgentDone, Turn: 1, Text: "It shipped. It arrives Friday."}, output{}},
		{transport.Event{Type: transport.EventUserFinal, Text: "stop"}, output{text: tr("user-1", false, true, "stop")}},
		{transport.Event{Type: transport.EventAgentText, Turn: 2, Text: "Okay."}, output{text: tr("agent-2", true, false, "Okay.")}},
		{transport.Event{Type: transport.EventAgentDone, Turn: 2, Text: "Okay."}, output{text: tr("agent-2", true, true, "Okay.")}},
		{transport.Event{Type: transport.EventMetrics, Turn: 2}, output{}},
		{transport.Event{Type: transport.EventState, State: transport.StateListening}, output{state: "listening"}},
	}
	var r router
	for i, e := range events {
		got := r.route(e.ev)
		if got.state != e.want.state || (got.text == nil) != (e.want.text == nil) || got.text != nil && *got.text != *e.want.text {
			t.Fatalf("event %d (%s): got %+v %+v, want %+v %+v", i, e.ev.Type, got, got.text, e.want, e.want.text)
		}
	}
}

func TestSweeper(t *testing.T) {
	t0 := time.Unix(0, 0)
	s := newSweeper(3 * time.Second)
	orphan := roomView{name: "a", callers: 1}
	served := roomView{name: "b", callers: 1, agents: 1}
	empty := roomView{name: "c"}
	handedOver := roomView{name: "d", callers: 1, operators: 1} // the agent left it to a person
	steps := []struct {
		at    time.Duration
		rooms []roomView
		want  []string
	}{
		{0, []roomView{orphan, served, empty, handedOver}, nil},               // first seen
		{2 * time.Second, []roomView{orphan, served, empty, handedOver}, nil}, // within grace
		{3 * time.Second, []roomView{orphan, served, empty, handedOver}, []string{"a"}},
		{4 * time.Second, []roomView{orphan}, nil},                             // just dispatched
		{6 * time.Second, []roomView{orphan}, []string{"a"}},                   // still none: again
		{7 * time.Second, []roomView{{name: "a", callers: 1, agents: 1}}, nil}, // served: forgotten
		{8 * time.Second, []roomView{orphan}, nil},                             // orphaned anew: grace again
		{11 * time.Second, []roomView{orphan}, []string{"a"}},
	}
	for i, st := range steps {
		if got := s.next(t0.Add(st.at), st.rooms); !slices.Equal(got, st.want) {
			t.Fatalf("step %d: %v, want %v", i, got, st.want)
		}
	}
}

func TestNewWorkerErrors(t *testing.T) {
	ok := func(Job, *Conn) (Session, error) { return nil, nil }
	tests := []struct {
		name string
		url  string
		fn   NewSessionFunc
		opts []Option
	}{
		{"bad scheme", "ftp://x", ok, nil},
		{"no host", "ws://", ok, nil},
		{"nil session func", "ws://x", nil, nil},
		{"max jobs", "ws://x", ok, []Option{WithMaxJobs(0)}},
		{"ping", "ws://x", ok, []Option{WithPingInterval(0)}},
		{"sweep without a name", "ws://x", ok, []Option{WithRoomSweep(time.Second, 0)}},
		{"sweep interval", "ws://x", ok, []Option{WithAgentName("a"), WithRoomSweep(0, 0)}},
		{"nil logger", "ws://x", ok, []Option{WithLogger(nil)}},
		{"empty name", "ws://x", ok, []Option{WithParticipantName("")}},
		{"hand-off mode", "ws://x", ok, []Option{WithHandoff(0, nil)}},
		{"operator page scheme", "ws://x", ok, []Option{WithOperatorPage("ftp://x/")}},
		{"operator page host", "ws://x", ok, []Option{WithOperatorPage("http:///op")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewWorker(tt.url, "k", "s", tt.fn, tt.opts...); !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
	if _, err := NewWorker("ws://x", "", "s", ok); !errors.Is(err, ErrConfig) {
		t.Errorf("missing key: %v", err)
	}
}

func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:7880":              "ws://127.0.0.1:7880",
		"http://127.0.0.1:7880/":           "ws://127.0.0.1:7880",
		"https://my-project.livekit.cloud": "wss://my-project.livekit.cloud",
		"wss://host/base?x=1":              "wss://host/base",
	} {
		if got, err := wsURL(in); err != nil || got != want {
			t.Errorf("wsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParticipantIdentityOrder(t *testing.T) {
	early := participantIdentity(time.UnixMilli(999), "AJ_zzz")
	late := participantIdentity(time.UnixMilli(1000), "AJ_aaa")
	if !(early < late) {
		t.Errorf("%q does not sort before %q", early, late)
	}
}

func TestHandoffSummary(t *testing.T) {
	events := []transport.Event{
		{Type: transport.EventState, State: transport.StateSpeaking},
		{Type: transport.EventUserFinal, Text: "where is my order"},
		{Type: transport.EventAgentText, Text: "It shipped"},
		{Type: transport.EventAgentDone, Text: "It shipped yesterday."},
		{Type: transport.EventUserFinal, Text: "  "}, // no words: left out
		{Type: transport.EventInterruption, Interruption: &transport.Interruption{Heard: "Let me"}},
		{Type: transport.EventInterruption, Interruption: &transport.Interruption{Heard: "Let me", Cancelled: true}},
		{Type: transport.EventUserFinal, Text: "let me talk to a person"},
		{Type: transport.EventHandoff, Text: "asked for a person"},
	}
	var h history
	for _, ev := range events {
		h.add(ev)
	}
	want := "Reason: asked for a person\n" +
		"Caller: where is my order\n" +
		"Agent: It shipped yesterday.\n" +
		"Agent: Let me (interrupted)\n" +
		"Caller: let me talk to a person"
	if got := h.summary("asked for a person", ""); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
	if got, want := h.summary("asked for a person", " Late parcel; wants a refund. "), want+"\nSummary: Late parcel; wants a refund."; got != want {
		t.Errorf("with the session's summary:\n%s\nwant:\n%s", got, want)
	}
	if got := (&history{}).summary("", ""); got != "Reason: the agent handed the call over" {
		t.Errorf("empty summary %q", got)
	}

	// Only the latest turns are kept.
	var long history
	for i := range maxSummaryTurns + 5 {
		long.add(transport.Event{Type: transport.EventUserFinal, Text: fmt.Sprint("turn ", i)})
	}
	lines := strings.Split(long.summary("r", ""), "\n")
	if len(lines) != maxSummaryTurns+1 || lines[1] != "Caller: turn 5" {
		t.Errorf("long summary: %d lines, first turn %q", len(lines), lines[1])
	}
}
