package pipeline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunker turns streamed LLM text into speakable chunks, so that speech can
// start before the model has finished its reply.
//
// The first chunk is cut at the earliest sentence or clause boundary
// (". ! ? ; : ," and "。！？；：，、", an ellipsis, a newline) once it is at
// least the first-chunk minimum long; later chunks are cut at sentence ends
// (". ! ? ;", "。！？；", an ellipsis, a newline) once they reach the chunk
// minimum. A chunk that grows past the maximum is cut at its last clause
// boundary, or else at its last space.
//
// Punctuation that does not end anything is never a boundary: decimals and
// thousands ("3.5", "3,5", "1,000"), times ("10:30"), URLs and e-mail
// addresses ("example.com/a?b", "ana@example.es"), abbreviations ("e.g.",
// "Dr.", "Sra.", "U.S.", "a.m.") and list numbers ("1. "). ASCII punctuation
// ends a sentence only when whitespace follows it, so the chunker waits for
// the character after a mark before it decides; Flush returns what is left.
//
// Lengths are counted in characters, a CJK character counting as two (it
// carries about a syllable). Concatenating the chunks gives back the input
// text apart from whitespace between chunks.
//
// A Chunker is not safe for concurrent use.
type Chunker struct {
	firstMin int
	min      int
	max      int

	buf     string
	started bool // a chunk of this reply was emitted already

	// Scan state over buf[:pos], kept between Push calls.
	pos       int
	width     int
	lastCut   int // end of the last boundary that did not qualify
	lastSpace int // index of the last whitespace
}

// ChunkerOption configures a Chunker.
type ChunkerOption func(*Chunker)

// Default chunk lengths, in characters (a CJK character counts as two).
const (
	DefaultFirstChunkMin = 12
	DefaultMinChunk      = 24
	DefaultMaxChunk      = 240
)

// WithFirstChunkMin sets how long the first chunk must be before a clause
// boundary may end it (default DefaultFirstChunkMin). Smaller values start
// speech sooner; 0 cuts at the very first boundary. Negative values count as 0.
func WithFirstChunkMin(n int) ChunkerOption {
	return func(c *Chunker) { c.firstMin = max(n, 0) }
}

// WithMinChunk sets how long later chunks must be before a sentence end may
// end them (default DefaultMinChunk); shorter sentences join the next one.
// Negative values count as 0.
func WithMinChunk(n int) ChunkerOption {
	return func(c *Chunker) { c.min = max(n, 0) }
}

// WithMaxChunk sets the length past which a chunk without a sentence end is
// cut at a clause boundary or a space (default DefaultMaxChunk). 0 or a
// negative value removes the limit.
func WithMaxChunk(n int) ChunkerOption {
	return func(c *Chunker) { c.max = max(n, 0) }
}

// NewChunker returns a Chunker for one reply.
func NewChunker(opts ...ChunkerOption) *Chunker {
	c := &Chunker{firstMin: DefaultFirstChunkMin, min: DefaultMinChunk, max: DefaultMaxChunk}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.resetScan()
	return c
}

// Push adds a text delta and returns the chunks it completed, trimmed of
// surrounding whitespace, or nil.
func (c *Chunker) Push(delta string) []string {
	if delta == "" {
		return nil
	}
	c.buf += delta
	var out []string
	for {
		end, ok := c.scan()
		if !ok {
			return out
		}
		if chunk := strings.TrimSpace(c.buf[:end]); chunk != "" {
			out = append(out, chunk)
			c.started = true
		}
		c.buf = c.buf[end:]
		c.resetScan()
	}
}

// Flush returns the text not yet emitted, trimmed, and resets the Chunker
// for a new reply (the next chunk is a first chunk again).
func (c *Chunker) Flush() string {
	rest := strings.TrimSpace(c.buf)
	c.buf = ""
	c.started = false
	c.resetScan()
	return rest
}

func (c *Chunker) resetScan() {
	c.pos, c.width, c.lastCut, c.lastSpace = 0, 0, -1, -1
}

// scan advances over buf and returns the end of the next chunk, or false
// when no chunk is complete yet.
func (c *Chunker) scan() (int, bool) {
	for c.pos < len(c.buf) {
		r, size := utf8.DecodeRuneInString(c.buf[c.pos:])
		if r == utf8.RuneError && size == 1 && !utf8.FullRuneInString(c.buf[c.pos:]) {
			return 0, false // a multi-byte character split across deltas
		}
		switch {
		case r == '\n':
			end := c.pos + size
			if c.qualifies(c.buf[:c.pos], c.width, true) {
				return end, true
			}
			c.lastCut = end
		case isMark(r):
			end, kind, decided := c.boundary(c.pos)
			if !decided {
				return 0, false
			}
			if kind != notBoundary {
				w := c.width + textWidth(c.buf[c.pos:end])
				if c.qualifies(c.buf[:end], w, kind == sentenceEnd) {
					return end, true
				}
				c.lastCut = end
				c.width = w
				c.pos = end
				if c.max > 0 && c.width > c.max {
					if cut, ok := c.overflow(); ok {
						return cut, true
					}
				}
				continue
			}
		case unicode.IsSpace(r):
			c.lastSpace = c.pos
		}
		w := runeWidth(r)
		if c.max > 0 && c.width+w > c.max {
			if cut, ok := c.overflow(); ok {
				return cut, true
			}
		}
		c.width += w
		c.pos += size
	}
	return 0, false
}

// overflow reports where to cut a chunk that is growing past the maximum:
// at its last boundary, else at its last space, else right here.
func (c *Chunker) overflow() (int, bool) {
	if c.lastCut > 0 && speakable(c.buf[:c.lastCut]) {
		return c.lastCut, true
	}
	if c.lastSpace > 0 && speakable(c.buf[:c.lastSpace]) {
		return c.lastSpace, true
	}
	return c.pos, c.pos > 0
}

// qualifies reports whether text, ending at a boundary, makes a chunk.
func (c *Chunker) qualifies(text string, width int, sentence bool) bool {
	if !speakable(text) {
		return false
	}
	if !c.started {
		return width >= c.firstMin
	}
	return sentence && width >= c.min
}

// boundaryKind tells what a run of punctuation ends.
type boundaryKind int

const (
	notBoundary boundaryKind = iota
	clauseEnd
	sentenceEnd
)

// maxRun bounds the run of marks and closing quotes read after a mark.
const maxRun = 8

// boundary looks at the mark at buf[i] with the run of marks and closing
// quotes after it. It returns the end of the run and what kind of boundary
// it is; decided is false when the answer depends on text not yet pushed.
func (c *Chunker) boundary(i int) (end int, kind boundaryKind, decided bool) {
	first, _ := utf8.DecodeRuneInString(c.buf[i:])
	end = i
	sentence, marks := false, 0
	for n := 0; end < len(c.buf); n++ {
		r, size := utf8.DecodeRuneInString(c.buf[end:])
		if !isMark(r) && !isCloser(r) {
			break
		}
		if n == maxRun {
			return end, notBoundary, true // not prose; keeps scanning linear
		}
		if isSentenceMark(r) {
			sentence = true
			marks++
		}
		end += size
	}
	if end == len(c.buf) || !utf8.FullRuneInString(c.buf[end:]) {
		return end, notBoundary, false // the run may go on in the next delta
	}
	kind = clauseEnd
	if sentence {
		kind = sentenceEnd
	}
	if isWideMark(first) {
		return end, kind, true // CJK punctuation needs no space after it
	}
	next, _ := utf8.DecodeRuneInString(c.buf[end:])
	if !unicode.IsSpace(next) && !isWide(next) {
		return end, notBoundary, true // "3.5", "10:30", "a.b@c.d", "x?y=1"
	}
	if first == '.' && marks == 1 { // a lone period, not "...", ".?" or "?."
		return c.afterPeriod(i, end)
	}
	return end, kind, true
}

// afterPeriod decides whether a single period at buf[i], followed by
// whitespace at buf[end], ends a sentence.
func (c *Chunker) afterPeriod(i, end int) (int, boundaryKind, bool) {
	word := lastWord(c.buf[:i])
	lower := strings.ToLower(word)
	switch {
	case word == "":
		return end, sentenceEnd, true
	case utf8.RuneCountInString(word) == 1 && unicode.IsLetter([]rune(word)[0]) && word != "I":
		return end, notBoundary, true // an initial: "J. Smith", "p. ej."
	case isInitialism(word):
		return end, notBoundary, true // "U.S.", "e.g.", "a.m."
	case titles[lower]:
		return end, notBoundary, true // "Dr. Smith"
	case isDigits(word) && atLineStart(c.buf, i-len(word)):
		return end, notBoundary, true // a list number: "1. Open the app"
	case trailing[lower], numbered[lower]:
		// "etc." ends a sentence if a capital letter follows, "no." unless
		// a number does.
		r, decided := c.nextWord(end)
		switch {
		case !decided:
			return end, notBoundary, false
		case r == '\n':
			return end, sentenceEnd, true
		case trailing[lower] && unicode.IsUpper(r), numbered[lower] && !unicode.IsDigit(r):
			return end, sentenceEnd, true
		}
		return end, notBoundary, true
	}
	return end, sentenceEnd, true
}

// nextWord returns the first character of the word after the whitespace at
// buf[end:], skipping opening quotes; a line break or a long gap gives
// '\n'. decided is false when that character has not arrived yet.
func (c *Chunker) nextWord(end int) (r rune, decided bool) {
	space := c.buf[end:]
	rest := strings.TrimLeftFunc(space, unicode.IsSpace)
	space = space[:len(space)-len(rest)]
	if strings.Contains(space, "\n") || len(space) > 8 {
		return '\n', true
	}
	rest = strings.TrimLeft(rest, "\"'“‘(¿¡")
	if rest == "" || !utf8.FullRuneInString(rest) {
		return 0, false
	}
	r, _ = utf8.DecodeRuneInString(rest)
	return r, true
}

// titles are abbreviations that are always followed by more of the sentence.
var titles = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "st": true,
	"mt": true, "vs": true, "cf": true, "fig": true, "vol": true, "pp": true, "approx": true, "dept": true, "gen": true,
	"gov": true, "sen": true, "rep": true, "capt": true, "lt": true, "col": true,
	"sgt": true, "rev": true, "hon": true, "sr": true, "sra": true, "srta": true,
	"dra": true, "ud": true, "uds": true, "pág": true, "ej": true,
	"aprox": true, "av": true, "avda": true, "tel": true, "ext": true,
}

// trailing are abbreviations that may also end a sentence.
var trailing = map[string]bool{
	"etc": true, "jr": true, "inc": true, "ltd": true, "co": true, "corp": true,
	"bros": true, "min": true, "max": true, "esq": true,
}

// numbered are abbreviations that precede a number but are words otherwise.
var numbered = map[string]bool{"no": true, "nos": true, "núm": true, "nº": true}

// lastWord returns the word just before the end of s, without leading
// brackets or quotes.
func lastWord(s string) string {
	start := strings.LastIndexFunc(s, unicode.IsSpace) + 1
	return strings.TrimLeft(s[start:], "\"'“‘([{¿¡*_")
}

// isInitialism reports whether word is single letters joined by periods
// ("U.S", "e.g", "a.m").
func isInitialism(word string) bool {
	parts := strings.Split(word, ".")
	if len(parts) < 2 {
		return false
	}
	for _, p := range parts {
		if utf8.RuneCountInString(p) != 1 || !unicode.IsLetter([]rune(p)[0]) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func atLineStart(s string, i int) bool {
	before := strings.TrimRight(s[:i], " \t")
	return before == "" || strings.HasSuffix(before, "\n")
}

// speakable reports whether s holds a letter or a digit.
func speakable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

func isMark(r rune) bool { return isSentenceMark(r) || isClauseMark(r) }

func isSentenceMark(r rune) bool {
	switch r {
	case '.', '!', '?', ';', '…', '。', '！', '？', '；', '｡':
		return true
	}
	return false
}

func isClauseMark(r rune) bool {
	switch r {
	case ',', ':', '，', '：', '、':
		return true
	}
	return false
}

func isWideMark(r rune) bool {
	switch r {
	case '。', '！', '？', '；', '｡', '，', '：', '、':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '”', '’', '»', '」', '』', '）', '》', '】', '*', '_':
		return true
	}
	return false
}

func isWide(r rune) bool {
	if r < 0x1100 { // below Hangul Jamo: no wide scripts
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

func runeWidth(r rune) int {
	if isWide(r) {
		return 2
	}
	return 1
}

func textWidth(s string) int {
	w := 0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}
