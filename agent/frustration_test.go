package agent

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/pipeline"
)

func TestEscalationWordLists(t *testing.T) {
	ew := escalationWordLists()
	for _, lang := range []string{"en", "es", "de", "fr", "zh"} {
		for name, ps := range map[string]phraseSet{"cues": ew.cues, "person": ew.person, "consent": ew.consent, "decline": ew.decline} {
			if len(ps[lang]) == 0 {
				t.Errorf("%s: no %s", lang, name)
			}
		}
	}
}

func TestScoreWords(t *testing.T) {
	tests := []struct {
		lang, text string
		level      string
		cues       []string // each must be among the score's cues
		person     bool
	}{
		{"en", "Where is my order?", LevelCalm, nil, false},
		{"en", "Damn.", LevelCalm, []string{"cue:damn"}, false},
		{"en", "This is ridiculous, the app is useless!", LevelElevated, []string{"cue:ridiculous", "cue:useless"}, false},
		{"en", "I already told you, this is ridiculous and a waste of time", LevelHigh, []string{"cue:i already told you"}, false},
		{"en", "Can I talk to a human please", LevelElevated, []string{"person"}, true},
		{"en", "Get me an operator, this is useless, I'm fed up", LevelHigh, []string{"person", "cue:useless", "cue:fed up"}, true},
		{"es", "¿Dónde está mi pedido?", LevelCalm, nil, false},
		{"es", "Esto es ridículo, no funciona", LevelElevated, []string{"cue:ridículo", "cue:no funciona"}, false},
		{"es", "Quiero hablar con un agente", LevelElevated, []string{"person"}, true},
		{"de", "Wo ist meine Bestellung?", LevelCalm, nil, false},
		{"de", "Das ist lächerlich, es funktioniert nicht!", LevelElevated, []string{"cue:lächerlich", "cue:funktioniert nicht"}, false},
		{"de", "Ich möchte mit einem Mitarbeiter sprechen", LevelElevated, []string{"person"}, true},
		{"fr", "Où est ma commande ?", LevelCalm, nil, false},
		{"fr", "C'est ridicule, ça ne marche pas", LevelElevated, []string{"cue:ridicule", "cue:ça ne marche pas"}, false},
		{"fr", "Je veux parler à un conseiller", LevelElevated, []string{"person"}, true},
		{"zh", "我的订单在哪里？", LevelCalm, nil, false},
		{"zh", "太烦了，还是不行", LevelElevated, []string{"cue:太烦", "cue:还是不行"}, false},
		{"zh", "转人工", LevelElevated, []string{"person"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.lang+" "+tc.text, func(t *testing.T) {
			e := newEscalator(defaultEscalation())
			s := e.sc.score(tc.text, tc.lang, nil)
			if got := e.level(s.Score); got != tc.level {
				t.Errorf("score %.2f (%v) is %s, want %s", s.Score, s.Cues, got, tc.level)
			}
			for _, c := range tc.cues {
				if !slices.Contains(s.Cues, c) {
					t.Errorf("cues %v lack %q", s.Cues, c)
				}
			}
			if s.person != tc.person {
				t.Errorf("person %v, want %v", s.person, tc.person)
			}
			if s.Voice != 0 {
				t.Errorf("a typed turn has voice %v", s.Voice)
			}
		})
	}
}

func TestScoreRepeat(t *testing.T) {
	var s scorer
	if got := s.score("I want to cancel my order", "en", nil); slices.Contains(got.Cues, "repeat") {
		t.Errorf("first request: %v", got.Cues)
	}
	s.score("Yes", "en", nil)
	got := s.score("I said I want to cancel my order!", "en", nil)
	if !slices.Contains(got.Cues, "repeat") || got.Words < repeatWeight {
		t.Errorf("request said again: %+v", got)
	}
	if got := s.score("Thanks, bye", "en", nil); slices.Contains(got.Cues, "repeat") {
		t.Errorf("a new request: %v", got.Cues)
	}
}

// calmVoice is a turn of 2 s at about 120 Hz, -30 dBFS, 2.5 words per
// second for 5 words, varied a little by i.
func calmVoice(i int) *voiceTurn {
	return &voiceTurn{pitch: 120 + float64(i%3)*3, level: -30 + float64(i%2), active: 2 * time.Second}
}

func TestScoreVoice(t *testing.T) {
	const words5 = "the parcel came on monday"
	baseline := []string{"hello I need some help", "my order number is twelve", "it should have arrived already"}
	tests := []struct {
		name   string
		v      voiceTurn
		text   string
		level  string
		cues   []string
		silent []string // cues that must not be there
	}{
		{"calm", voiceTurn{pitch: 122, level: -30, active: 2 * time.Second}, words5, LevelCalm, nil, []string{"pitch", "level", "rate"}},
		{"raised pitch", voiceTurn{pitch: 170, level: -30, active: 2 * time.Second}, words5, LevelCalm, []string{"pitch"}, []string{"level", "rate"}},
		{"louder", voiceTurn{pitch: 121, level: -18, active: 2 * time.Second}, words5, LevelCalm, []string{"level"}, []string{"pitch"}},
		{"faster", voiceTurn{pitch: 121, level: -30, active: 1 * time.Second}, words5, LevelCalm, []string{"rate"}, []string{"pitch", "level"}},
		{"agitated", voiceTurn{pitch: 175, level: -17, active: time.Second}, words5, LevelHigh, []string{"pitch", "level", "rate"}, nil},
		{"agitated and cross", voiceTurn{pitch: 175, level: -17, active: 1600 * time.Millisecond}, "this is ridiculous, it is not working", LevelHigh, []string{"pitch", "level", "cue:ridiculous"}, nil},
		{"quieter and lower", voiceTurn{pitch: 90, level: -45, active: 4 * time.Second}, words5, LevelCalm, nil, []string{"pitch", "level", "rate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEscalator(defaultEscalation())
			// The first turns set the baseline and score no voice.
			for i, text := range baseline {
				if s := e.sc.score(text, "en", calmVoice(i)); s.Voice != 0 {
					t.Fatalf("baseline turn %d: voice %v", i, s.Voice)
				}
			}
			s := e.sc.score(tc.text, "en", &tc.v)
			if got := e.level(s.Score); got != tc.level {
				t.Errorf("score %.2f (voice %.2f, %v) is %s, want %s", s.Score, s.Voice, s.Cues, got, tc.level)
			}
			for _, c := range tc.cues {
				if !slices.Contains(s.Cues, c) {
					t.Errorf("cues %v lack %q", s.Cues, c)
				}
			}
			for _, c := range tc.silent {
				if slices.Contains(s.Cues, c) {
					t.Errorf("cues %v have %q", s.Cues, c)
				}
			}
		})
	}
}

func TestBaselineSkipsFrustratedTurns(t *testing.T) {
	e := newEscalator(defaultEscalation())
	for i := range 3 {
		e.sc.score("one two three four five", "en", calmVoice(i))
	}
	loud := &voiceTurn{pitch: 175, level: -17, active: time.Second}
	first := e.sc.score("one two three four five", "en", loud)
	// Shouting on does not become the user's normal voice.
	var last scored
	for range 5 {
		e.sc.recent = nil // not a repeated request
		last = e.sc.score("one two three four five", "en", loud)
	}
	if last.Voice < first.Voice {
		t.Errorf("voice score fell from %.2f to %.2f while the user kept shouting", first.Voice, last.Voice)
	}
	if len(e.sc.level) != 3 {
		t.Errorf("baseline has %d turns, want the 3 calm ones", len(e.sc.level))
	}
}

func defaultEscalation() Escalation {
	var c config
	if err := WithEscalation(Escalation{})(&c); err != nil {
		panic(err)
	}
	return *c.escalation
}

func TestEscalator(t *testing.T) {
	type turn struct {
		text string
		act  escalationAct
	}
	const (
		calm  = "where is my parcel"
		cross = "this is ridiculous and useless"          // elevated by words
		high  = "this is ridiculous, useless, I'm fed up" // and a repeat makes it high
	)
	tests := []struct {
		name  string
		turns []turn
	}{
		{"calm", []turn{{calm, escNone}, {"it was order 1234", escNone}}},
		{"one angry word", []turn{{calm, escNone}, {"damn, where is it", escNone}, {"thanks", escNone}}},
		{"adapt", []turn{{cross, escAdapt}, {calm, escNone}}},
		{"asks for a person", []turn{{calm, escNone}, {"I want to speak to a human", escHandoff}, {calm, escNone}}},
		{"person at once", []turn{{"operator!", escHandoff}}},
		{"offer then yes", []turn{{high, escAdapt}, {high, escOffer}, {"yes please", escHandoff}}},
		{"offer then no", []turn{{high, escAdapt}, {high, escOffer}, {"no, just fix it", escNone}, {high, escAdapt}, {high, escAdapt}, {high, escOffer}}},
		{"offer lapses", []turn{{high, escAdapt}, {high, escOffer}, {"my order 1234", escNone}, {"it is late", escNone}, {"it is late again", escNone}}},
		{"high once is not enough", []turn{{high, escAdapt}, {calm, escNone}, {high, escAdapt}, {calm, escNone}}},
		{"only once", []turn{{"a human please", escHandoff}, {"a human please", escNone}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEscalator(defaultEscalation())
			for i, tu := range tc.turns {
				// Typed turns with nothing repeated: each turn is new.
				e.sc.recent = nil
				step := e.turn(tu.text, "en", nil)
				if step.act != tu.act {
					t.Fatalf("turn %d %q (score %.2f %v): act %d, want %d", i, tu.text, step.score.Score, step.score.Cues, step.act, tu.act)
				}
				if step.act == escHandoff && step.reason == "" {
					t.Errorf("turn %d: hand-off without a reason", i)
				}
				if step.score.Level != e.level(step.score.Score) {
					t.Errorf("turn %d: level %q for %.2f", i, step.score.Level, step.score.Score)
				}
			}
		})
	}
}

func TestEscalatorModelReport(t *testing.T) {
	e := newEscalator(defaultEscalation())
	e.turn("this is ridiculous and useless", "en", nil) // elevated
	f := e.report(0.9, "repeats the complaint")
	if f.Score != 0.9 || f.Level != LevelHigh || f.Reason != "repeats the complaint" || !slices.Contains(f.Cues, "model") {
		t.Errorf("report: %+v", f)
	}
	// The model's high judgement counts as the first high turn.
	e.sc.recent = nil
	step := e.turn("this is ridiculous, useless, I'm fed up", "en", nil)
	if step.act != escOffer {
		t.Errorf("after the model's report, a high turn: act %d, want an offer", step.act)
	}
	if f := e.report(0.2, ""); f.Score != step.score.Score {
		t.Errorf("a lower report changed the turn's score %.2f: %+v", step.score.Score, f)
	}
}

func TestEscalationNote(t *testing.T) {
	e := newEscalator(Escalation{Elevated: 0.3, High: 0.6, HighTurns: 2, Announce: "a person will call you back"})
	f := Frustration{Score: 0.7, Cues: []string{"pitch", "repeat"}}
	for _, tc := range []struct {
		step escalationStep
		want []string
	}{
		{escalationStep{score: f}, nil},
		{escalationStep{score: f, act: escAdapt}, []string{"frustrated", "0.70", "pitch, repeat", "short", "apologise"}},
		{escalationStep{score: f, act: escOffer}, []string{"short", "offer to pass them to a person"}},
		{escalationStep{score: f, act: escHandoff, reason: "the caller asked for a person"}, []string{"a person will call you back", "asked for a person", "call no tools"}},
	} {
		note := e.note(tc.step)
		if (note == "") != (tc.want == nil) {
			t.Errorf("act %d: note %q", tc.step.act, note)
		}
		for _, w := range tc.want {
			if !strings.Contains(note, w) {
				t.Errorf("act %d: note %q lacks %q", tc.step.act, note, w)
			}
		}
	}
}

func TestFallbackSummary(t *testing.T) {
	msgs := []pipeline.Message{
		{Role: pipeline.RoleSystem, Content: "You are a shop assistant."},
		{Role: pipeline.RoleUser, Content: "Where is order 1234?", Frustration: 0.1},
		{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{{ID: "a", Name: "lookup"}}},
		{Role: pipeline.RoleTool, ToolCallID: "a", Content: "delayed"},
		{Role: pipeline.RoleAssistant, Content: "It is delayed."},
		{Role: pipeline.RoleUser, Content: "This is ridiculous, get me a person " + strings.Repeat("now ", 60), Frustration: 0.8},
	}
	s := fallbackSummary(msgs, "the caller asked for a person")
	for _, w := range []string{"the caller asked for a person", `"Where is order 1234?"`, `"It is delayed."`, "0.80", "This is ridiculous"} {
		if !strings.Contains(s, w) {
			t.Errorf("summary %q lacks %q", s, w)
		}
	}
	if len(s) > 600 {
		t.Errorf("summary of %d bytes: %q", len(s), s)
	}
	tr := transcriptOf(msgs)
	if !strings.Contains(tr, "Tool lookup: delayed") || strings.Contains(tr, "shop assistant") {
		t.Errorf("transcript %q", tr)
	}
}

func TestWithEscalationValidates(t *testing.T) {
	for _, e := range []Escalation{
		{Elevated: -0.1}, {High: 1.5}, {HighTurns: -1}, {SlowSpeed: 0.2}, {SlowSpeed: 1.5}, {Elevated: 0.7, High: 0.5},
	} {
		var c config
		if err := WithEscalation(e)(&c); !errors.Is(err, ErrOption) {
			t.Errorf("%+v: err %v, want ErrOption", e, err)
		}
	}
	d := defaultEscalation()
	if d.Elevated != DefaultEscalationElevated || d.High != DefaultEscalationHigh || d.HighTurns != DefaultEscalationHighTurns ||
		d.SlowSpeed != DefaultEscalationSlowSpeed || d.Announce != DefaultEscalationAnnounce {
		t.Errorf("defaults %+v", d)
	}
}
