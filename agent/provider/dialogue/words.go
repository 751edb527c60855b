package dialogue

import (
	"strconv"
	"strings"
	"unicode"
)

// token is one normalised word of an utterance or example.
type token struct {
	text   string // lower case; digits for numbers
	number bool   // text is a digit string
	slot   string // for example tokens: the slot this placeholder names
}

var contractions = map[string][]string{
	"what's": {"what", "is"}, "where's": {"where", "is"}, "when's": {"when", "is"},
	"how's": {"how", "is"}, "it's": {"it", "is"}, "that's": {"that", "is"},
	"i'd": {"i", "would"}, "i'm": {"i", "am"}, "i've": {"i", "have"}, "i'll": {"i", "will"},
	"can't": {"can", "not"}, "cannot": {"can", "not"}, "don't": {"do", "not"},
	"doesn't": {"does", "not"}, "didn't": {"did", "not"}, "won't": {"will", "not"},
	"isn't": {"is", "not"}, "hasn't": {"has", "not"}, "haven't": {"have", "not"},
	"wanna": {"want", "to"}, "gonna": {"going", "to"},
}

// digitWords maps number words of several languages to their value; the
// English tens and teens combine ("twenty five" = 25).
var digitWords = map[string]int{
	"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
	"six": 6, "seven": 7, "eight": 8, "nine": 9, "niner": 9,
	"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
	"fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
	"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
	"seventy": 70, "eighty": 80, "ninety": 90,
	// Spanish, German, French digits.
	"cero": 0, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
	"seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
	"null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
	"sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
	"zéro": 0, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
	"sept": 7, "huit": 8, "neuf": 9, "dix": 10,
}

// homophones are words a recogniser writes for digits; they count as digits
// only between number words, or after a run of at least three of them.
var homophones = map[string]int{"to": 2, "too": 2, "for": 4, "fore": 4, "won": 1, "ate": 8}

// tokenize splits text into normalised tokens: lower case, punctuation
// dropped, contractions expanded, number words turned into digit strings.
// In examples, "{name}" becomes a slot token.
func tokenize(text string) []token {
	var raw []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			w := strings.Trim(b.String(), "'")
			if exp, ok := contractions[w]; ok {
				raw = append(raw, exp...)
			} else if w != "" {
				raw = append(raw, strings.TrimSuffix(w, "'s"))
			}
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case r == '{' || r == '}':
			flush()
			raw = append(raw, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '_':
			b.WriteRune(r)
		case r == '’':
			b.WriteRune('\'')
		default:
			flush()
		}
	}
	flush()

	var toks []token
	for i := 0; i < len(raw); i++ {
		if raw[i] == "{" && i+2 < len(raw) && raw[i+2] == "}" {
			toks = append(toks, token{text: "{" + raw[i+1] + "}", slot: raw[i+1]})
			i += 2
			continue
		}
		if raw[i] == "{" || raw[i] == "}" {
			continue
		}
		toks = append(toks, token{text: raw[i]})
	}
	return numbers(toks)
}

func isNumberWord(w string) bool {
	if _, ok := digitWords[w]; ok {
		return true
	}
	return w == "hundred" || w == "thousand" || w == "double" || w == "triple" || isDigits(w)
}

func isDigits(w string) bool {
	if w == "" {
		return false
	}
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// numbers merges runs of number words and digits into digit-string tokens.
func numbers(toks []token) []token {
	num := make([]bool, len(toks))
	for i, t := range toks {
		num[i] = t.slot == "" && isNumberWord(t.text)
	}
	// Homophones between numbers, or ending a run of three or more.
	for i, t := range toks {
		if _, ok := homophones[t.text]; !ok || num[i] {
			continue
		}
		left := i > 0 && num[i-1]
		right := i+1 < len(toks) && num[i+1] && homophoneFree(toks[i+1].text)
		run := 0
		for j := i - 1; j >= 0 && num[j]; j-- {
			run++
		}
		if (left && right) || run >= 3 {
			num[i] = true
		}
	}
	var out []token
	for i := 0; i < len(toks); {
		if !num[i] {
			out = append(out, toks[i])
			i++
			continue
		}
		j := i
		for j < len(toks) && num[j] {
			j++
		}
		if s, ok := spell(toks[i:j]); ok {
			out = append(out, token{text: s, number: true})
		} else {
			out = append(out, toks[i:j]...)
		}
		i = j
	}
	return out
}

func homophoneFree(w string) bool { _, ok := homophones[w]; return !ok }

// spell turns a run of number words into digits: each compound number
// ("twenty five", "one hundred twenty three", "two thousand five hundred")
// gives its value, and the values are written one after another, so single
// digits concatenate ("one two three four" = 1234). "double" and "triple"
// repeat what follows.
func spell(run []token) (string, bool) {
	var out strings.Builder
	for i := 0; i < len(run); {
		repeat := 1
		switch run[i].text {
		case "double":
			repeat = 2
			i++
		case "triple":
			repeat = 3
			i++
		}
		if i >= len(run) {
			break
		}
		s, n := compound(run[i:])
		if n == 0 {
			return "", false
		}
		out.WriteString(strings.Repeat(s, repeat))
		i += n
	}
	return out.String(), out.Len() > 0
}

// compound reads one number from the start of run and returns its digits
// and how many tokens it used (0 if run does not start with a number).
func compound(run []token) (string, int) {
	word := func(i int) string {
		if v, ok := homophones[run[i].text]; ok {
			return strconv.Itoa(v)
		}
		return run[i].text
	}
	if isDigits(word(0)) {
		return word(0), 1
	}
	var total, current int
	started, afterMultiplier := false, false
	i := 0
	for ; i < len(run); i++ {
		w := word(i)
		v, isWord := digitWords[w]
		switch {
		case isWord:
			if started && !afterMultiplier {
				return strconv.Itoa(total + current), i
			}
			if v >= 20 && v%10 == 0 && i+1 < len(run) {
				if u, ok := digitWords[word(i+1)]; ok && u > 0 && u < 10 {
					v += u
					i++
				}
			}
			current += v
			started, afterMultiplier = true, false
		case w == "hundred":
			if !started {
				current = 1
			}
			current *= 100
			started, afterMultiplier = true, true
		case w == "thousand":
			if !started {
				current = 1
			}
			total += current * 1000
			current = 0
			started, afterMultiplier = true, true
		default:
			if !started {
				return "", 0
			}
			return strconv.Itoa(total + current), i
		}
	}
	return strconv.Itoa(total + current), i
}
