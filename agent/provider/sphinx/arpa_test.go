package sphinx_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/harkvoice/hark/agent/provider/sphinx"
)

func TestWords(t *testing.T) {
	for in, want := range map[string]string{
		"Where's my order #1234?": "where's my order one two three four",
		"  ":                      "",
		"Hello, WORLD!":           "hello world",
		"'quoted' text":           "quoted text",
	} {
		if got := strings.Join(sphinx.Words(in), " "); got != want {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBuildARPA(t *testing.T) {
	if got := sphinx.BuildARPA([]string{"", "!"}); got != "" {
		t.Errorf("empty phrases gave a model: %q", got)
	}
	lm := sphinx.BuildARPA([]string{"turn on the lights", "turn off the lights"})
	for _, want := range []string{
		"ngram 1=7\n", "ngram 2=7\n", // <s> </s> turn on off the lights; 7 distinct bigrams
		"-99.0000 <s> ", "\n-0.1249 <s> turn\n", "\n-0.6021 turn on\n", "\n-0.3010 on the\n", "\\end\\",
	} {
		if !strings.Contains(lm, want) {
			t.Errorf("model lacks %q:\n%s", want, lm)
		}
	}
}

func ExampleWords() {
	fmt.Println(sphinx.Words("Order #42, please!"))
	// Output: [order four two please]
}

func FuzzBuildARPA(f *testing.F) {
	for _, s := range []string{"turn on the lights", "Order #1234!", "'''", "ünïcödé wörds", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range sphinx.Words(s) {
			if w == "" || strings.ContainsAny(w, " \t\n.,!?0123456789") {
				t.Errorf("Words(%q) gave %q", s, w)
			}
		}
		lm := sphinx.BuildARPA([]string{s, s + " again"})
		if len(sphinx.Words(s)) > 0 && (!strings.HasPrefix(lm, "\\data\\\n") || !strings.HasSuffix(lm, "\\end\\\n")) {
			t.Errorf("BuildARPA(%q) is not an ARPA model:\n%s", s, lm)
		}
	})
}
