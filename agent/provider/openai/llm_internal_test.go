package openai

import (
	"reflect"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/harkvoice/hark/pipeline"
)

func TestToolCallsWithoutIndex(t *testing.T) {
	// Some servers send whole calls, or fragments, without an index.
	var tc toolCalls
	tc.add([]goopenai.ToolCall{{ID: "a", Function: goopenai.FunctionCall{Name: "f", Arguments: `{"x":`}}})
	tc.add([]goopenai.ToolCall{{Function: goopenai.FunctionCall{Arguments: `1}`}}})
	tc.add([]goopenai.ToolCall{{ID: "b", Function: goopenai.FunctionCall{Name: "g"}}})
	bad := -1
	tc.add([]goopenai.ToolCall{{Index: &bad, ID: "c", Function: goopenai.FunctionCall{Name: "h"}}})
	want := []pipeline.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: "{}"}}
	if got := tc.complete(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestLanguages(t *testing.T) {
	for in, want := range map[string]string{
		"english": "en", "Spanish": "es", "mandarin": "zh", "en": "en", "zh-CN": "zh-CN",
		"jw": "jv", "klingon": "", "": "",
	} {
		if got := languageCode(in); got != want {
			t.Errorf("languageCode(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"es": "Spanish (es)", "pt-BR": "Portuguese (pt-BR)", "xx": "the language with BCP-47 tag xx"} {
		if got := languageName(in); got != want {
			t.Errorf("languageName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := baseLanguage(" zh_Hant-TW"); got != "zh" {
		t.Errorf("baseLanguage = %q", got)
	}
	for in, want := range map[string]string{"es-MX": "es", "yue": "yue", "auto": "", "": "", "e1": ""} {
		if got := isoLanguage(in); got != want {
			t.Errorf("isoLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThinkFilter(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{[]string{"<thi", "nk>\nplan the answer ", "carefully</th", "ink>\n\nHello", " there."}, "Hello there."},
		{[]string{"\n<think></think>", "Hi."}, "Hi."},
		{[]string{"<", "b>bold</b>"}, "<b>bold</b>"},
		{[]string{"Hello <think> is a tag."}, "Hello <think> is a tag."},
		{[]string{" <th"}, " <th"},
		{[]string{"<think>never closed"}, ""},
	} {
		var f thinkFilter
		got := ""
		for _, d := range tt.in {
			got += f.push(d)
		}
		got += f.flush()
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzThinkFilter(f *testing.F) {
	f.Add("<think>plan</think>\n\nHello there.", uint8(3))
	f.Add("  <thi", uint8(1))
	f.Add("Hello <think>", uint8(2))
	f.Fuzz(func(t *testing.T, text string, n uint8) {
		run := func(size int) string {
			var tf thinkFilter
			out := ""
			for i := 0; i < len(text); i += size {
				out += tf.push(text[i:min(i+size, len(text))])
			}
			return out + tf.flush()
		}
		whole, pieces := run(len(text)+1), run(int(n%7)+1)
		if whole != pieces {
			t.Fatalf("splitting changed the output: %q vs %q", whole, pieces)
		}
		if !strings.Contains(text, thinkOpen) && whole != text {
			t.Fatalf("text without a think block changed: %q -> %q", text, whole)
		}
	})
}
