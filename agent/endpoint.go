package agent

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/harkvoice/hark/pipeline"
)

// endpointer decides, from the words heard so far, how much silence after
// them ends the user's turn. It is a plain value (no clock, no state of
// its own): the session asks it whenever the words or the silence change.
//
// The words' ending says whether the user is likely to go on:
//   - a code complete for what the conversation expects (an order number
//     of its known length, a slot's format, a tool parameter's pattern):
//     nothing more will come, so the turn ends at once;
//   - an unfinished phrase (an article, preposition, conjunction or filler
//     at the end: "my order number is", "I'd like a", "um") or a spelled
//     sequence that can still grow (digits, letters, an address being read
//     out): the turn is held longer;
//   - anything else: the ordinary end-of-turn silence.
type endpointer struct {
	complete time.Duration // silence that ends a turn after complete words
	open     time.Duration // after an unfinished phrase or a growing code
	codes    []codeFormat  // what codes the conversation expects
}

// ending is what the end of the words says about the turn.
type ending uint8

const (
	endComplete ending = iota // nothing says the user will go on
	endOpen                   // an unfinished phrase or a filler
	endSpelling               // digits, letters or an address that may go on
	endCode                   // a code complete for what is expected
)

func (e ending) String() string {
	return [...]string{"complete", "open", "spelling", "code"}[e]
}

// wait returns the silence after text that ends the turn.
func (e *endpointer) wait(text, lang string) time.Duration {
	switch e.classify(text, lang) {
	case endCode:
		return 0
	case endOpen, endSpelling:
		return e.open
	}
	return e.complete
}

// classify says how text ends.
func (e *endpointer) classify(text, lang string) ending {
	w := words(text)
	if len(w) == 0 {
		return endComplete
	}
	lw := wordLists().lang(lang)
	if end, ok := emailEnding(text, w, lw); ok {
		return end
	}
	if code, n, number := spokenCode(w, lw); n > 0 {
		if !number && e.codeDone(code, w) {
			return endCode
		}
		return endSpelling
	}
	if endsOpen(text, lang) {
		return endOpen
	}
	return endComplete
}

// codeDone reports whether code is complete for the codes expected: one
// of them matches it whole and none could grow it. When words of the turn
// name some of the codes ("order"), only those count.
func (e *endpointer) codeDone(code string, w []string) bool {
	cands := e.codes
	var named []codeFormat
	for _, f := range e.codes {
		if slices.ContainsFunc(f.keywords, func(k string) bool { return slices.Contains(w, k) }) {
			named = append(named, f)
		}
	}
	if len(named) > 0 {
		cands = named
	}
	full := false
	for _, f := range cands {
		m, grow := f.match(code)
		if grow {
			return false
		}
		full = full || m
	}
	return full
}

// spokenCode reads the code at the end of the words: digits (spoken or
// written), single spelled letters and separators ("dash"), as far back as
// they go. It returns the code in digits and capital letters, how many
// words it took (0: none) and whether it ends in a number word that is no
// digit ("twenty"), which cannot be matched digit by digit.
func spokenCode(w []string, lw *langWords) (code string, n int, number bool) {
	var parts []string
	digits := false
	i := len(w) - 1
scan:
	for ; i >= 0; i-- {
		t := w[i]
		d, isDigit := lw.digits[t]
		switch {
		case isDigit:
			// "oh" is a digit only inside a run of them.
			if t == "oh" && !digits && !(i > 0 && isDigitWord(w[i-1], lw)) {
				break scan
			}
			if i > 0 && lw.Repeats[w[i-1]] > 1 {
				d = strings.Repeat(d, lw.Repeats[w[i-1]])
				i--
			}
			parts = append(parts, d)
			digits = true
		case lw.homophones[t] != "" && len(parts) > 0 && i > 0 && isCodeWord(w[i-1], lw):
			// A word that sounds like a digit ("for", "to") between two
			// parts of a code is that digit: "k l for five".
			parts = append(parts, lw.homophones[t])
		case lw.numbers[t] && len(parts) == 0:
			return "", 1, true
		case lw.separators[t] && len(parts) > 0:
		case isAlnumCode(t):
			parts = append(parts, strings.ToUpper(t))
			digits = digits || strings.ContainsFunc(t, unicode.IsDigit)
		case isLetter(t):
			parts = append(parts, strings.ToUpper(t))
		default:
			break scan
		}
	}
	// A code has a digit, or is at least two spelled letters.
	if !digits && len(parts) < 2 {
		return "", 0, false
	}
	slices.Reverse(parts)
	return strings.Join(parts, ""), len(w) - 1 - i, false
}

// isDigitWord reports whether t is a spoken or written digit.
func isDigitWord(t string, lw *langWords) bool {
	_, ok := lw.digits[t]
	return ok || isAlnumCode(t)
}

// isCodeWord reports whether t can be part of a spoken code: a digit,
// written digits or a single spelled letter.
func isCodeWord(t string, lw *langWords) bool {
	return isDigitWord(t, lw) || isLetter(t)
}

// isAlnumCode reports whether a word is written digits, or letters and
// digits run together ("4521", "ab12").
func isAlnumCode(t string) bool {
	hasDigit := false
	for _, r := range t {
		switch {
		case r < 128 && unicode.IsDigit(r):
			hasDigit = true
		case r < 128 && unicode.IsLetter(r):
		default:
			return false
		}
	}
	return hasDigit
}

// emailEnding says how words that read out an email address end: complete
// after "dot" and a top-level domain (or a written address), still
// spelling otherwise. ok is false when the words are no address.
func emailEnding(text string, w []string, lw *langWords) (ending, bool) {
	// A written address: "john@example.com".
	raw := strings.Fields(strings.TrimRight(strings.TrimSpace(text), ".?!,;"))
	if last := raw[len(raw)-1]; strings.Contains(last, "@") {
		host := last[strings.LastIndex(last, "@")+1:]
		if i := strings.LastIndex(host, "."); i > 0 && wordLists().tlds[strings.ToLower(host[i+1:])] {
			return endComplete, true
		}
		return endSpelling, true
	}
	// A spoken one: "my email is john dot smith at example dot com". It
	// has begun after an address cue ("email") followed by more words, or
	// at an at word among the last words with a dot word after it.
	at := -1
	for i := len(w) - 1; i >= 0 && i >= len(w)-8; i-- {
		if lw.at[w[i]] {
			at = i
			break
		}
	}
	cue := slices.IndexFunc(w, func(t string) bool { return lw.cues[t] })
	dotAfter := at >= 0 && slices.ContainsFunc(w[at+1:], func(t string) bool { return lw.dot[t] })
	if !(cue >= 0 && cue < len(w)-1) && !dotAfter {
		return 0, false
	}
	// The at word is the one most often misheard ("that", "add"): after
	// a cue and a name, "dot" and a top-level domain end the address too.
	n := len(w)
	named := at >= 0 && n-at >= 3 || at < 0 && cue >= 0 && n-cue >= 4
	if named && lw.dot[w[n-2]] && wordLists().tlds[w[n-1]] {
		return endComplete, true
	}
	return endSpelling, true
}

// codeFormat is a code the conversation expects, as a sequence of
// character classes with repeat counts, over the code as spoken: digits
// and capital letters run together.
type codeFormat struct {
	name     string
	keywords []string // words that name it ("order")
	items    []codeItem
}

// codeItem is one character class repeated min to max times (max -1: no
// limit).
type codeItem struct {
	ranges   []rune // pairs of inclusive bounds, as regexp/syntax gives them
	min, max int
}

func (c codeItem) has(r rune) bool {
	for i := 0; i+1 < len(c.ranges); i += 2 {
		if r >= c.ranges[i] && r <= c.ranges[i+1] {
			return true
		}
	}
	return false
}

// match reports whether code matches the format whole, and whether the
// format allows a longer code that begins with it.
func (f codeFormat) match(code string) (full, grow bool) {
	// The states are positions (item, repeats so far) the code can reach.
	type pos struct{ item, n int }
	closure := func(ps []pos) []pos {
		for i := 0; i < len(ps); i++ {
			p := ps[i]
			if p.item < len(f.items) && p.n >= f.items[p.item].min {
				if q := (pos{p.item + 1, 0}); !slices.Contains(ps, q) {
					ps = append(ps, q)
				}
			}
		}
		return ps
	}
	states := closure([]pos{{0, 0}})
	for _, r := range code {
		var next []pos
		for _, p := range states {
			if p.item >= len(f.items) {
				continue
			}
			it := f.items[p.item]
			if (it.max < 0 || p.n < it.max) && (it.has(r) || it.has(unicode.ToLower(r))) {
				if q := (pos{p.item, p.n + 1}); !slices.Contains(next, q) {
					next = append(next, q)
				}
			}
		}
		if states = closure(next); len(states) == 0 {
			return false, false
		}
	}
	for _, p := range states {
		if p.item == len(f.items) {
			full = true
			continue
		}
		it := f.items[p.item]
		if it.max < 0 || p.n < it.max || slices.ContainsFunc(f.items[p.item+1:], func(c codeItem) bool { return c.max != 0 }) {
			grow = true
		}
	}
	return full, grow
}

// parseCodeFormat reads a regular expression over a code: a sequence of
// literals, character classes (\d, [0-9A-Z], .) and repeats ({n}, {n,m},
// ?, *, +), anchored or not. Alternatives and groups are not codes this
// model can follow.
func parseCodeFormat(pattern string) ([]codeItem, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	var items []codeItem
	for _, s := range subs {
		switch s.Op {
		case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpEmptyMatch:
			continue
		case syntax.OpLiteral:
			for _, r := range s.Rune {
				items = append(items, codeItem{ranges: foldRanges(r, s.Flags), min: 1, max: 1})
			}
			continue
		}
		min, max, sub := 1, 1, s
		switch s.Op {
		case syntax.OpRepeat:
			min, max, sub = s.Min, s.Max, s.Sub[0]
		case syntax.OpStar:
			min, max, sub = 0, -1, s.Sub[0]
		case syntax.OpPlus:
			min, max, sub = 1, -1, s.Sub[0]
		case syntax.OpQuest:
			min, max, sub = 0, 1, s.Sub[0]
		}
		ranges, ok := classRanges(sub)
		if !ok {
			return nil, fmt.Errorf("%q: only literals and character classes, repeated, make a code", pattern)
		}
		items = append(items, codeItem{ranges: ranges, min: min, max: max})
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%q: empty code", pattern)
	}
	return items, nil
}

// classRanges returns the ranges of a one-character expression.
func classRanges(s *syntax.Regexp) ([]rune, bool) {
	switch s.Op {
	case syntax.OpCharClass:
		return s.Rune, true
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return []rune{'0', '9', 'A', 'Z', 'a', 'z'}, true
	case syntax.OpLiteral:
		if len(s.Rune) == 1 {
			return foldRanges(s.Rune[0], s.Flags), true
		}
	}
	return nil, false
}

// foldRanges is the class of one literal rune.
func foldRanges(r rune, flags syntax.Flags) []rune {
	if flags&syntax.FoldCase != 0 {
		return []rune{unicode.ToUpper(r), unicode.ToUpper(r), unicode.ToLower(r), unicode.ToLower(r)}
	}
	return []rune{r, r}
}

// genericWords name no particular code: they do not make a keyword.
var genericWords = map[string]bool{
	"id": true, "number": true, "num": true, "no": true, "code": true, "value": true, "ref": true,
	"get": true, "set": true, "lookup": true, "look": true, "up": true, "find": true, "check": true,
	"search": true, "create": true, "update": true, "list": true, "the": true, "of": true, "by": true,
}

// nameWords splits an identifier ("order_id", "bookingRef") into lower-case
// words that are not generic.
func nameWords(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if w := strings.ToLower(string(cur)); w != "" && !genericWords[w] {
			out = append(out, w)
		}
		cur = cur[:0]
	}
	for i, r := range name {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0:
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// toolCodes reads the codes that tools' JSON schemas expect: string
// parameters with a pattern (or a length of at most 32), integers with
// bounds. Each is named by its parameter's name, or its tool's when the
// parameter's is generic ("id"). Schemas or patterns it cannot read are
// skipped.
func toolCodes(tools []pipeline.Tool) []codeFormat {
	var out []codeFormat
	for _, t := range tools {
		var schema jsonSchema
		if len(t.Parameters) == 0 || json.Unmarshal(t.Parameters, &schema) != nil {
			continue
		}
		schema.codes(t.Name, "", &out)
	}
	return out
}

// jsonSchema is the part of a JSON schema that says what a code looks
// like.
type jsonSchema struct {
	Type       any                    `json:"type"`
	Pattern    string                 `json:"pattern"`
	MinLength  *int                   `json:"minLength"`
	MaxLength  *int                   `json:"maxLength"`
	Minimum    *float64               `json:"minimum"`
	Maximum    *float64               `json:"maximum"`
	Properties map[string]*jsonSchema `json:"properties"`
	Items      *jsonSchema            `json:"items"`
}

func (s *jsonSchema) is(typ string) bool {
	switch t := s.Type.(type) {
	case string:
		return t == typ
	case []any:
		return slices.Contains(t, any(typ))
	}
	return false
}

// codes adds the codes of the schema of a parameter named name of tool.
func (s *jsonSchema) codes(tool, name string, out *[]codeFormat) {
	for _, p := range slices.Sorted(maps.Keys(s.Properties)) {
		s.Properties[p].codes(tool, p, out)
	}
	if s.Items != nil {
		s.Items.codes(tool, name, out)
	}
	if name == "" {
		return
	}
	var pattern string
	switch {
	case s.is("string") && s.Pattern != "":
		pattern = s.Pattern
	case s.is("string") && s.MaxLength != nil && *s.MaxLength <= 32:
		lo := 1
		if s.MinLength != nil {
			lo = *s.MinLength
		}
		pattern = fmt.Sprintf("^[0-9A-Za-z]{%d,%d}$", lo, *s.MaxLength)
	case (s.is("integer") || s.is("number")) && s.Maximum != nil && *s.Maximum >= 0:
		lo := 1
		if s.Minimum != nil && *s.Minimum > 0 {
			lo = len(strconv.FormatFloat(*s.Minimum, 'f', 0, 64))
		}
		pattern = fmt.Sprintf("^[0-9]{%d,%d}$", lo, len(strconv.FormatFloat(*s.Maximum, 'f', 0, 64)))
	default:
		return
	}
	items, err := parseCodeFormat(pattern)
	if err != nil {
		return
	}
	kw := nameWords(name)
	if len(kw) == 0 {
		kw = nameWords(tool)
	}
	*out = append(*out, codeFormat{name: tool + "." + name, keywords: kw, items: items})
}
