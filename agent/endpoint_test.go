package agent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/harkvoice/hark/pipeline"
)

// mustCodes parses code formats named by keywords, for tests.
func mustCodes(t *testing.T, formats ...CodeFormat) []codeFormat {
	t.Helper()
	var c config
	if err := WithCodeFormats(formats...)(&c); err != nil {
		t.Fatal(err)
	}
	return c.codes
}

func TestEndpointerClassify(t *testing.T) {
	order := CodeFormat{Pattern: "^[0-9]{4}$", Keywords: []string{"order"}}
	phone := CodeFormat{Pattern: `^\d{10}$`, Keywords: []string{"phone"}}
	booking := CodeFormat{Pattern: "[A-Z]{2}[0-9]{3}"}
	for _, tc := range []struct {
		text, lang string
		codes      []CodeFormat
		want       ending
	}{
		// Complete words: the ordinary end of turn.
		{"What are your shipping times to Canada?", "en", nil, endComplete},
		{"Set a timer for five minutes.", "en", nil, endComplete},
		{"turn the lights on", "en", nil, endComplete},
		{"I would like to return a pair of shoes.", "en", nil, endComplete},
		{"", "en", nil, endComplete},
		{"quiero hablar con Ana", "es", nil, endComplete},
		{"我想要一个大披萨", "zh", nil, endComplete},
		// Unfinished phrases and fillers: held.
		{"I'd like to order a", "en", nil, endOpen},
		{"can you send it to the", "en", nil, endOpen},
		{"my order number is", "en", nil, endOpen},
		{"I need um", "en", nil, endOpen},
		{"quiero hablar con", "es", nil, endOpen},
		{"necesito eh", "es", nil, endOpen},
		{"je voudrais parler à", "fr", nil, endOpen},
		{"euh", "fr", nil, endOpen},
		{"ich möchte eine", "de", nil, endOpen},
		{"ich brauche ähm", "de", nil, endOpen},
		{"我想要一个大的", "zh", nil, endOpen},
		{"我的号码是", "zh", nil, endOpen},
		// Digits and spelled letters with nothing expected: held.
		{"where is my order one two three four", "en", nil, endSpelling},
		{"my order is 1234", "en", nil, endSpelling},
		{"the code is a b", "en", nil, endSpelling},
		{"a b seven four", "en", nil, endSpelling},
		{"call me at 555 12", "en", nil, endSpelling},
		{"it is twenty", "en", nil, endSpelling},
		{"mi número es tres cuatro", "es", nil, endSpelling},
		{"meine Nummer ist drei vier", "de", nil, endSpelling},
		{"我的号码是三四", "zh", nil, endSpelling},
		// A code complete for what is expected: at once.
		{"where is my order one two three four", "en", []CodeFormat{order}, endCode},
		{"Where is my order 1234?", "en", []CodeFormat{order}, endCode},
		{"my order is double five one two", "en", []CodeFormat{order}, endCode},
		{"my order is one two three", "en", []CodeFormat{order}, endSpelling},           // can grow
		{"my order is one two three four five", "en", []CodeFormat{order}, endSpelling}, // matches nothing
		// Named codes: the order keyword picks the order format, so the
		// phone number cannot make the code grow.
		{"where is my order one two three four", "en", []CodeFormat{order, phone}, endCode},
		{"my number is one two three four", "en", []CodeFormat{order, phone}, endSpelling},
		{"my booking is a b one two three", "en", []CodeFormat{booking}, endCode},
		{"my booking is a b one two", "en", []CodeFormat{booking}, endSpelling},
		{"mi pedido es uno dos tres cuatro", "es", []CodeFormat{{Pattern: "[0-9]{4}", Keywords: []string{"pedido"}}}, endCode},
		// Email addresses: spelling until the top-level domain.
		{"my email is john dot smith at", "en", nil, endSpelling},
		{"my email is john at example", "en", nil, endSpelling},
		{"john dot smith at example dot", "en", nil, endSpelling},
		{"my email is john dot smith at example dot com", "en", nil, endComplete},
		{"It's john.smith@example.com.", "en", nil, endComplete},
		// The at word misheard: a cue, a name, then dot and a domain.
		{"my email is john galt smith that example dot com", "en", nil, endComplete},
		{"my email is john dot", "en", nil, endSpelling},
		{"email dot com", "en", nil, endSpelling},
		// Words that sound like digits, inside a code only.
		{"the code is k l for five", "en", []CodeFormat{{Pattern: "[A-Z]{2}[0-9]{2}", Keywords: []string{"code"}}}, endCode},
		{"my order is one two to four", "en", []CodeFormat{order}, endCode},
		{"please send it to one two three", "en", []CodeFormat{order}, endSpelling},
		{"I want to go to", "en", nil, endOpen},
		{"my order number is and they", "en", nil, endOpen}, // "A B" misheard
		{"It's john.smith@", "en", nil, endSpelling},
		{"meet me at noon", "en", nil, endComplete}, // "at", but no address
		{"my email is john", "en", nil, endSpelling},
		{"my email is john dot smith", "en", nil, endSpelling},
		{"I sent you an email", "en", nil, endComplete},
		{"mi correo es juan arroba ejemplo punto com", "es", nil, endComplete},
		{"mi correo es juan arroba ejemplo", "es", nil, endSpelling},
	} {
		e := endpointer{complete: 200 * time.Millisecond, open: 1700 * time.Millisecond, codes: mustCodes(t, tc.codes...)}
		if got := e.classify(tc.text, tc.lang); got != tc.want {
			t.Errorf("classify(%q, %s) with %d codes = %v, want %v", tc.text, tc.lang, len(tc.codes), got, tc.want)
		}
	}
}

func TestEndpointerWait(t *testing.T) {
	e := endpointer{complete: 200 * time.Millisecond, open: 1700 * time.Millisecond,
		codes: mustCodes(t, CodeFormat{Pattern: "[0-9]{4}"})}
	for text, want := range map[string]time.Duration{
		"what time is it":             200 * time.Millisecond,
		"I want the":                  1700 * time.Millisecond,
		"my order is one two":         1700 * time.Millisecond,
		"my order is one two three 4": 0,
	} {
		if got := e.wait(text, "en"); got != want {
			t.Errorf("wait(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestCodeFormatMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, code string
		full, grow    bool
	}{
		{"^[0-9]{4}$", "1234", true, false},
		{"^[0-9]{4}$", "123", false, true},
		{"^[0-9]{4}$", "12345", false, false},
		{"^[0-9]{4}$", "12A4", false, false},
		{`^\d{4,6}$`, "1234", true, true},
		{`^\d{4,6}$`, "123456", true, false},
		{"[A-Z]{2}[0-9]{6}", "AB123456", true, false},
		{"[A-Z]{2}[0-9]{6}", "AB12", false, true},
		{"[A-Z]{2}[0-9]{6}", "1234", false, false},
		{"(?i)[a-z]{2}-?[0-9]{3}", "AB123", true, false},
		{"[0-9]+", "12", true, true},
		{"ORD[0-9]{3}", "ORD123", true, false},
		{"[0-9]{3}[A-Z]?", "123", true, true},
		{"[0-9]{3}[A-Z]?", "123X", true, false},
	} {
		items, err := parseCodeFormat(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		full, grow := codeFormat{items: items}.match(tc.code)
		if full != tc.full || grow != tc.grow {
			t.Errorf("%s on %q: full %v grow %v, want %v %v", tc.pattern, tc.code, full, grow, tc.full, tc.grow)
		}
	}
	for _, bad := range []string{"(ab|cd)[0-9]", "[0-9]{2}(x[0-9])+", "(", ""} {
		if _, err := parseCodeFormat(bad); err == nil {
			t.Errorf("parseCodeFormat(%q) accepted", bad)
		}
	}
	var c config
	if err := WithCodeFormats(CodeFormat{Pattern: "(a|b)c"})(&c); err == nil {
		t.Error("WithCodeFormats accepted an alternative")
	}
}

func TestToolCodes(t *testing.T) {
	tool := func(name, params string) pipeline.Tool {
		return pipeline.Tool{Name: name, Parameters: json.RawMessage(params)}
	}
	codes := toolCodes([]pipeline.Tool{
		tool("lookup_order", `{"type":"object","properties":{"order_id":{"type":"string","pattern":"^[0-9]{4}$"}}}`),
		tool("book", `{"type":"object","properties":{"ref":{"type":"string","minLength":6,"maxLength":6},"notes":{"type":"string"}}}`),
		tool("set_pin", `{"type":"object","properties":{"pin":{"type":"integer","minimum":1000,"maximum":9999}}}`),
		tool("odd", `{"type":"object","properties":{"x":{"type":"string","pattern":"(a|b)+"}}}`),
		tool("nested", `{"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":["string","null"],"pattern":"[A-Z]{3}[0-9]{2}"}}}}}}`),
		tool("none", ``),
		tool("broken", `{`),
	})
	got := map[string][]string{}
	for _, c := range codes {
		got[c.name] = c.keywords
	}
	want := map[string][]string{
		"lookup_order.order_id": {"order"},
		"book.ref":              {"book"},
		"set_pin.pin":           {"pin"},
		"nested.sku":            {"sku"},
	}
	if len(got) != len(want) {
		t.Fatalf("codes %v, want %v", got, want)
	}
	for name, kw := range want {
		if g, ok := got[name]; !ok || len(g) != len(kw) || g[0] != kw[0] {
			t.Errorf("%s: keywords %q, want %q", name, g, kw)
		}
	}
	e := endpointer{codes: codes}
	for text, want := range map[string]ending{
		"where is my order one two three four": endCode,
		"my pin is nine nine nine nine":        endCode,
		"my pin is nine nine":                  endSpelling,
	} {
		if got := e.classify(text, "en"); got != want {
			t.Errorf("classify(%q) = %v, want %v", text, got, want)
		}
	}
}
