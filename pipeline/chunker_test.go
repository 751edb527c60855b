package pipeline_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/harkvoice/hark/pipeline"
)

// chunk feeds text to a new Chunker in pieces of n bytes (0: all at once)
// and returns every chunk, the flushed rest included.
func chunk(text string, n int, opts ...pipeline.ChunkerOption) []string {
	c := pipeline.NewChunker(opts...)
	var out []string
	if n <= 0 {
		n = len(text) + 1
	}
	for i := 0; i < len(text); i += n {
		out = append(out, c.Push(text[i:min(i+n, len(text))])...)
	}
	if rest := c.Flush(); rest != "" {
		out = append(out, rest)
	}
	return out
}

func TestChunker(t *testing.T) {
	tests := []struct {
		name string
		opts []pipeline.ChunkerOption
		in   string
		want []string
	}{
		{
			name: "english sentences",
			in:   "Sure, I can help with that. The store opens at nine. Anything else I can do for you today?",
			want: []string{"Sure, I can help with that.", "The store opens at nine.", "Anything else I can do for you today?"},
		},
		{
			name: "first chunk at a clause",
			in:   "Well, the weather in Paris today is sunny, with highs of twenty degrees. Bring sunglasses, and enjoy it.",
			want: []string{"Well, the weather in Paris today is sunny,", "with highs of twenty degrees.", "Bring sunglasses, and enjoy it."},
		},
		{
			name: "decimals times and thousands",
			in:   "Version 3.5 ships at 10:30 tomorrow. It costs $1,299.99 for 2,000 seats. See you then.",
			want: []string{"Version 3.5 ships at 10:30 tomorrow.", "It costs $1,299.99 for 2,000 seats.", "See you then."},
		},
		{
			name: "abbreviations",
			in:   "Dr. Smith will see you at 9 a.m. on Monday. Bring documents, e.g. your passport, i.e. an ID. The U.S. office agrees with Mr. Jones.",
			want: []string{"Dr. Smith will see you at 9 a.m. on Monday.", "Bring documents, e.g. your passport, i.e. an ID.", "The U.S. office agrees with Mr. Jones."},
		},
		{
			name: "etc before a capital ends a sentence",
			in:   "We sell apples, pears, etc. and more fruit of all kinds. We sell nuts, seeds, etc. That is our whole list today.",
			want: []string{"We sell apples,", "pears, etc. and more fruit of all kinds.", "We sell nuts, seeds, etc.", "That is our whole list today."},
		},
		{
			name: "no before a number",
			in:   "Your ticket is No. 5 in the queue today. The answer is no. Is there anything else?",
			want: []string{"Your ticket is No. 5 in the queue today.", "The answer is no. Is there anything else?"},
		},
		{
			name: "no at a sentence end",
			opts: []pipeline.ChunkerOption{pipeline.WithMinChunk(0)},
			in:   "Can I return it after a year? Sadly no. Only No. 1 stores take it.",
			want: []string{"Can I return it after a year?", "Sadly no.", "Only No. 1 stores take it."},
		},
		{
			name: "question mark after an abbreviation",
			in:   "¿Y cómo está Ud.? Muy bien, gracias por preguntar. Adiós.",
			want: []string{"¿Y cómo está Ud.?", "Muy bien, gracias por preguntar.", "Adiós."},
		},
		{
			name: "urls and email",
			in:   "Visit https://example.com/help?topic=a.b for details. Or write to ana.lopez@example.es. We answer quickly.",
			want: []string{"Visit https://example.com/help?topic=a.b for details.", "Or write to ana.lopez@example.es.", "We answer quickly."},
		},
		{
			name: "quotes and ellipsis",
			in:   "He said \"it works.\" Then he left... Nobody knew why she was so upset about it! Really?! Yes.",
			want: []string{"He said \"it works.\"", "Then he left... Nobody knew why she was so upset about it!", "Really?! Yes."},
		},
		{
			name: "newlines and list numbers",
			in:   "Here are the steps:\n1. Open the settings app on your phone.\n2. Tap on the privacy section now.\n",
			want: []string{"Here are the steps:", "1. Open the settings app on your phone.", "2. Tap on the privacy section now."},
		},
		{
			name: "spanish",
			in:   "¿Cómo estás? ¡Qué bien verte otra vez! El Sr. García llega a las 10:30, con 3,5 kilos de fruta. ¿Quieres algo?",
			want: []string{"¿Cómo estás?", "¡Qué bien verte otra vez!", "El Sr. García llega a las 10:30, con 3,5 kilos de fruta.", "¿Quieres algo?"},
		},
		{
			name: "chinese",
			in:   "你好，我是你的助手。今天天气很好，气温是3.5度。你想去哪里？我们可以一起去公园散步！",
			want: []string{"你好，我是你的助手。", "今天天气很好，气温是3.5度。", "你想去哪里？我们可以一起去公园散步！"},
		},
		{
			name: "chinese quotes",
			opts: []pipeline.ChunkerOption{pipeline.WithFirstChunkMin(0), pipeline.WithMinChunk(0)},
			in:   "他说：“好的。”然后走了。",
			want: []string{"他说：", "“好的。”", "然后走了。"},
		},
		{
			name: "first chunk as early as allowed",
			opts: []pipeline.ChunkerOption{pipeline.WithFirstChunkMin(0), pipeline.WithMinChunk(0)},
			in:   "Sure! Let me check. One moment.",
			want: []string{"Sure!", "Let me check.", "One moment."},
		},
		{
			name: "later chunks join short sentences",
			opts: []pipeline.ChunkerOption{pipeline.WithMinChunk(30)},
			in:   "Absolutely, here it is. Yes. No. Maybe so. That is all I know about it.",
			want: []string{"Absolutely, here it is.", "Yes. No. Maybe so. That is all I know about it."},
		},
		{
			name: "long sentence cut at a clause",
			opts: []pipeline.ChunkerOption{pipeline.WithMaxChunk(40)},
			in:   "Okay. The first thing, which matters most, is that you keep the receipt and the box",
			want: []string{"Okay. The first thing,", "which matters most,", "is that you keep the receipt and the", "box"},
		},
		{
			name: "long chinese without punctuation",
			opts: []pipeline.ChunkerOption{pipeline.WithMaxChunk(10)},
			in:   "一二三四五六七八九十",
			want: []string{"一二三四五", "六七八九十"},
		},
		{
			name: "only punctuation is not a chunk",
			opts: []pipeline.ChunkerOption{pipeline.WithFirstChunkMin(0)},
			in:   "... Hello there. ",
			want: []string{"... Hello there."},
		},
		{
			name: "unfinished sentence is flushed",
			in:   "I am still thinking about 3.",
			want: []string{"I am still thinking about 3."},
		},
		{name: "empty", in: "", want: nil},
		{name: "spaces", in: "  \n ", want: nil},
	}
	for _, tt := range tests {
		for _, n := range []int{0, 1, 2, 3, 7} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				got := chunk(tt.in, n, tt.opts...)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("pieces of %d bytes:\n got %q\nwant %q", n, got, tt.want)
				}
			})
		}
	}
}

func TestChunkerPushReturnsEarly(t *testing.T) {
	c := pipeline.NewChunker()
	if got := c.Push("Hello, my friend. How"); !reflect.DeepEqual(got, []string{"Hello, my friend."}) {
		t.Fatalf("Push = %q", got)
	}
	// A period at the end of the buffer waits for the next character.
	if got := c.Push(" are you doing today, the 3."); got != nil {
		t.Fatalf("Push = %q, want nil", got)
	}
	if got := c.Push("5th? Fine"); !reflect.DeepEqual(got, []string{"How are you doing today, the 3.5th?"}) {
		t.Fatalf("Push = %q", got)
	}
	if got := c.Flush(); got != "Fine" {
		t.Fatalf("Flush = %q", got)
	}
	// After Flush the next chunk is a first chunk again.
	if got := c.Push("Right, of course you can. "); !reflect.DeepEqual(got, []string{"Right, of course you can."}) {
		t.Fatalf("Push after Flush = %q", got)
	}
}

func TestChunkerOptions(t *testing.T) {
	// Negative values clamp to zero; a nil option is ignored.
	got := chunk("Hi. Yo. Ok.", 0, pipeline.WithFirstChunkMin(-3), pipeline.WithMinChunk(-1), pipeline.WithMaxChunk(-5), nil)
	want := []string{"Hi.", "Yo.", "Ok."}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func FuzzChunker(f *testing.F) {
	for _, s := range []string{
		"Dr. Smith paid $3.50 at 10:30, e.g. today. Fine!",
		"你好，世界。今天？",
		"¿Qué? ¡Sí! Sr. López… vale.\n1. uno\n2. dos",
		"see https://a.b/c?d=e. ok etc. Then",
		"\xe4\xbd", "a.\xff b",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, text string, n uint8) {
		if !utf8.ValidString(text) {
			return
		}
		whole := chunk(text, 0, pipeline.WithMaxChunk(30))
		pieces := chunk(text, int(n%9)+1, pipeline.WithMaxChunk(30))
		if !reflect.DeepEqual(whole, pieces) {
			t.Fatalf("splitting changed the chunks:\n%q\n%q", whole, pieces)
		}
		if got, want := squeeze(strings.Join(whole, "")), squeeze(text); got != want {
			t.Fatalf("chunks lost text: %q != %q", got, want)
		}
		for _, c := range whole {
			if c == "" || c != strings.TrimSpace(c) {
				t.Fatalf("untrimmed chunk %q", c)
			}
		}
	})
}

func BenchmarkChunker(b *testing.B) {
	reply := strings.Repeat("Sure, Dr. Smith can see you at 10:30 on Monday, e.g. before lunch. It costs $3.50! ", 4)
	tokens := strings.SplitAfter(reply, " ")
	b.SetBytes(int64(len(reply)))
	b.ReportAllocs()
	for b.Loop() {
		c := pipeline.NewChunker()
		for _, tok := range tokens {
			c.Push(tok)
		}
		c.Flush()
	}
}

func ExampleChunker() {
	c := pipeline.NewChunker()
	for _, delta := range []string{"Sure, Dr. Smith", " can see you at 10", ":30 tomorrow.", " It costs $3", ".50. Anything", " else?"} {
		for _, chunk := range c.Push(delta) {
			fmt.Printf("speak %q\n", chunk)
		}
	}
	fmt.Printf("speak %q\n", c.Flush())
	// Output:
	// speak "Sure, Dr. Smith can see you at 10:30 tomorrow."
	// speak "It costs $3.50. Anything else?"
}
