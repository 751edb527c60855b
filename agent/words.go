package agent

import (
	"strings"
	"unicode"
)

// Built-in backchannels per base language: short feedback that tells the
// speaker to go on and must not interrupt.
var builtinBackchannels = map[string][]string{
	"en": {"uh-huh", "uh huh", "uhuh", "mhm", "mm-hmm", "mm hmm", "mmhmm", "mm", "hmm", "hm", "uh", "um", "ah", "oh",
		"ok", "okay", "yeah", "yes", "yep", "yup", "right", "sure", "i see", "got it", "cool", "alright", "all right", "a huh", "huh"},
	"es": {"sí", "si", "vale", "ajá", "aja", "claro", "bueno", "ya", "mhm", "ok", "okay", "entiendo", "de acuerdo"},
	"fr": {"oui", "ouais", "d'accord", "ok", "mhm", "ah", "bon", "je vois", "voilà"},
	"de": {"ja", "genau", "okay", "ok", "mhm", "aha", "stimmt", "klar", "gut"},
	"it": {"sì", "si", "certo", "ok", "va bene", "mhm", "ah", "capito"},
	"pt": {"sim", "tá", "ta", "certo", "ok", "uhum", "claro", "entendi"},
	"zh": {"嗯", "嗯嗯", "对", "对对", "好", "好的", "是", "是的", "哦", "啊", "行", "明白"},
	"ja": {"はい", "うん", "ええ", "そう", "なるほど", "へえ"},
	"ko": {"네", "응", "예", "그래", "아"},
	"ru": {"да", "ага", "угу", "ясно", "понятно", "хорошо"},
	"nl": {"ja", "oké", "ok", "mhm", "precies"},
}

// Built-in stop words per base language: they always interrupt.
var builtinStopWords = map[string][]string{
	"en": {"stop", "wait", "hold on", "hang on", "shut up", "quiet", "enough", "pause", "cancel", "no no"},
	"es": {"para", "pare", "espera", "espere", "alto", "basta", "detente", "cállate"},
	"fr": {"stop", "arrête", "arrêtez", "attends", "attendez", "tais-toi"},
	"de": {"stopp", "stop", "halt", "warte", "warten sie", "moment"},
	"it": {"basta", "aspetta", "aspetti", "ferma", "fermati", "stop"},
	"pt": {"para", "pare", "espera", "espere", "chega"},
	"zh": {"停", "停下", "等一下", "等等", "别说了"},
	"ja": {"止めて", "やめて", "待って", "ストップ", "ちょっと待って"},
	"ko": {"멈춰", "잠깐", "그만"},
	"ru": {"стоп", "подожди", "подождите", "хватит"},
	"nl": {"stop", "wacht"},
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

// numberWords are spoken digits and spelling words that signal a number or
// code being read out.
var numberWords = map[string]bool{
	"zero": true, "oh": true, "one": true, "two": true, "three": true, "four": true, "five": true,
	"six": true, "seven": true, "eight": true, "nine": true, "ten": true, "double": true, "triple": true,
	"cero": true, "uno": true, "dos": true, "tres": true, "cuatro": true, "cinco": true, "seis": true,
	"siete": true, "ocho": true, "nueve": true,
	"zéro": true, "un": true, "deux": true, "trois": true, "quatre": true, "cinq": true, "sept": true,
	"huit": true, "neuf": true,
	"null": true, "eins": true, "zwei": true, "drei": true, "vier": true, "fünf": true, "sechs": true,
	"sieben": true, "acht": true, "neun": true,
	"dash": true, "hyphen": true, "dot": true, "point": true,
	"零": true, "一": true, "二": true, "三": true, "四": true, "五": true, "六": true, "七": true,
	"八": true, "九": true, "幺": true, "两": true,
}

// endsInNumber reports whether a transcript ends in a digit, a spoken digit
// or a single spelled letter: the user may be reading out a number or code
// and pausing between groups.
func endsInNumber(text string) bool {
	w := words(text)
	if len(w) == 0 {
		return false
	}
	last := w[len(w)-1]
	if numberWords[last] {
		return true
	}
	r := []rune(last)
	if unicode.IsDigit(r[len(r)-1]) {
		return true
	}
	// A lone spelled letter after another one ("a b c") or a digit.
	if len(r) == 1 && unicode.IsLetter(r[0]) && !isCJK(last) && len(w) >= 2 {
		prev := []rune(w[len(w)-2])
		return len(prev) == 1 || unicode.IsDigit(prev[len(prev)-1]) || numberWords[w[len(w)-2]]
	}
	return false
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

// openEndings are words a finished sentence rarely ends with (articles,
// prepositions, conjunctions, auxiliaries, fillers): a turn whose words so
// far end in one gets the same extra hold as one ending in a number.
var openEndings = map[string]map[string]bool{
	"en": set("the", "a", "an", "my", "your", "our", "their", "to", "of", "for", "with", "from", "and", "or", "but",
		"because", "so", "is", "are", "was", "were", "am", "um", "uh", "er", "erm", "number", "code", "if", "than"),
	"es": set("el", "la", "los", "las", "un", "una", "mi", "tu", "su", "de", "del", "al", "para", "por", "con", "y", "o",
		"pero", "porque", "es", "son", "que", "número", "eh", "este"),
	"fr": set("le", "la", "les", "un", "une", "mon", "ma", "mes", "de", "du", "des", "au", "pour", "avec", "et", "ou",
		"mais", "parce", "est", "que", "numéro", "euh"),
	"de": set("der", "die", "das", "ein", "eine", "mein", "meine", "zu", "von", "für", "mit", "und", "oder", "aber",
		"weil", "ist", "nummer", "äh", "ähm"),
	"it": set("il", "lo", "la", "gli", "le", "un", "una", "mio", "mia", "di", "del", "per", "con", "e", "o", "ma",
		"perché", "è", "che", "numero"),
	"pt": set("o", "a", "os", "as", "um", "uma", "meu", "minha", "de", "do", "da", "para", "por", "com", "e", "ou",
		"mas", "porque", "é", "que", "número"),
}

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// endsOpen reports whether a transcript ends in a word that leaves the
// sentence open ("my order number is", "I want the").
func endsOpen(text, lang string) bool {
	w := words(text)
	if len(w) == 0 {
		return false
	}
	last := w[len(w)-1]
	if m, ok := openEndings[baseLang(lang)]; ok {
		return m[last]
	}
	return openEndings["en"][last]
}

// fillers are short words a recogniser often makes of noise; like the open
// endings they do not count towards the words that make an interruption.
var fillers = set("on", "in", "at", "it", "oh", "ah", "uh", "um", "hm", "hmm", "mm", "huh", "eh", "er")

// contentWords counts the words of text that carry meaning: not articles,
// prepositions, conjunctions or fillers, so that noise a recogniser turned
// into "the on" is not taken for an interruption.
func contentWords(text, lang string) int {
	open := openEndings[baseLang(lang)]
	if open == nil {
		open = openEndings["en"]
	}
	n := 0
	for _, w := range words(text) {
		if !open[w] && !fillers[w] {
			n++
		}
	}
	return n
}
