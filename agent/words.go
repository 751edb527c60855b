package agent

import (
	_ "embed"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"unicode"
)

//go:embed words.json
var wordsJSON []byte

// langWords are one language's word lists (words.json says what each is).
type langWords struct {
	Backchannels []string          `json:"backchannels"`
	StopWords    []string          `json:"stop_words"`
	OpenEndings  []string          `json:"open_endings"`
	Fillers      []string          `json:"fillers"`
	Noise        []string          `json:"noise"`
	Digits       map[string]string `json:"digits"`
	// DigitHomophones are words that sound like a digit ("for"), read as
	// it only between two other parts of a code.
	DigitHomophones map[string]string `json:"digit_homophones"`
	Numbers         []string          `json:"numbers"`
	Repeats         map[string]int    `json:"repeats"`
	CodeSeparators  []string          `json:"code_separators"`
	EmailAt         []string          `json:"email_at"`
	EmailDot        []string          `json:"email_dot"`
	EmailCues       []string          `json:"email_cues"`

	// Sets of normalized words, made on load.
	open, fillers, noise, numbers, separators, at, dot, cues map[string]bool
	digits, homophones                                       map[string]string
	// suffixes are the open endings and fillers written without spaces
	// (Chinese, Japanese), matched against the end of the text.
	suffixes []string
}

// wordData is words.json.
type wordData struct {
	TLDs      []string              `json:"tlds"`
	Languages map[string]*langWords `json:"languages"`
	tlds      map[string]bool
}

// wordLists returns the word lists, read from words.json once. The file is
// part of the package and checked by its tests, so it always reads.
var wordLists = sync.OnceValue(func() *wordData {
	var d wordData
	if err := json.Unmarshal(wordsJSON, &d); err != nil {
		panic("agent: words.json: " + err.Error())
	}
	d.tlds = normalizedSet(d.TLDs)
	for _, w := range d.Languages {
		w.open = normalizedSet(w.OpenEndings)
		w.fillers = normalizedSet(w.Fillers)
		w.noise = normalizedSet(w.Noise)
		w.numbers = normalizedSet(w.Numbers)
		w.separators = normalizedSet(w.CodeSeparators)
		w.at = normalizedSet(w.EmailAt)
		w.dot = normalizedSet(w.EmailDot)
		w.cues = normalizedSet(w.EmailCues)
		w.digits = make(map[string]string, len(w.Digits))
		for k, v := range w.Digits {
			w.digits[normalize(k)] = v
		}
		w.homophones = make(map[string]string, len(w.DigitHomophones))
		for k, v := range w.DigitHomophones {
			w.homophones[normalize(k)] = v
		}
		for _, e := range append(slices.Clone(w.OpenEndings), w.Fillers...) {
			if isCJK(e) {
				w.suffixes = append(w.suffixes, normalize(e))
			}
		}
	}
	return &d
})

// normalizedSet returns the normalized words as a set.
func normalizedSet(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, w := range list {
		if n := normalize(w); n != "" {
			m[n] = true
		}
	}
	return m
}

// lang returns the lists of lang's base language, or English's when there
// are none.
func (d *wordData) lang(lang string) *langWords {
	if w, ok := d.Languages[baseLang(lang)]; ok {
		return w
	}
	return d.Languages["en"]
}

// builtin returns one list of every language, by base language.
func builtin(list func(*langWords) []string) map[string][]string {
	out := map[string][]string{}
	for lang, w := range wordLists().Languages {
		if l := list(w); len(l) > 0 {
			out[lang] = l
		}
	}
	return out
}

func backchannelList(w *langWords) []string { return w.Backchannels }
func stopWordList(w *langWords) []string    { return w.StopWords }

// Backchannels returns the built-in backchannels of a language ("uh-huh",
// "okay"; its base language's, or English's when there are none), for
// recogniser vocabularies and prompts: the session does not take them for
// interruptions.
func Backchannels(lang string) []string {
	return slices.Clone(wordLists().lang(lang).Backchannels)
}

// StopWords returns the built-in stop words of a language ("stop",
// "wait"; its base language's, or English's when there are none), for
// recogniser vocabularies and prompts: they always interrupt the agent.
func StopWords(lang string) []string {
	return slices.Clone(wordLists().lang(lang).StopWords)
}

// baseLang returns the primary subtag of a BCP-47 code, lower case.
func baseLang(lang string) string {
	lang = strings.ToLower(lang)
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return lang
}

// normalize lowers text and turns punctuation into spaces, keeping
// apostrophes and hyphens inside words.
func normalize(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// words splits a transcript into words; in text without spaces (Chinese,
// Japanese) every letter counts as a word.
func words(text string) []string {
	n := normalize(text)
	f := strings.Fields(n)
	var out []string
	for _, w := range f {
		if isCJK(w) {
			for _, r := range w {
				out = append(out, string(r))
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

func isCJK(w string) bool {
	for _, r := range w {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) {
			return true
		}
	}
	return false
}

// phraseSet is a list of phrases matched against normalized text.
type phraseSet map[string][]string // base language -> normalized phrases

func newPhraseSet(builtin, extra map[string][]string) phraseSet {
	ps := phraseSet{}
	for _, m := range []map[string][]string{builtin, extra} {
		for lang, list := range m {
			b := baseLang(lang)
			for _, p := range list {
				if n := normalize(p); n != "" {
					ps[b] = append(ps[b], n)
				}
			}
		}
	}
	return ps
}

// candidates returns the phrases for lang, or all of them when the
// language is unknown.
func (ps phraseSet) candidates(lang string) [][]string {
	if l := baseLang(lang); l != "" {
		if list, ok := ps[l]; ok {
			// English ones too: "ok" and "stop" are used everywhere.
			return [][]string{list, ps["en"]}
		}
	}
	out := make([][]string, 0, len(ps))
	for _, list := range ps {
		out = append(out, list)
	}
	return out
}

// contains reports whether text contains one of the phrases as whole words.
func (ps phraseSet) contains(text, lang string) bool {
	n := " " + normalize(text) + " "
	for _, list := range ps.candidates(lang) {
		for _, p := range list {
			if isCJK(p) {
				if strings.Contains(n, p) {
					return true
				}
			} else if strings.Contains(n, " "+p+" ") {
				return true
			}
		}
	}
	return false
}

// only reports whether text consists of nothing but phrases of the set
// (one or more, repeated: "okay okay", "uh huh yeah").
func (ps phraseSet) only(text, lang string) bool {
	rest := normalize(text)
	if rest == "" {
		return false
	}
	lists := ps.candidates(lang)
	for rest != "" {
		matched := false
		for _, list := range lists {
			for _, p := range list {
				if rest == p {
					return true
				}
				if strings.HasPrefix(rest, p+" ") {
					rest = rest[len(p)+1:]
					matched = true
					break
				}
				if isCJK(p) && strings.HasPrefix(rest, p) {
					rest = strings.TrimSpace(rest[len(p):])
					matched = true
					break
				}
			}
			if matched {
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// languageNames names common languages for the reply-language instruction.
var languageNames = map[string]string{
	"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
	"zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "nl": "Dutch", "ar": "Arabic",
	"hi": "Hindi", "pl": "Polish", "tr": "Turkish", "sv": "Swedish", "uk": "Ukrainian", "vi": "Vietnamese",
}

// languageName returns a readable name for a language code.
func languageName(lang string) string {
	if n, ok := languageNames[baseLang(lang)]; ok {
		if baseLang(lang) != strings.ToLower(lang) {
			return n + " (" + lang + ")"
		}
		return n
	}
	return lang
}

// endsOpen reports whether a transcript ends in a word that leaves the
// sentence open ("my order number is", "I want the", "um"): an open ending
// or a filler of its language.
func endsOpen(text, lang string) bool {
	w := words(text)
	if len(w) == 0 {
		return false
	}
	lw := wordLists().lang(lang)
	if last := w[len(w)-1]; lw.open[last] || lw.fillers[last] {
		return true
	}
	joined := strings.Join(w, "")
	for _, sfx := range lw.suffixes {
		if strings.HasSuffix(joined, sfx) {
			return true
		}
	}
	return false
}

// contentWords counts the words of text that carry meaning: not open
// endings (articles, prepositions, conjunctions), fillers or noise words of
// its language, nor English noise words, so that noise a recogniser turned
// into "the on" is not taken for an interruption. Single consonant letters
// count only beside a longer word that does: a murmur a recogniser spells
// out ("m h") is no interruption, "plan b" is two words. (A vowel alone is
// often a word: "I", Spanish "o", Italian "e".)
func contentWords(text, lang string) int {
	lw, en := wordLists().lang(lang), wordLists().lang("en")
	n, letters := 0, 0
	for _, w := range words(text) {
		switch {
		case lw.open[w] || lw.fillers[w] || lw.noise[w] || en.noise[w]:
		case isLetter(w) && !strings.ContainsAny(w, vowels):
			letters++
		default:
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return n + letters
}

// vowels are the vowel letters of the Latin alphabets.
const vowels = "aeiouyàáâäãåæèéêëìíîïòóôöõøœùúûüýÿ"

// isLetter reports whether w is one spelled letter of an alphabet (not a
// Chinese or Japanese character, which is a word of its own).
func isLetter(w string) bool {
	r := []rune(w)
	return len(r) == 1 && unicode.IsLetter(r[0]) && !isCJK(w)
}
