package pipeline

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Speakable returns text as a speech synthesiser should read it: the
// Markdown that chat models put in their replies is removed and its words
// kept. Emphasis markers ("**", "*", "__", "_" at word edges) and inline code
// backticks go; headings ("# "), bullets ("- ", "* ", "+ ") and quotes ("> ")
// at the start of a line go; links and images keep their text ("[the
// manual](https://…)" reads "the manual"); code fences, horizontal rules and
// table rules become nothing, and table cells are read as a list. Numbered
// list items ("1. ") and everything else are left alone: an asterisk or
// underscore inside a word or between spaces ("5 * 3", "snake_case") stays.
//
// The result may be empty (a chunk that was only a fence or a rule).
func Speakable(text string) string {
	if !strings.ContainsAny(text, "*_`#->+[]|") {
		return text
	}
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, line := range lines {
		if line = speakableLine(line); line != "" {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// speakableLine removes one line's Markdown.
func speakableLine(line string) string {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || isRule(t) {
		return ""
	}
	// Line prefixes, possibly nested ("> - item").
	for changed := true; changed; {
		changed = false
		for _, p := range []string{"> ", "- ", "* ", "+ "} {
			if strings.HasPrefix(t, p) {
				t, changed = strings.TrimSpace(t[len(p):]), true
			}
		}
		if n := len(t) - len(strings.TrimLeft(t, "#")); n > 0 && n <= 6 && len(t) > n && t[n] == ' ' {
			t, changed = strings.TrimSpace(t[n:]), true
		}
	}
	if strings.HasPrefix(t, "|") || strings.HasSuffix(t, "|") {
		cells := strings.Split(strings.Trim(t, "|"), "|")
		kept := cells[:0]
		for _, c := range cells {
			if c = strings.TrimSpace(c); c != "" {
				kept = append(kept, c)
			}
		}
		t = strings.Join(kept, ", ")
	}
	return strings.TrimSpace(inlineMarkdown(t))
}

// isRule reports a horizontal rule or a table's separator row: only "-",
// "*", "_", "=", ":", "|" and spaces, with at least three marks.
func isRule(t string) bool {
	marks := 0
	for _, r := range t {
		switch r {
		case '-', '*', '_', '=':
			marks++
		case ':', '|', ' ':
		default:
			return false
		}
	}
	return marks >= 3
}

// inlineMarkdown removes emphasis, code spans and link syntax within a line.
func inlineMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '`':
			i++
			continue
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			i++ // an image: read its alt text as a link's text
			continue
		case c == '[':
			if text, n, ok := link(s[i:]); ok {
				b.WriteString(text)
				i += n
				continue
			}
		case c == '*' || c == '_':
			j := i
			for j < len(s) && s[j] == c {
				j++
			}
			before, _ := utf8.DecodeLastRuneInString(s[:i])
			after, _ := utf8.DecodeRuneInString(s[j:])
			opens := i == 0 || !isWordRune(before)
			closes := j == len(s) || !isWordRune(after)
			spaced := (i == 0 || unicode.IsSpace(before)) && (j == len(s) || unicode.IsSpace(after))
			if (opens || closes) && !spaced {
				i = j
				continue
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// link parses "[text](target)" at the start of s and returns the text and
// the length of the whole link.
func link(s string) (string, int, bool) {
	end := strings.IndexByte(s, ']')
	if end < 0 || end+1 >= len(s) || s[end+1] != '(' {
		return "", 0, false
	}
	closing := strings.IndexByte(s[end+1:], ')')
	if closing < 0 {
		return "", 0, false
	}
	return inlineMarkdown(s[1:end]), end + 1 + closing + 1, true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
