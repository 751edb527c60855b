package pipeline_test

import (
	"fmt"
	"testing"

	"github.com/harkvoice/hark/pipeline"
)

func TestSpeakable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Plain text, nothing to do.", "Plain text, nothing to do."},
		{"Your order is **on its way**.", "Your order is on its way."},
		{"It is *really* __important__ and _soon_.", "It is really important and soon."},
		{"Run `make test` first.", "Run make test first."},
		{"## Returns", "Returns"},
		{"- first item\n- second item", "first item\nsecond item"},
		{"* one\n+ two", "one\ntwo"},
		{"> - quoted bullet", "quoted bullet"},
		{"1. Open the box.", "1. Open the box."},
		{"See [the manual](https://example.com/manual) for details.", "See the manual for details."},
		{"![a red kettle](kettle.png)", "a red kettle"},
		{"```go\nfmt.Println()\n```", "fmt.Println()"},
		{"---", ""},
		{"| item | price |\n|---|---:|\n| tea | 3 |", "item, price\ntea, 3"},
		{"5 * 3 is 15", "5 * 3 is 15"},
		{"the snake_case name", "the snake_case name"},
		{"#hashtag stays", "#hashtag stays"},
		{"a - b", "a - b"},
		{"[not a link] and [x]", "[not a link] and [x]"},
		{"**Precio:** 12 €", "Precio: 12 €"},
		{"「**重要**」です", "「重要」です"},
	}
	for _, tt := range tests {
		if got := pipeline.Speakable(tt.in); got != tt.want {
			t.Errorf("Speakable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func ExampleSpeakable() {
	fmt.Println(pipeline.Speakable("**Good news:** your order [#1234](https://shop.example/o/1234) ships *today*."))
	// Output: Good news: your order #1234 ships today.
}
