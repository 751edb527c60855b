package agent

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

// newInterrupter returns a machine with the default policy, adjusted by
// adjust.
func newInterrupter(adjust func(*InterruptionPolicy)) *interrupter {
	c := config{newVAD: func() (vad.Model, error) { return nil, nil }}
	if adjust != nil {
		adjust(&c.policy)
	}
	if err := c.fill(); err != nil {
		panic(err)
	}
	return &interrupter{policy: interruptPolicy{InterruptionPolicy: c.policy, stopWords: c.stopWords, backchannels: c.backchannels}}
}

// run feeds inputs and returns the actions of the last one.
func (m *interrupter) run(ins ...input) []action {
	var out []action
	for _, in := range ins {
		out = m.step(in)
	}
	return out
}

func describe(acts []action) string {
	s := make([]string, len(acts))
	for i, a := range acts {
		s[i] = a.String()
	}
	return strings.Join(s, "; ")
}

func final(text string) wordsHeard {
	return wordsHeard{text: text, lang: "en", final: true, complete: true}
}

func partial(text string) wordsHeard { return wordsHeard{text: text, lang: "en"} }

func ended(text string) turnEnded {
	return turnEnded{turn: userWords{tr: pipeline.Transcript{Text: text}, lang: "en"}}
}

var failedTurn = turnEnded{turn: userWords{failed: true, lang: "en"}}

// The states the machine can be in, each reached by the inputs that lead
// there, as the session loop would feed them.
var machineStates = []struct {
	name  string
	setup []input
}{
	{"idle", nil},
	{"idle, user speaking", []input{speechStarted{}}},
	{"replying", []input{replyStarted{}}},
	{"replying, user speaking", []input{speechStarted{}, replyStarted{}}},
	{"guarded", []input{replyStarted{uninterruptible: true}}},
	{"guarded, user speaking", []input{replyStarted{uninterruptible: true}, speechStarted{}}},
	{"guarded, turn held", []input{replyStarted{uninterruptible: true}, speechStarted{}, speechEnded{}, ended("what time is it")}},
	{"paused, user speaking", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}}},
	{"paused, speech over", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, speechEnded{}}},
	{"paused, waiting for words", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, speechEnded{}, timerFired{}, timerFired{}}},
	{"paused, partial words", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, partial("I")}},
	{"paused, voice stopped", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, voiceStopped{}}},
	{"paused, speech went on", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, partial("what does"), timerFired{}}},
	{"resumed tentatively", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, partial("uh huh"), voiceStopped{}}},
	{"settling", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, partial("uh huh"), voiceStopped{}, speechEnded{}}},
	{"resumed on a laugh", []input{replyStarted{}, speechStarted{lead: 100 * time.Millisecond}, soundJudged{nonLexical: true}}},
	{"held on a possible start", []input{replyStarted{}, speechPending{}}},
}

// The inputs, as the loop feeds them.
var machineInputs = []struct {
	name string
	in   input
}{
	{"reply started", replyStarted{}},
	{"interruptible chunk", chunkStarted{}},
	{"uninterruptible chunk", chunkStarted{uninterruptible: true}},
	{"reply finished", replyFinished{}},
	{"client stop", replyStopped{reason: "client"}},
	{"speech start", speechStarted{lead: 100 * time.Millisecond}},
	{"speech end", speechEnded{}},
	{"voice stopped", voiceStopped{}},
	{"voice returned", voiceReturned{}},
	{"timer", timerFired{}},
	{"partial stop word", partial("stop")},
	{"partial backchannel", partial("uh huh")},
	{"partial question", partial("what does that mean")},
	{"final backchannel", final("uh huh")},
	{"final question", final("what does that mean")},
	{"final failed", wordsHeard{failed: true, final: true, complete: true}},
	{"turn: question", ended("what does that mean")},
	{"turn: backchannel", ended("okay")},
	{"turn: nothing", ended("")},
	{"turn: failed", failedTurn},
	{"sound: laugh", soundJudged{nonLexical: true}},
	{"sound: words", soundJudged{}},
	{"possible start", speechPending{}},
	{"possible start, faint", speechPending{faint: true}},
	{"false start", speechDropped{}},
}

// outcome is the actions an input produces and the phase it leaves.
type outcome struct{ actions, phase string }

// with returns base with the entries of diff added.
func with(base, diff map[string]outcome) map[string]outcome {
	out := maps.Clone(base)
	maps.Copy(out, diff)
	return out
}

// TestInterrupterMatrix feeds every input in every state and checks the
// actions and the phase that follow. Each row was reviewed against the
// design: pause on confirmed speech over an interruptible reply; cancel on
// a stop word, enough words or long speech; resume on backchannels, no
// words or a failed recognition once the speech is over; hold a turn that
// ends while a guarded chunk plays.
func TestInterrupterMatrix(t *testing.T) {
	// What the user's speaking changes is only what a pause does, so the
	// idle, replying and guarded states expect the same with or without it.
	idle := map[string]outcome{
		"reply started":         {"", "replying"},
		"interruptible chunk":   {"", "idle"},
		"uninterruptible chunk": {"", "idle"},
		"reply finished":        {"", "idle"},
		"client stop":           {"", "idle"},
		"speech start":          {"", "idle"},
		"speech end":            {"", "idle"},
		"voice stopped":         {"", "idle"},
		"voice returned":        {"", "idle"},
		"timer":                 {"", "idle"},
		"partial stop word":     {"", "idle"},
		"partial backchannel":   {"", "idle"},
		"partial question":      {"", "idle"},
		"final backchannel":     {"", "idle"},
		"final question":        {"", "idle"},
		"final failed":          {"", "idle"},
		"turn: question":        {"turn \"what does that mean\"", "idle"},
		"turn: backchannel":     {"turn \"okay\"", "idle"},
		"turn: nothing":         {"", "idle"},
		"turn: failed":          {"fallback", "idle"},
		"sound: laugh":          {"", "idle"},
		"sound: words":          {"", "idle"},
		"possible start":        {"", "idle"},
		"possible start, faint": {"", "idle"},
		"false start":           {"", "idle"},
	}
	replying := map[string]outcome{
		"reply started":         {"", "replying"},
		"interruptible chunk":   {"", "replying"},
		"uninterruptible chunk": {"", "replying"},
		"reply finished":        {"", "idle"},
		"client stop":           {"cancel client; flush; cut history; emit interruption cancelled", "idle"},
		"speech start":          {"pause; flush; emit interruption; arm 600ms", "paused"},
		"speech end":            {"", "replying"},
		"voice stopped":         {"", "replying"},
		"voice returned":        {"", "replying"},
		"timer":                 {"", "replying"},
		"partial stop word":     {"", "replying"},
		"partial backchannel":   {"", "replying"},
		"partial question":      {"", "replying"},
		"final backchannel":     {"", "replying"},
		"final question":        {"", "replying"},
		"final failed":          {"", "replying"},
		"turn: question":        {"cancel turn; flush; cut history; emit interruption cancelled; turn \"what does that mean\"", "idle"},
		"turn: backchannel":     {"cancel turn; flush; cut history; emit interruption cancelled; turn \"okay\"", "idle"},
		"turn: nothing":         {"", "replying"},
		"turn: failed":          {"cancel turn; flush; cut history; emit interruption cancelled; fallback", "idle"},
		"sound: laugh":          {"", "replying"},
		"sound: words":          {"", "replying"},
		"possible start":        {"hold; flush", "replying+early"},
		"possible start, faint": {"", "replying"},
		"false start":           {"", "replying"},
	}
	// A guarded reply differs from another only in what speech does to it.
	guarded := with(replying, map[string]outcome{
		"possible start":    {"", "replying"},
		"speech start":      {"", "replying"},
		"turn: question":    {"", "replying+held"},
		"turn: backchannel": {"", "replying+held"},
		"turn: failed":      {"", "replying+held"},
	})
	held := map[string]outcome{
		"reply started":         {"", "replying+held"},
		"interruptible chunk":   {"cancel turn; flush; cut history; emit interruption cancelled; turn \"what time is it\"", "idle"},
		"uninterruptible chunk": {"", "replying+held"},
		"reply finished":        {"turn \"what time is it\"", "idle"},
		"client stop":           {"cancel client; flush; cut history; emit interruption cancelled; turn \"what time is it\" unanswered", "idle"},
		"speech start":          {"", "replying+held"},
		"speech end":            {"", "replying+held"},
		"voice stopped":         {"", "replying+held"},
		"voice returned":        {"", "replying+held"},
		"timer":                 {"", "replying+held"},
		"partial stop word":     {"", "replying+held"},
		"partial backchannel":   {"", "replying+held"},
		"partial question":      {"", "replying+held"},
		"final backchannel":     {"", "replying+held"},
		"final question":        {"", "replying+held"},
		"final failed":          {"", "replying+held"},
		"turn: question":        {"", "replying+held"},
		"turn: backchannel":     {"", "replying+held"},
		"turn: nothing":         {"", "replying+held"},
		"turn: failed":          {"", "replying+held"},
		"sound: laugh":          {"", "replying+held"},
		"sound: words":          {"", "replying+held"},
		"possible start":        {"", "replying+held"},
		"possible start, faint": {"", "replying+held"},
		"false start":           {"", "replying+held"},
	}
	// The paused states share most answers; each lists where it differs.
	paused := map[string]outcome{
		"reply started":         {"disarm", "replying"},
		"interruptible chunk":   {"", "paused"},
		"uninterruptible chunk": {"", "paused"},
		"reply finished":        {"disarm", "idle"},
		"client stop":           {"disarm; cancel client; cut history; emit interruption cancelled", "idle"},
		"speech end":            {"", "paused"},
		"voice stopped":         {"", "paused"},
		"voice returned":        {"", "paused"},
		"partial stop word":     {"disarm; cancel speech; cut history; emit interruption cancelled", "idle"},
		"partial backchannel":   {"", "paused"},
		"partial question":      {"", "paused"}, // no stable words yet
		"final question":        {"disarm; cancel speech; cut history; emit interruption cancelled", "idle"},
		"final failed":          {"", "paused"},
		"turn: question":        {"disarm; cancel speech; cut history; emit interruption cancelled; turn \"what does that mean\"", "idle"},
		"turn: backchannel":     {"disarm; drop turn; resume; emit resumed", "replying"},
		"turn: nothing":         {"disarm; drop turn; resume; emit resumed", "replying"},
		"turn: failed":          {"disarm; drop turn; resume; emit resumed", "replying"},
		// A laugh, a hum, a sigh: the reply plays on over it at once.
		"sound: laugh":          {"disarm; resume; emit resumed", "replying+tentative"},
		"sound: words":          {"", "paused"},
		"possible start":        {"", "paused"},
		"possible start, faint": {"", "paused"},
		"false start":           {"", "paused"},
	}
	// Resumed on backchannels while the VAD still hears the speech: its
	// end drops the speech; the voice coming back, or more than
	// backchannels, pauses again or cancels.
	tentative := with(replying, map[string]outcome{
		"reply started":         {"", "replying+tentative"},
		"interruptible chunk":   {"", "replying+tentative"},
		"uninterruptible chunk": {"", "replying+tentative"},
		"reply finished":        {"", "idle+tentative"},
		"client stop":           {"cancel client; flush; cut history; emit interruption cancelled", "idle+tentative"},
		"speech start":          {"pause; flush; emit interruption; arm 600ms", "paused"},
		"speech end":            {"", "replying+settling"},
		"voice stopped":         {"", "replying+tentative"},
		"voice returned":        {"arm 300ms", "replying+tentative"}, // the rest of "uh-huh"
		"timer":                 {"", "replying+tentative"},
		"partial stop word":     {"cancel speech; flush; cut history; emit interruption cancelled", "idle"},
		"partial backchannel":   {"", "replying+tentative"},
		"partial question":      {"pause; flush; emit interruption; arm 700ms", "paused"},
		"final backchannel":     {"", "replying+tentative"},
		"final question":        {"cancel speech; flush; cut history; emit interruption cancelled", "idle"},
		"final failed":          {"", "replying+tentative"},
		"sound: laugh":          {"", "replying+tentative"},
		"sound: words":          {"", "replying+tentative"},
		"possible start":        {"", "replying+tentative"},
		"possible start, faint": {"", "replying+tentative"},
		"false start":           {"", "replying+tentative"},
	})
	// The speech of a tentative resumption ended before its final words:
	// they, or the turn's, cancel the reply late when they interrupt and
	// drop the turn otherwise; the user going on pauses it as usual.
	settling := map[string]outcome{
		"reply started":         {"", "replying+settling"},
		"interruptible chunk":   {"", "replying+settling"},
		"uninterruptible chunk": {"", "replying+settling"},
		"reply finished":        {"", "idle+settling"},
		"client stop":           {"cancel client; flush; cut history; emit interruption cancelled", "idle+settling"},
		"speech start":          {"pause; flush; emit interruption; arm 600ms", "paused"},
		"speech end":            {"", "replying+settling"},
		"voice stopped":         {"", "replying+settling"},
		"voice returned":        {"", "replying+settling"},
		"timer":                 {"", "replying+settling"},
		"partial stop word":     {"cancel speech; flush; cut history; emit interruption cancelled", "idle"},
		"partial backchannel":   {"", "replying+settling"},
		"partial question":      {"", "replying+settling"}, // no stable words
		"final backchannel":     {"drop turn", "replying"},
		"final question":        {"cancel speech; flush; cut history; emit interruption cancelled", "idle"},
		"final failed":          {"", "replying+settling"},
		"turn: question":        {"cancel speech; flush; cut history; emit interruption cancelled; turn \"what does that mean\"", "idle"},
		"turn: backchannel":     {"drop turn", "replying"},
		"turn: nothing":         {"drop turn", "replying"},
		"turn: failed":          {"drop turn", "replying"},
		"sound: laugh":          {"", "replying+settling"},
		"sound: words":          {"", "replying+settling"},
		"possible start":        {"hold; flush", "replying+settling+early"},
		"possible start, faint": {"", "replying+settling"},
		"false start":           {"", "replying+settling"},
	}
	// Resumed on a laugh: its words do not count, nor does its voice
	// coming back; only words after all (the judge's verdict) pause again.
	laughing := with(tentative, map[string]outcome{
		"speech end":        {"drop turn", "replying"},
		"voice returned":    {"", "replying+tentative"},
		"partial stop word": {"", "replying+tentative"},
		"partial question":  {"", "replying+tentative"},
		"final question":    {"", "replying+tentative"},
		"sound: words":      {"pause; flush; emit interruption; arm 700ms", "paused"},
	})
	// Held silent on a possible start: what leaves the reply as it was
	// ends the hold; the confirmation takes it over as a pause.
	early := map[string]outcome{}
	for in, o := range replying {
		if o.actions == "" && o.phase == "replying" {
			o.phase = "replying+early"
		}
		early[in] = o
	}
	maps.Copy(early, map[string]outcome{
		"reply started":         {"resume", "replying"},
		"uninterruptible chunk": {"resume", "replying"},
		"reply finished":        {"resume", "idle"},
		"possible start":        {"", "replying+early"},
		"false start":           {"resume", "replying"},
	})
	want := map[string]map[string]outcome{
		"idle": idle, "idle, user speaking": idle,
		"replying": replying,
		// Already speaking: the VAD has confirmed it; nothing to hold.
		"replying, user speaking": with(replying, map[string]outcome{"possible start": {"", "replying"}}),
		"guarded":                 guarded, "guarded, user speaking": guarded,
		"held on a possible start": early,
		"guarded, turn held":       held,
		"resumed tentatively":      tentative,
		"resumed on a laugh":       laughing,
		"settling":                 settling,
		"paused, user speaking": with(paused, map[string]outcome{
			"speech start": {"", "paused"},
			"timer":        {"arm 800ms", "paused"}, // confirmingSpeech, no words

			"final backchannel": {"", "paused"},
		}),
		"paused, speech over": with(paused, map[string]outcome{
			"sound: laugh":        {"", "paused"}, // the judge hears only speech
			"speech start":        {"", "paused"},
			"timer":               {"arm 800ms", "paused"}, // armed while the user spoke
			"partial backchannel": {"disarm; drop turn; resume; emit resumed", "replying"},
			"final backchannel":   {"disarm; drop turn; resume; emit resumed", "replying"},
		}),
		"paused, waiting for words": with(paused, map[string]outcome{
			"sound: laugh":        {"", "paused"}, // the judge hears only speech
			"speech start":        {"disarm; cancel long speech; cut history; emit interruption cancelled", "idle"},
			"timer":               {"disarm; drop turn; resume; emit resumed", "replying"},
			"partial backchannel": {"disarm; drop turn; resume; emit resumed", "replying"},
			"final backchannel":   {"disarm; drop turn; resume; emit resumed", "replying"},
		}),
		"paused, partial words": with(paused, map[string]outcome{
			"speech start":      {"", "paused"},
			"timer":             {"arm 800ms", "paused"}, // confirmingSpeech: "I" is not stable yet
			"final backchannel": {"", "paused"},
		}),
		// The speech went on past confirmingSpeech: one stable word that
		// carries meaning cancels ("what does" held from the partial before);
		// the next timer is LongSpeech.
		"paused, speech went on": with(paused, map[string]outcome{
			"speech start":      {"", "paused"},
			"timer":             {"disarm; cancel long speech; cut history; emit interruption cancelled", "idle"},
			"final backchannel": {"", "paused"},
			"partial question":  {"disarm; cancel speech; cut history; emit interruption cancelled", "idle"},
		}),
		// The voice stopped: backchannel words resume the reply at once,
		// tentatively (the VAD has not confirmed the end of the speech).
		"paused, voice stopped": with(paused, map[string]outcome{
			"speech start":        {"", "paused"},
			"timer":               {"arm 800ms", "paused"},
			"partial backchannel": {"disarm; resume; emit resumed", "replying+tentative"},
			"final backchannel":   {"disarm; resume; emit resumed", "replying+tentative"},
		}),
	}
	for _, st := range machineStates {
		for _, in := range machineInputs {
			w, ok := want[st.name][in.name]
			if !ok {
				t.Errorf("%s / %s: no expectation", st.name, in.name)
				continue
			}
			m := newInterrupter(nil)
			m.run(st.setup...)
			got := describe(m.step(in.in))
			phase := m.phase.String()
			if m.held != nil {
				phase += "+held"
			}
			if m.tentative {
				phase += "+tentative"
			}
			if m.settling {
				phase += "+settling"
			}
			if m.early {
				phase += "+early"
			}
			if got != w.actions || phase != w.phase {
				t.Errorf("%s / %s:\n got  %q -> %s\n want %q -> %s", st.name, in.name, got, phase, w.actions, w.phase)
			}
		}
	}
}

// step is one input of a scenario and the actions it must produce.
type step struct {
	in   input
	want string
}

// TestInterrupterScenarios plays, input by input, the conversations of the
// session-level barge-in tests (bargein_test.go, features_test.go) and the
// cases found in review.
func TestInterrupterScenarios(t *testing.T) {
	const (
		pause     = "pause; flush; emit interruption; arm 600ms"
		cancelled = "disarm; cancel speech; cut history; emit interruption cancelled"
		resumed   = "disarm; drop turn; resume; emit resumed"
	)
	lead := speechStarted{lead: 100 * time.Millisecond}
	es := func(text string) wordsHeard { return wordsHeard{text: text, lang: "es", final: true, complete: true} }
	for _, tc := range []struct {
		name   string
		policy func(*InterruptionPolicy)
		steps  []step
	}{
		// Other voices in the room and the agent's own echo under its
		// ceiling (faint: far below the user's level) do not pause the
		// reply and never cancel it; their turns are dropped.
		{name: "a television does not pause the reply, its words never cancel", steps: []step{
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "drop turn"},
			{final("stop right there you fool"), ""},
			{partial("stop"), ""}, {voiceStopped{}, ""}, {voiceReturned{}, ""},
			{speechEnded{}, ""},
		}},
		{name: "the user's stop over the television", steps: []step{
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "drop turn"},
			{voiceLoud{}, "pause; flush; emit interruption; arm 700ms"},
			{voiceLoud{}, ""},
			{partial("stop"), cancelled},
		}},
		{name: "a possible start held, then confirmed faint, plays on", steps: []step{
			{replyStarted{}, ""},
			{speechPending{}, "hold; flush"},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "resume; drop turn"},
			{speechEnded{}, ""},
		}},
		{name: "a soft start that reaches the user's level is the user", steps: []step{
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "drop turn"},
			{voiceLoud{}, "pause; flush; emit interruption; arm 700ms"},
			{speechEnded{}, ""},
			{final("what does that mean"), cancelled},
		}},
		{name: "faint speech after the user's keeps the user's words deciding", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, ""},
			{speechEnded{}, ""},
			{final("what does that mean"), cancelled},
		}},
		{name: "cancel immediately: only the user's level cancels", policy: func(p *InterruptionPolicy) { p.Mode = CancelImmediately }, steps: []step{
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "drop turn"},
			{voiceLoud{}, "pause; flush; emit interruption; cancel speech; cut history; emit interruption cancelled"},
		}},
		{name: "barge-in mid playout: the question cancels, then is answered", steps: []step{
			{replyStarted{}, ""}, {chunkStarted{}, ""},
			{lead, pause},
			{speechEnded{}, ""},
			{final("what does that mean exactly"), cancelled},
			{ended("what does that mean exactly"), `turn "what does that mean exactly"`},
		}},
		{name: "backchannel resumes", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("uh huh"), resumed},
			{timerFired{}, ""}, // a stale timer changes nothing
		}},
		{name: "okay resumes", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("Okay."), resumed}}},
		{name: "spanish backchannel resumes", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {es("sí"), resumed}}},
		{name: "chinese backchannel resumes", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{wordsHeard{text: "嗯", lang: "zh", final: true, complete: true}, resumed},
		}},
		{name: "no words resume", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final(""), resumed}}},
		{name: "one content word resumes", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("hmm right"), resumed}}},
		{name: "stop word cancels", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("Stop."), cancelled}, {ended("Stop."), `turn "Stop."`}}},
		{name: "spanish stop word cancels", steps: []step{{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {es("espera"), cancelled}}},
		{name: "chinese stop word cancels", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{wordsHeard{text: "停", lang: "zh", final: true, complete: true}, cancelled},
		}},
		{name: "cancel immediately", policy: func(p *InterruptionPolicy) { p.Mode = CancelImmediately }, steps: []step{
			{replyStarted{}, ""},
			{lead, "pause; flush; emit interruption; cancel speech; cut history; emit interruption cancelled"},
			{speechEnded{}, ""},
			{final("uh huh"), ""},
			{ended("uh huh"), `turn "uh huh"`},
		}},
		{name: "barge-in while thinking, words merge into the next turn", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("my order is twelve thirty four please"), cancelled},
			{ended("my order is twelve thirty four please"), `turn "my order is twelve thirty four please"`},
		}},
		{name: "barge-in twice", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("tell me more please"), cancelled},
			{ended("tell me more please"), `turn "tell me more please"`},
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""}, {final("no stop that now"), cancelled},
		}},
		{name: "barge-in on the last frame: the speech is a turn of its own", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{replyFinished{}, "disarm"},
			{timerFired{}, ""},
			{speechEnded{}, ""},
			{final("and what about the other one"), ""},
			{ended("and what about the other one"), `turn "and what about the other one"`},
		}},
		{name: "long speech cancels before its words", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{timerFired{}, "arm 800ms"}, // confirmingSpeech: no words to confirm
			{timerFired{}, "disarm; cancel long speech; cut history; emit interruption cancelled"},
		}},
		{name: "language practice: long speech waits longer", policy: func(p *InterruptionPolicy) { p.LongSpeech = 2500 * time.Millisecond }, steps: []step{
			{replyStarted{}, ""},
			{lead, "pause; flush; emit interruption; arm 600ms"},
			{timerFired{}, "arm 800ms"}, // confirmingSpeech
			{timerFired{}, "arm 1s"},    // the window passes while the user speaks
			{timerFired{}, "disarm; cancel long speech; cut history; emit interruption cancelled"},
		}},
		{name: "words that never come: resume after the recognition wait", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{timerFired{}, "arm 800ms"}, // set while the user spoke
			{timerFired{}, "arm 4s"},
			{partial("maybe"), ""}, // one word that carries meaning: too few, but no verdict before the final
			{timerFired{}, resumed},
		}},
		{name: "final words after the window decide at once", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{timerFired{}, "arm 800ms"}, // set while the user spoke
			{timerFired{}, "arm 4s"},
			{final("okay"), resumed},
		}},
		{name: "speech resumes after the window: long speech", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{timerFired{}, "arm 800ms"}, // set while the user spoke
			{timerFired{}, "arm 4s"},
			{speechStarted{}, "disarm; cancel long speech; cut history; emit interruption cancelled"},
		}},
		{name: "more speech makes earlier words incomplete", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{wordsHeard{text: "maybe", lang: "en", complete: true}, ""}, // a streaming partial for the speech so far
			{speechStarted{}, ""},
			{speechEnded{}, ""},
			{final("hmm let me think about that"), cancelled},
		}},
		// Speech that goes on past confirmingSpeech is no backchannel: one
		// stable word that carries meaning cancels, from the partial
		// results or at the timer, instead of waiting for three or for
		// LongSpeech.
		{name: "speech that goes on confirms one stable word", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("refund"), ""}, {partial("refund the"), ""}, // one stable word: too few so far
			{timerFired{}, cancelled},
		}},
		{name: "a word that holds after confirmingSpeech cancels", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{timerFired{}, "arm 800ms"},
			{partial("we're"), ""}, {partial("what"), ""}, // not stable
			{partial("what are"), cancelled},
		}},
		{name: "backchannels past confirmingSpeech do not cancel", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{timerFired{}, "arm 800ms"},
			{partial("yeah"), ""}, {partial("yeah yeah"), ""}, {partial("yeah yeah okay"), ""},
			{partial("the the"), ""}, // no word that carries meaning
			{voiceStopped{}, "disarm; resume; emit resumed"},
		}},
		{name: "a stopped voice confirms nothing", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{}, ""},
			{timerFired{}, "arm 800ms"},
			{partial("refund"), ""}, {partial("refund the"), ""},
			{voiceReturned{}, ""},
			{partial("refund the money"), cancelled}, // speaking again, past confirmingSpeech
		}},
		{name: "language practice: speech that goes on confirms two stable words", policy: func(p *InterruptionPolicy) { p.MinWords = 3 }, steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{timerFired{}, "arm 800ms"},
			{partial("I"), ""}, {partial("I want"), ""}, // one stable word
			{partial("I want a"), cancelled}, // two
		}},
		{name: "partial stop word cancels while the user speaks", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {partial("wait"), cancelled},
			{speechEnded{}, ""},
			{ended("wait what"), `turn "wait what"`},
		}},
		{name: "partial words need one more than the minimum, held from one partial to the next", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("tell me"), ""},
			{partial("tell me more"), ""},                          // stable: "tell me"
			{partial("tell me more about the weather"), cancelled}, // stable: "tell me more"
		}},
		{name: "unsteady partial words do not cancel", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("tell me about it"), ""},
			{partial("sell me a boat ride"), ""},
			{partial("well me about a wide"), ""},
		}},
		{name: "interim backchannel: resumed when the voice stops, dropped at its final words", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("uh"), ""},
			{partial("uh huh"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{speechEnded{}, ""},
			{final("uh huh"), "drop turn"},
		}},
		{name: "the level falls on a backchannel before the VAD hears the voice stop: resumed tentatively", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("okay"), ""},
			{voiceStopped{faded: true}, "disarm; resume; emit resumed"},
			{voiceStopped{}, ""},
			{speechEnded{}, ""},
			{final("okay"), "drop turn"},
		}},
		{name: "backchannel words after the level fell: resumed tentatively", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{faded: true}, ""},
			{partial("yeah"), "disarm; resume; emit resumed"},
		}},
		{name: "the level falls on light words that are no backchannel: the VAD decides", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("so"), ""},
			{voiceStopped{faded: true}, ""}, // a stop consonant's closure may follow
			{voiceStopped{}, "disarm; resume; emit resumed"},
		}},
		{name: "the level falls on a backchannel sound that may be a word's first: the VAD decides", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("ah"), ""},
			{voiceStopped{faded: true}, ""},
			{partial("stop"), cancelled},
		}},
		{name: "the level falls and the voice comes back: backchannel words no longer resume", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{faded: true}, ""},
			{voiceReturned{}, ""},
			{partial("okay"), ""},
		}},
		// A stop in street noise: the recogniser's first guess is a light
		// "ah", the reply resumes tentatively, the speech ends before the
		// final words: they still cancel it, late.
		{name: "a light first guess, then the final stop: cancelled late and answered", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("ah"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{speechEnded{}, ""},
			{final("stop"), "cancel speech; flush; cut history; emit interruption cancelled"},
			{ended("stop"), `turn "stop"`},
		}},
		{name: "a light first guess, then the turn's words interrupt: cancelled late and answered", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("ah"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{speechEnded{}, ""},
			{ended("wait what was that"), `cancel speech; flush; cut history; emit interruption cancelled; turn "wait what was that"`},
		}},
		{name: "a light first guess, then a failed recognition: dropped, the reply plays on", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("ah"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{speechEnded{}, ""},
			{wordsHeard{failed: true, final: true, complete: true}, ""},
			{failedTurn, "drop turn"},
		}},
		{name: "a light first guess, then the user goes on: paused, the words decide", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("ah"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{speechEnded{}, ""},
			{lead, pause},
			{final("ah can you stop"), cancelled},
		}},
		{name: "voice stopped on a backchannel already heard", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{}, ""},
			{final("okay"), "disarm; resume; emit resumed"}, // a stream committed at the voice's stop
			{speechEnded{}, "drop turn"},
		}},
		{name: "the voice comes back after a tentative resume on backchannels: the reply plays on over the rest of them", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("uh"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{voiceReturned{}, "arm 300ms"},
			{partial("uh huh"), ""},
			{voiceStopped{}, ""},
			{timerFired{}, ""},
			{speechEnded{}, ""},
			{final("uh huh"), "drop turn"},
		}},
		{name: "the voice comes back after a tentative resume and goes on: paused again, then the words cancel", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("uh huh"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{voiceReturned{}, "arm 300ms"},
			{timerFired{}, "pause; flush; emit interruption; arm 700ms"},
			{partial("uh huh can you repeat that"), ""},
			{partial("uh huh can you repeat that please"), cancelled},
		}},
		{name: "the voice comes back after a tentative resume with more than backchannels: paused again at once", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("okay"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{voiceReturned{}, "arm 300ms"},
			{partial("okay so"), "pause; flush; emit interruption; arm 700ms"},
		}},
		{name: "the voice comes back after a tentative resume on light words that are no backchannel: paused again at once", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("but"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{voiceReturned{}, "pause; flush; emit interruption; arm 700ms"},
		}},
		{name: "the words grow past backchannels after a tentative resume: cancelled at once", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("okay"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{partial("okay stop"), "cancel speech; flush; cut history; emit interruption cancelled"},
			{speechEnded{}, ""},
			{ended("okay stop"), `turn "okay stop"`},
		}},
		{name: "the words grow past backchannels but do not interrupt yet: paused again", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("okay"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{partial("okay so"), "pause; flush; emit interruption; arm 700ms"},
			{speechEnded{}, ""},
			{final("okay so"), "disarm; drop turn; resume; emit resumed"},
		}},
		{name: "the voice stops on partial words that carry meaning: the pause stands", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("maybe"), ""},
			{voiceStopped{}, ""},
			{speechEnded{}, ""},
			{final("maybe"), resumed},
		}},
		{name: "the voice stops on partial words that carry no meaning: resumed tentatively", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("but"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{final("but"), ""},
			{speechEnded{}, "drop turn"},
		}},
		{name: "the voice stops on all the words known, too few: resumed tentatively", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{}, ""},
			{final("but"), "disarm; resume; emit resumed"}, // a stream committed at the voice's stop
			{speechEnded{}, "drop turn"},
		}},
		{name: "the voice stops on nothing heard at all: resumed tentatively", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{voiceStopped{}, ""},
			{final(""), "disarm; resume; emit resumed"},
			{speechEnded{}, "drop turn"},
		}},
		{name: "the final words differ from the backchannel heard, still too few: the resumption holds", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{partial("uh huh"), ""},
			{voiceStopped{}, "disarm; resume; emit resumed"},
			{final("but"), ""},
			{wordsHeard{failed: true, final: true, complete: true}, ""},
			{speechEnded{}, "drop turn"},
		}},
		{name: "an interim backchannel after the end of speech resumes at once", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{partial("mhm"), resumed},
		}},
		{name: "failed recognition resumes at the turn's end", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{wordsHeard{failed: true, final: true, complete: true}, ""},
			{failedTurn, resumed},
		}},
		{name: "failed recognition with no reply: the fallback line", steps: []step{
			{speechStarted{}, ""}, {speechEnded{}, ""}, {failedTurn, "fallback"},
		}},
		{name: "client stop of a paused reply: no second flush", steps: []step{
			{replyStarted{}, ""}, {lead, pause},
			{replyStopped{reason: "client"}, "disarm; cancel client; cut history; emit interruption cancelled"},
			{timerFired{}, ""},
			{final("stop"), ""},
			{replyStopped{reason: "client"}, ""},
		}},
		{name: "a typed message replaces a playing reply", steps: []step{
			{replyStarted{}, ""}, {chunkStarted{}, ""},
			{replyStopped{reason: "text"}, "cancel text; flush; cut history; emit interruption cancelled"},
			{replyStarted{}, ""},
		}},
		{name: "uninterruptible say: no pause, the turn waits for its end", steps: []step{
			{replyStarted{uninterruptible: true}, ""},
			{chunkStarted{uninterruptible: true}, ""},
			{lead, ""},
			{speechEnded{}, ""},
			{final("hello there friend"), ""},
			{ended("hello there friend"), ""},
			{chunkStarted{uninterruptible: true}, ""},
			{replyFinished{}, `turn "hello there friend"`},
		}},
		{name: "a turn held over a guarded chunk cancels the rest of the reply", steps: []step{
			{replyStarted{}, ""},
			{chunkStarted{uninterruptible: true}, ""},
			{ended("what"), ""},
			{ended("time is it"), ""},
			{chunkStarted{}, `cancel turn; flush; cut history; emit interruption cancelled; turn "what time is it"`},
		}},
		{name: "a failed turn held over a guarded reply: the fallback after it", steps: []step{
			{replyStarted{uninterruptible: true}, ""},
			{failedTurn, ""},
			{replyFinished{}, "fallback"},
		}},
		{name: "a user turn ending while a reply thinks replaces it", steps: []step{
			{speechStarted{}, ""}, {replyStarted{}, ""}, {speechEnded{}, ""},
			{ended("and another thing"), `cancel turn; flush; cut history; emit interruption cancelled; turn "and another thing"`},
		}},
		// A phrase split by a pause ("front ... left") is judged whole:
		// the first part's words, too few alone, count with the next.
		{name: "a phrase split by a pause cancels on its second part", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("front"), resumed},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{speechEnded{}, ""},
			{final("left"), cancelled},
			{ended("left"), `turn "front left"`},
		}},
		{name: "carried words begin the turn that cancels at its end", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{ended("front"), resumed},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{speechEnded{}, ""},
			{ended("left"), "disarm; cancel speech; cut history; emit interruption cancelled; " + `turn "front left"`},
		}},
		{name: "speech long after a false interruption is judged alone", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("front"), resumed},
			{speechStarted{lead: 100 * time.Millisecond}, pause},
			{speechEnded{}, ""},
			{final("left"), resumed},
		}},
		{name: "a backchannel carries nothing", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("okay"), resumed},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{speechEnded{}, ""},
			{final("left"), resumed},
		}},
		{name: "a faint voice's words are never carried", steps: []step{
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, faint: true}, "drop turn"},
			{speechEnded{}, ""},
			{final("front"), ""},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{speechEnded{}, ""},
			{final("left"), resumed},
		}},
		{name: "carried words end with the reply", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("front"), resumed},
			{replyFinished{}, ""},
			{replyStarted{}, ""},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{speechEnded{}, ""},
			{final("left"), resumed},
		}},
		{name: "a cancelled turn with no words of its own drops the carried ones", steps: []step{
			{replyStarted{}, ""}, {lead, pause}, {speechEnded{}, ""},
			{final("front"), resumed},
			{speechStarted{lead: 100 * time.Millisecond, follows: true}, pause},
			{final("stop"), cancelled},
			{speechEnded{}, ""},
			{ended(""), ""},
			{speechStarted{}, ""}, {speechEnded{}, ""},
			{ended("what time is it"), `turn "what time is it"`},
		}},
		{name: "nothing heard while a reply thinks leaves it", steps: []step{
			{speechStarted{}, ""}, {replyStarted{}, ""}, {speechEnded{}, ""}, {ended(""), ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newInterrupter(tc.policy)
			for i, s := range tc.steps {
				if got := describe(m.step(s.in)); got != s.want {
					t.Fatalf("step %d (%T%+v): got %q, want %q", i, s.in, s.in, got, s.want)
				}
			}
		})
	}
}

// TestInterrupterRandom feeds the machine random inputs in the orders the
// session loop can produce (speech starts and ends alternate, the timer
// fires only when armed, a reply starts only when none is running) and
// checks after every step that the actions are well formed and the state
// is consistent; at the end, ending the speech and letting the timer fire
// always leaves a pause.
func TestInterrupterRandom(t *testing.T) {
	texts := []string{"", "uh huh", "stop", "what about tomorrow then", "okay", "one two", "tell me about the weather please", "嗯"}
	for seed := range uint64(2000) {
		rng := rand.New(rand.NewPCG(seed, 11))
		m := newInterrupter(func(p *InterruptionPolicy) {
			if rng.IntN(4) == 0 {
				p.Mode = CancelImmediately
			}
			p.Window = []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond}[rng.IntN(2)]
			p.LongSpeech = []time.Duration{1500 * time.Millisecond, 2500 * time.Millisecond, 10 * time.Second}[rng.IntN(3)]
		})
		h := &harness{t: t, m: m, seed: seed}
		for range 40 {
			h.feed(h.randomInput(rng, texts))
			if t.Failed() {
				return
			}
		}
		if h.speaking {
			h.feed(speechEnded{})
		}
		for i := 0; h.armed && i < 5; i++ {
			h.armed = false
			h.feed(timerFired{})
		}
		if m.paused() || h.armed {
			t.Fatalf("seed %d: still paused (armed %v) after the speech ended and every timer fired: %s", seed, h.armed, h.trace.String())
		}
	}
}

// harness plays the session loop's part for TestInterrupterRandom.
type harness struct {
	t        *testing.T
	m        *interrupter
	seed     uint64
	reply    bool // the loop has a reply running
	speaking bool
	quiet    bool // the voice stopped inside the speech
	armed    bool
	trace    strings.Builder
}

func (h *harness) randomInput(rng *rand.Rand, texts []string) input {
	for {
		switch rng.IntN(10) {
		case 0:
			if !h.reply {
				return replyStarted{uninterruptible: rng.IntN(4) == 0}
			}
			return replyStopped{reason: "replaced"}
		case 1:
			if h.reply {
				return chunkStarted{uninterruptible: rng.IntN(4) == 0}
			}
		case 2:
			if h.reply {
				return replyFinished{}
			}
		case 3:
			return replyStopped{reason: "client"}
		case 4:
			switch {
			case !h.speaking && rng.IntN(3) == 0:
				if rng.IntN(2) == 0 {
					return speechDropped{}
				}
				return speechPending{faint: rng.IntN(3) == 0}
			case !h.speaking:
				return speechStarted{lead: time.Duration(rng.IntN(200)) * time.Millisecond, faint: rng.IntN(3) == 0}
			case rng.IntN(4) == 0:
				return voiceLoud{}
			case rng.IntN(4) == 0:
				return soundJudged{nonLexical: rng.IntN(2) == 0}
			case rng.IntN(3) == 0:
				return speechEnded{}
			case h.quiet:
				return voiceReturned{}
			}
			return voiceStopped{}
		case 5, 6:
			if h.armed {
				h.armed = false
				return timerFired{}
			}
		case 7:
			w := wordsHeard{text: texts[rng.IntN(len(texts))], lang: "en", final: rng.IntN(2) == 0, complete: rng.IntN(2) == 0}
			if rng.IntN(10) == 0 {
				w = wordsHeard{failed: true, final: true, complete: true}
			}
			return w
		default:
			if !h.speaking {
				return turnEnded{turn: userWords{tr: pipeline.Transcript{Text: texts[rng.IntN(len(texts))]}, lang: "en", failed: rng.IntN(10) == 0}}
			}
		}
	}
}

// feed steps the machine, checks the actions and carries out their effect
// on the harness, as the loop would.
func (h *harness) feed(in input) {
	t := h.t
	before := h.m.phase
	guarded := h.m.guarded
	tentative := h.m.tentative
	early := h.m.early
	switch in.(type) {
	case speechStarted:
		h.speaking, h.quiet = true, false
	case speechEnded:
		h.speaking, h.quiet = false, false
	case voiceStopped:
		h.quiet = h.speaking
	case voiceReturned:
		h.quiet = false
	case replyStarted:
		h.reply = true
	case replyFinished:
		h.reply = false
	}
	acts := h.m.step(in)
	faint := h.m.faint
	fmt.Fprintf(&h.trace, "\n  %T%+v -> %s", in, in, describe(acts))
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: "+format+"; trace:%s", append([]any{h.seed}, append(args, h.trace.String())...)...)
	}
	kinds := make([]actionKind, len(acts))
	for i, a := range acts {
		kinds[i] = a.kind
	}
	for i, a := range acts {
		next := func(k ...actionKind) bool {
			return i+len(k) < len(acts)+1 && slices.Equal(kinds[i+1:min(len(kinds), i+1+len(k))], k)
		}
		switch a.kind {
		case actTurn, actFallback:
			if i != len(acts)-1 {
				fail("%v is not the last action", a)
			}
			if a.kind == actFallback || a.answer {
				h.reply = true // the loop starts a reply and says so
				h.m.step(replyStarted{})
			}
		case actCancel:
			if !h.reply {
				fail("cancel with no reply")
			}
			h.reply = false
			if !next(actFlush, actCutHistory) && !next(actCutHistory) {
				fail("cancel not followed by the history cut")
			}
			if flushed := before == phasePaused || slices.Contains(kinds[:i], actFlush); flushed == next(actFlush) {
				fail("a cancel flushes if and only if the pause did not")
			}
		case actHold:
			// Only a possible start holds, an interruptible reply that
			// plays, and the flush follows.
			if _, ok := in.(speechPending); !ok || before != phaseReplying || guarded || h.speaking || !next(actFlush) {
				fail("hold on %T in %v (guarded %v, speaking %v)", in, before, guarded, h.speaking)
			}
		case actPause:
			// Speech pauses a reply; so does the user going on after a
			// tentative resumption (the voice back, more words).
			_, onSpeech := in.(speechStarted)
			_, onLoud := in.(voiceLoud)
			if !(onSpeech || onLoud || tentative) || before != phaseReplying || guarded {
				fail("pause on %T in %v (guarded %v, tentative %v)", in, before, guarded, tentative)
			}
			if !next(actFlush, actEmit) {
				fail("pause not followed by flush and report")
			}
		case actResume:
			// Once the speech is over its turn is dropped; while the VAD
			// still hears it, only after its voice stopped (tentatively,
			// keeping the turn), when it is faint (another voice: the
			// reply plays on over it), or when it is a laugh (tentatively).
			dropped := i > 0 && kinds[i-1] == actDropTurn
			_, onSound := in.(soundJudged)
			if early && before == phaseReplying && !dropped {
				break // the end of a hold: nothing was reported
			}
			if before != phasePaused || !next(actEmit) || (onSound && dropped) ||
				(!faint && !onSound && (dropped == h.speaking || (h.speaking && !h.quiet))) {
				fail("resume in %v, speaking %v, quiet %v", before, h.speaking, h.quiet)
			}
		case actDropTurn:
			if h.speaking && !faint {
				fail("the turn dropped while the user speaks")
			}
		case actArm:
			h.armed = true
		case actDisarm:
			h.armed = false
		}
	}
	if n := len(slices.DeleteFunc(kinds, func(k actionKind) bool { return k != actCancel && k != actResume })); n > 1 {
		fail("the reply settled twice")
	}
	m := h.m
	switch {
	case (m.phase != phaseIdle) != h.reply:
		fail("phase %v with reply %v", m.phase, h.reply)
	case m.paused() && !h.armed:
		fail("paused with no timer: nothing would end the pause")
	case m.held != nil && (m.phase != phaseReplying || !m.guarded):
		fail("a turn held in %v, guarded %v", m.phase, m.guarded)
	case m.tentative && !h.speaking:
		fail("tentative with the speech over")
	case m.speaking != h.speaking:
		fail("speaking %v, want %v", m.speaking, h.speaking)
	}
}
