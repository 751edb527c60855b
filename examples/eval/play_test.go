package main

import (
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
)

// output returns 20 ms agent frames from t0, audible until quietAt.
func output(t0, quietAt time.Time, n int) []agenttest.Output {
	var out []agenttest.Output
	for i := range n {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		out = append(out, agenttest.Output{At: at, Audible: at.Before(quietAt)})
	}
	return out
}

func TestJudgeBargeIn(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	cancel := func(at time.Time) []timedEvent {
		return []timedEvent{{at, agent.Event{Type: agent.EventInterruption, Interruption: &agent.Interruption{Cancelled: true}}}}
	}
	pause := func(at time.Time) timedEvent {
		return timedEvent{at, agent.Event{Type: agent.EventInterruption, Interruption: &agent.Interruption{}}}
	}
	resume := func(at time.Time) timedEvent { return timedEvent{at, agent.Event{Type: agent.EventResumed}} }
	sc := agenttest.Scenario{Name: "x", Expect: agenttest.ExpectBargeIn}
	tests := []struct {
		name          string
		evs           []timedEvent
		clips         []clipTimes
		ok            bool
		delay, early  float64
		outcome, text string
	}{
		{"after the onset", cancel(ms(2080)), []clipTimes{{ms(1900), ms(2000)}}, true, 100, 0, "cancelled", "onset to silence 100 ms"},
		{"VAD before the onset", cancel(ms(1960)), []clipTimes{{ms(1900), ms(2000)}}, true, -20, 40, "cancelled", "onset to silence -20 ms, VAD 40 ms before the onset"},
		{"paused, then cancelled", append([]timedEvent{pause(ms(2080))}, cancel(ms(2500))...), []clipTimes{{ms(1900), ms(2000)}}, true, 0, 0, "cancelled", ""},
		{"cancelled before the interrupting clip", cancel(ms(1500)), []clipTimes{{ms(0), ms(100)}, {ms(1900), ms(2000)}}, false, 0, 0, "cancelled-early", "cancelled 400 ms before the interrupting clip started"},
		{"background paused and resumed, then the user", append([]timedEvent{pause(ms(800)), resume(ms(1400))}, cancel(ms(3100))...), []clipTimes{{ms(0), ms(100)}, {ms(2900), ms(3000)}}, true, 120, 0, "cancelled", "onset to silence 120 ms"},
		{"resumed", []timedEvent{pause(ms(2080)), resume(ms(2600))}, []clipTimes{{ms(1900), ms(2000)}}, false, 0, 0, "resumed", ""},
		{"missed", nil, []clipTimes{{ms(1900), ms(2000)}}, false, 0, 0, "missed", "the agent kept talking"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			quiet := ms(4000)
			if n := len(tt.evs); n > 0 && tt.outcome != "resumed" {
				quiet = tt.evs[n-1].at.Add(40 * time.Millisecond)
				if n > 1 && tt.evs[n-2].ev.Type == agent.EventInterruption {
					quiet = tt.evs[n-2].at.Add(40 * time.Millisecond)
				}
			}
			res := result{}
			judge(&res, sc, tt.evs, output(t0, quiet, 250), tt.clips)
			if res.OK != tt.ok || res.Outcome != tt.outcome || res.EarlyMS != tt.early || (tt.text != "" && res.Detail != tt.text) {
				t.Fatalf("judge = %+v", res)
			}
			if tt.delay != 0 && res.DelayMS != tt.delay {
				t.Fatalf("delay %v ms, want %v", res.DelayMS, tt.delay)
			}
		})
	}
}

func TestSummariseRepeats(t *testing.T) {
	rs := []result{
		{Name: "stop", Expect: agenttest.ExpectBargeIn, Outcome: "cancelled", OK: true, DelayMS: 100},
		{Name: "stop", Expect: agenttest.ExpectBargeIn, Outcome: "missed", Detail: "the agent kept talking"},
		{Name: "stop", Expect: agenttest.ExpectBargeIn, Outcome: "cancelled", OK: true, DelayMS: 140, EarlyMS: 20},
		{Name: "mm", Expect: agenttest.ExpectNoBargeIn, Outcome: "paused-resumed", OK: true, PauseMS: 600},
		{Name: "mm", Expect: agenttest.ExpectNoBargeIn, Outcome: "false-bargein"},
		{Name: "mm", Expect: agenttest.ExpectNoBargeIn, Outcome: "kept-talking", OK: true},
	}
	s := summarise(rs, 3)
	if s.Scenarios != 2 || s.Passed != 4 || s.Missed != 1 || s.False != 1 || s.Early != 1 || s.DelayMaxMS != 140 {
		t.Fatalf("summary %+v", s)
	}
	stop := s.PerScene[0]
	if stop.Name != "stop" || stop.Runs != 3 || stop.Passed != 2 || stop.Outcomes["cancelled"] != 2 || stop.Detail != "the agent kept talking" {
		t.Fatalf("stop: %+v", stop)
	}
	if mm := s.PerScene[1]; mm.PassRate != 2.0/3 || len(mm.PauseMS) != 1 {
		t.Fatalf("mm: %+v", mm)
	}
}
