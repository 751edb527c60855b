package dialogue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/harkvoice/hark/agent/provider/dialogue"
	"github.com/harkvoice/hark/pipeline"
)

func newEngine(t testing.TB, opts ...dialogue.Option) *dialogue.Engine {
	t.Helper()
	e, err := dialogue.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run collects one reply: its text and tool calls.
func run(t testing.TB, e *dialogue.Engine, req pipeline.Request) (string, []pipeline.ToolCall) {
	t.Helper()
	var text strings.Builder
	var calls []pipeline.ToolCall
	for d, err := range e.Stream(context.Background(), req) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(d.Text)
		if d.ToolCall != nil {
			calls = append(calls, *d.ToolCall)
		}
	}
	return text.String(), calls
}

func user(text string) pipeline.Message {
	return pipeline.Message{Role: pipeline.RoleUser, Content: text}
}

func TestMatch(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		text, intent string
		slots        map[string]string
	}{
		// As typed, and as pocketsphinx hears flite speech.
		{"Where is my order 1234?", "order_status", map[string]string{"order_id": "1234"}},
		{"where is my ardor one two three four", "order_status", map[string]string{"order_id": "1234"}},
		{"order status for order one to three for", "order_status", map[string]string{"order_id": "1234"}},
		{"um where's my package", "order_status", map[string]string{}},
		{"what are your shipping times to canada", "shipping_times", map[string]string{}},
		{"how long does shipping date", "shipping_times", map[string]string{}},
		{"i would like to return the pair of shoes", "returns", map[string]string{}},
		{"i want to a refund for my order", "returns", map[string]string{}},
		{"can i talk to a human please", "human", map[string]string{}},
		{"representative", "human", map[string]string{}},
		{"set the timer for five minutes", "set_timer", map[string]string{"duration": "300"}},
		{"set a timer for one hour and thirty minutes", "set_timer", map[string]string{"duration": "5400"}},
		{"what time is it", "get_time", map[string]string{}},
		{"turn off the bedroom lives", "lights", map[string]string{"state": "off", "room": "bedroom"}},
		{"so no no lights in the kitchen", "lights", map[string]string{"room": "kitchen"}}, // then asks "on or off?"
		{"turn on the lights in the kitchen", "lights", map[string]string{"state": "on", "room": "kitchen"}},
		{"dónde está mi pedido uno dos tres cuatro", "order_status", map[string]string{"order_id": "1234"}},
		{"wie spät ist es", "get_time", map[string]string{}},
		{"cancel my order", "cancel_order", map[string]string{}},
		{"cancel the timer", "cancel_timer", map[string]string{}},
		{"agent", "human", map[string]string{}},
		{"thank you", "goodbye", map[string]string{}},
		{"what about order five six seven eight", "order_status", map[string]string{"order_id": "5678"}},
		{"ten minute timer", "set_timer", map[string]string{"duration": "600"}},
		{"okay", "", nil},
		{"i have a question", "", nil},
		{"the weather in paris tomorrow", "", nil},
		{"stop", "", nil},
		{"uh huh", "", nil},
		{"", "", nil},
	} {
		m := e.Match(tc.text)
		if m.Intent != tc.intent {
			t.Errorf("%q: intent %q (%.2f), want %q", tc.text, m.Intent, m.Score, tc.intent)
			continue
		}
		if tc.slots != nil && fmt.Sprint(m.Slots) != fmt.Sprint(tc.slots) {
			t.Errorf("%q: slots %v, want %v", tc.text, m.Slots, tc.slots)
		}
	}
}

func TestOrderToolRoundTrip(t *testing.T) {
	e := newEngine(t)
	tools := e.Tools()
	msgs := []pipeline.Message{
		{Role: pipeline.RoleSystem, Content: "You are a support agent."},
		user("where is my order one two three four"),
	}
	text, calls := run(t, e, pipeline.Request{Messages: msgs, Tools: tools})
	if text != "" || len(calls) != 1 {
		t.Fatalf("got %q and %d calls, want one tool call", text, len(calls))
	}
	call := calls[0]
	if call.Name != "lookup_order" || call.Arguments != `{"order_id":"1234"}` || call.ID == "" {
		t.Fatalf("call %+v", call)
	}
	msgs = append(msgs,
		pipeline.Message{Role: pipeline.RoleAssistant, ToolCalls: calls},
		pipeline.Message{Role: pipeline.RoleTool, ToolCallID: call.ID,
			Content: `{"order_id":"1234","status":"shipped","item":"running shoes","carrier":"UPS","shipped":"Tuesday","eta":"Friday"}`})
	text, calls = run(t, e, pipeline.Request{Messages: msgs, Tools: tools})
	want := "Your order 1 2 3 4, the running shoes, shipped on Tuesday with UPS and should arrive on Friday."
	if text != want || len(calls) != 0 {
		t.Errorf("reply %q (%d calls), want %q", text, len(calls), want)
	}

	for result, want := range map[string]string{
		`{"order_id":"1234","status":"not_found"}`:               "I could not find an order with the number 1 2 3 4.",
		`{"order_id":"1234","status":"lost at sea"}`:             "Your order 1 2 3 4 is lost at sea.",
		`error: database unavailable`:                            "Sorry, something went wrong",
		`{"order_id":"1234","status":"processing","item":"mug"}`: "Your order 1 2 3 4, the mug, is being packed",
	} {
		msgs[len(msgs)-1].Content = result
		if text, _ := run(t, e, pipeline.Request{Messages: msgs, Tools: tools}); !strings.HasPrefix(text, want) {
			t.Errorf("result %s: reply %q, want %q...", result, text, want)
		}
	}
}

func TestSlotPrompt(t *testing.T) {
	e := newEngine(t)
	tools := e.Tools()
	msgs := []pipeline.Message{user("where is my order")}
	text, calls := run(t, e, pipeline.Request{Messages: msgs, Tools: tools})
	if text != "Sure, I can check that. What is your order number?" || calls != nil {
		t.Fatalf("reply %q %v, want the order-number prompt", text, calls)
	}
	msgs = append(msgs, pipeline.Message{Role: pipeline.RoleAssistant, Content: text}, user("it's five six seven eight"))
	_, calls = run(t, e, pipeline.Request{Messages: msgs, Tools: tools})
	if len(calls) != 1 || calls[0].Arguments != `{"order_id":"5678"}` {
		t.Fatalf("after the prompt: calls %+v, want lookup_order 5678", calls)
	}
	// Without our question before it, a bare number means nothing.
	if text, calls := run(t, e, pipeline.Request{Messages: []pipeline.Message{user("five six seven eight")}, Tools: tools}); calls != nil || !strings.HasPrefix(text, "Sorry") {
		t.Errorf("bare number: %q %v, want the fallback", text, calls)
	}
}

func TestSmartSpeaker(t *testing.T) {
	speaker, err := dialogue.BuiltinDomain("smart-speaker")
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, dialogue.WithDomains(speaker))
	tools := e.Tools()
	for _, tc := range []struct {
		say, tool, args, result, reply string
	}{
		{"set a timer for twenty five minutes", "set_timer", `{"seconds":1500}`, `{"id":1,"ends":"3:45 PM"}`, "Okay, a timer for 25 minutes, ending at 3:45 PM."},
		{"set a timer for half an hour", "set_timer", `{"seconds":1800}`, `{"id":2}`, "Okay, a timer for half an hour."},
		{"turn the lights off", "set_lights", `{"room":"all","state":"off"}`, `{"room":"all","state":"off"}`, "Okay, all the lights are off."},
		{"turn on the living room lights", "set_lights", `{"room":"living room","state":"on"}`, `{"room":"living room","state":"on"}`, "Okay, the living room lights are on."},
		{"what time is it", "get_time", `{}`, `{"time":"3:04 PM","weekday":"Wednesday"}`, "It is 3:04 PM on Wednesday."},
		{"how much time is left on my timer", "list_timers", `{}`, `{"count":0}`, "You have no timers running."},
		{"cancel the timer", "cancel_timers", `{}`, `{"cancelled":1}`, "Okay, timer cancelled."},
	} {
		msgs := []pipeline.Message{user(tc.say)}
		_, calls := run(t, e, pipeline.Request{Messages: msgs, Tools: tools})
		if len(calls) != 1 || calls[0].Name != tc.tool || calls[0].Arguments != tc.args {
			t.Errorf("%q: calls %+v, want %s %s", tc.say, calls, tc.tool, tc.args)
			continue
		}
		msgs = append(msgs, pipeline.Message{Role: pipeline.RoleAssistant, ToolCalls: calls},
			pipeline.Message{Role: pipeline.RoleTool, ToolCallID: calls[0].ID, Content: tc.result})
		if text, _ := run(t, e, pipeline.Request{Messages: msgs, Tools: tools}); text != tc.reply {
			t.Errorf("%q: reply %q, want %q", tc.say, text, tc.reply)
		}
	}
	if text, _ := run(t, e, pipeline.Request{Messages: []pipeline.Message{user("set a timer")}, Tools: tools}); text != "For how long?" {
		t.Errorf("timer without a duration: %q", text)
	}
}

func TestLanguages(t *testing.T) {
	e := newEngine(t)
	tools := e.Tools()
	for _, tc := range []struct{ lang, say, want string }{
		{"es", "cuánto tarda el envío", "El envío estándar tarda"},
		{"de-DE", "wie lange dauert der versand", "Der Standardversand dauert"},
		{"es-MX", "blah blah", "Perdón, no le entendí."},
		{"fr", "bonjour le monde", "Sorry, I did not catch that."}, // no French: English
		{"es", "hola", "¡Hola!"},
		{"", "quiero hablar con una persona", ""},
	} {
		text, calls := run(t, e, pipeline.Request{Messages: []pipeline.Message{user(tc.say)}, Tools: tools, Language: tc.lang})
		if tc.want == "" {
			if len(calls) != 1 || calls[0].Name != "transfer_to_human" {
				t.Errorf("%q: %q %+v, want transfer_to_human", tc.say, text, calls)
			}
			continue
		}
		if !strings.HasPrefix(text, tc.want) {
			t.Errorf("%s %q: %q, want %q...", tc.lang, tc.say, text, tc.want)
		}
	}
}

func TestNoTool(t *testing.T) {
	e := newEngine(t)
	text, calls := run(t, e, pipeline.Request{Messages: []pipeline.Message{user("where is my order 1234")}})
	if calls != nil || text != "Sorry, I cannot look that up right now." {
		t.Errorf("no tools offered: %q %v", text, calls)
	}
}

func TestStreamErrors(t *testing.T) {
	e := newEngine(t)
	var got error
	for _, err := range e.Stream(context.Background(), pipeline.Request{}) {
		got = err
	}
	if !errors.Is(got, dialogue.ErrRequest) {
		t.Errorf("empty request: %v, want ErrRequest", got)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("barge-in")
	cancel(cause)
	got = nil
	for _, err := range e.Stream(ctx, pipeline.Request{Messages: []pipeline.Message{user("hello")}}) {
		got = err
	}
	if !errors.Is(got, cause) {
		t.Errorf("cancelled: %v, want the cause", got)
	}
	// Stopping early is fine, and words arrive one by one.
	n := 0
	for d, err := range e.Stream(context.Background(), pipeline.Request{Messages: []pipeline.Message{user("how do returns work")}}) {
		if err != nil || strings.Count(strings.TrimSpace(d.Text), " ") > 0 {
			t.Errorf("delta %q, %v: want one word", d.Text, err)
		}
		if n++; n == 3 {
			break
		}
	}
	// A conversation ending with the assistant needs no reply.
	for d := range e.Stream(context.Background(), pipeline.Request{Messages: []pipeline.Message{{Role: pipeline.RoleAssistant, Content: "Hi"}}}) {
		t.Errorf("reply %+v after the assistant's own message", d)
	}
}

func TestOptionsAndDomains(t *testing.T) {
	for _, o := range []dialogue.Option{dialogue.WithThreshold(0), dialogue.WithThreshold(1), dialogue.WithDomains()} {
		if _, err := dialogue.New(o); !errors.Is(err, dialogue.ErrOption) {
			t.Errorf("bad option: %v, want ErrOption", err)
		}
	}
	if _, err := dialogue.BuiltinDomain("weather"); !errors.Is(err, dialogue.ErrDomain) {
		t.Errorf("unknown domain: %v", err)
	}
	for _, bad := range []string{
		`{`,
		`{"name":"x","language":"en","fallback":{"en":"?"},"intents":[],"extra":1}`,
		`{"name":"x","language":"en","fallback":{}}`,
		`{"name":"x","language":"en","fallback":{"en":"?"},"intents":[{"name":"a","examples":{"en":["hi {who}"]},"reply":[{"text":{"en":"hi"}}]}]}`,
		`{"name":"x","language":"en","fallback":{"en":"?"},"intents":[{"name":"a","examples":{"en":["hi"]},"reply":[]}]}`,
		`{"name":"x","language":"en","fallback":{"en":"?"},"intents":[{"name":"a","examples":{"en":["hi {n}"]},"slots":{"n":{"type":"colour"}},"reply":[{"text":{"en":"hi"}}]}]}`,
		`{"name":"x","language":"en","fallback":{"en":"?"},"intents":[{"name":"a","examples":{"en":["hi {n}"]},"slots":{"n":{"type":"number","required":true}},"reply":[{"text":{"en":"hi"}}]}]}`,
	} {
		if _, err := dialogue.LoadDomain(strings.NewReader(bad)); !errors.Is(err, dialogue.ErrDomain) {
			t.Errorf("LoadDomain(%s): %v, want ErrDomain", bad, err)
		}
	}
	var schema map[string]any
	for _, tool := range newEngine(t).Tools() {
		if err := json.Unmarshal(tool.Parameters, &schema); err != nil || schema["type"] != "object" || tool.Description == "" {
			t.Errorf("tool %s: schema %s", tool.Name, tool.Parameters)
		}
	}
}

func TestVocabulary(t *testing.T) {
	v := newEngine(t).Vocabulary("en-US")
	joined := strings.Join(v, "\n")
	for _, want := range []string{"where is my order one two three four", "set a timer for five minutes", "turn on the kitchen lights"} {
		if !strings.Contains(joined, want) {
			t.Errorf("vocabulary lacks %q", want)
		}
	}
	if strings.Contains(joined, "{") {
		t.Error("vocabulary has unfilled slots")
	}
}

func FuzzMatch(f *testing.F) {
	e := newEngine(f)
	for _, s := range []string{"where is my order one two three four", "double triple hundred thousand", "{x} {", "half an", "one hundred hundred"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := e.Match(s)
		if m.Score < 0 || m.Score > 1.0000001 {
			t.Errorf("score %v", m.Score)
		}
		run(t, e, pipeline.Request{Messages: []pipeline.Message{user(s)}, Tools: e.Tools()})
	})
}

func BenchmarkMatch(b *testing.B) {
	e := newEngine(b)
	for b.Loop() {
		e.Match("um where is my ardor one two three four please")
	}
}

func Example() {
	e, err := dialogue.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	req := pipeline.Request{
		Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "where is my order one two three four"}},
		Tools:    e.Tools(),
	}
	for d, err := range e.Stream(context.Background(), req) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(d.ToolCall.Name, d.ToolCall.Arguments)
	}
	// Output: lookup_order {"order_id":"1234"}
}

func ExampleEngine_Match() {
	e, err := dialogue.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	// As a recogniser may hear "Set a timer for twenty-five minutes".
	m := e.Match("set the timer for twenty five minutes")
	fmt.Println(m.Intent, m.Slots["duration"])
	// Output: set_timer 1500
}

func TestRepeat(t *testing.T) {
	e := newEngine(t)
	tools := e.Tools()
	call := pipeline.ToolCall{ID: "call_order_status_1", Name: "lookup_order", Arguments: `{"order_id":"4321"}`}
	history := []pipeline.Message{
		user("where is my order 4321"),
		{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{call}},
		{Role: pipeline.RoleTool, ToolCallID: call.ID, Content: `{"order_id":"4321","status":"delivered","item":"lamp","delivered":"Monday"}`},
		{Role: pipeline.RoleAssistant, Content: "Your order 4 3", Interrupted: true},
	}
	for _, tc := range []struct {
		name string
		msgs []pipeline.Message
		want string
	}{
		{"cut-off tool reply", append(history, user("sorry what was that")), "Your order 4 3 2 1, the lamp, was delivered on Monday."},
		{"cut-off text reply", []pipeline.Message{
			user("how long does shipping take"),
			{Role: pipeline.RoleAssistant, Content: "Standard shipping", Interrupted: true},
			user("say that again"),
		}, "Standard shipping takes three to five business days"},
		{"whole reply", []pipeline.Message{
			user("hello"), {Role: pipeline.RoleAssistant, Content: "Hi, what can I do?"}, user("can you repeat that"),
		}, "Hi, what can I do?"},
		{"nothing said yet", []pipeline.Message{user("can you repeat that")}, "I have not said anything yet."},
	} {
		text, calls := run(t, e, pipeline.Request{Messages: tc.msgs, Tools: tools})
		if calls != nil || !strings.HasPrefix(text, tc.want) {
			t.Errorf("%s: %q %v, want %q...", tc.name, text, calls, tc.want)
		}
	}
}
