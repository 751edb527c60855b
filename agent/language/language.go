package language

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error of Parse.
var ErrInvalid = errors.New("language: not a known BCP 47 language tag")

// maxInput bounds the input Parse looks at, so the error can quote it.
const maxInput = 40

// Parse checks tag and returns it in canonical form: the language in lower
// case, the script in title case, the region in upper case ("pt-br" ->
// "pt-BR", "zh_hant_tw" -> "zh-Hant-TW"; "_" is accepted for "-").
func Parse(tag string) (string, error) {
	if len(tag) > maxInput {
		return "", fmt.Errorf("%w: %d characters", ErrInvalid, len(tag))
	}
	parts := strings.Split(strings.ReplaceAll(tag, "_", "-"), "-")
	lang := strings.ToLower(parts[0])
	if !known[lang] {
		return "", fmt.Errorf("%w: %q is not a known language", ErrInvalid, tag)
	}
	out := lang
	rest := parts[1:]
	if len(rest) > 0 && len(rest[0]) == 4 && letters(rest[0]) {
		s := strings.ToLower(rest[0])
		out += "-" + strings.ToUpper(s[:1]) + s[1:]
		rest = rest[1:]
	}
	if len(rest) > 0 {
		switch r := rest[0]; {
		case len(r) == 2 && letters(r):
			out += "-" + strings.ToUpper(r)
			rest = rest[1:]
		case len(r) == 3 && digits(r):
			out += "-" + r
			rest = rest[1:]
		}
	}
	if len(rest) > 0 {
		return "", fmt.Errorf("%w: %q: only a language, a script and a region are accepted", ErrInvalid, tag)
	}
	return out, nil
}

// Base returns the language subtag of a tag Parse accepted ("pt-BR" ->
// "pt").
func Base(tag string) string {
	base, _, _ := strings.Cut(tag, "-")
	return base
}

func letters(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// known holds the language subtags Parse accepts: every ISO 639-1 code,
// and three-letter codes of widely spoken languages that have none.
var known = func() map[string]bool {
	m := map[string]bool{}
	for _, code := range strings.Fields(`
		aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
		da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
		hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
		la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
		oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
		st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
		za zh zu
		yue cmn fil ceb haw ast nds hak nan wuu`) {
		m[code] = true
	}
	return m
}()
