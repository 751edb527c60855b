package openai

import "strings"

// languages pairs ISO 639-1 codes with the English names Whisper reports in
// verbose_json answers; the first name of a code is its display name.
var languages = [][2]string{
	{"af", "afrikaans"}, {"am", "amharic"}, {"ar", "arabic"}, {"as", "assamese"},
	{"az", "azerbaijani"}, {"ba", "bashkir"}, {"be", "belarusian"}, {"bg", "bulgarian"},
	{"bn", "bengali"}, {"bo", "tibetan"}, {"br", "breton"}, {"bs", "bosnian"},
	{"ca", "catalan"}, {"ca", "valencian"}, {"cs", "czech"}, {"cy", "welsh"},
	{"da", "danish"}, {"de", "german"}, {"el", "greek"}, {"en", "english"},
	{"es", "spanish"}, {"es", "castilian"}, {"et", "estonian"}, {"eu", "basque"},
	{"fa", "persian"}, {"fi", "finnish"}, {"fo", "faroese"}, {"fr", "french"},
	{"gl", "galician"}, {"gu", "gujarati"}, {"ha", "hausa"}, {"haw", "hawaiian"},
	{"he", "hebrew"}, {"hi", "hindi"}, {"hr", "croatian"}, {"ht", "haitian creole"},
	{"ht", "haitian"}, {"hu", "hungarian"}, {"hy", "armenian"}, {"id", "indonesian"},
	{"is", "icelandic"}, {"it", "italian"}, {"ja", "japanese"}, {"jv", "javanese"},
	{"ka", "georgian"}, {"kk", "kazakh"}, {"km", "khmer"}, {"kn", "kannada"},
	{"ko", "korean"}, {"la", "latin"}, {"lb", "luxembourgish"}, {"lb", "letzeburgesch"},
	{"ln", "lingala"}, {"lo", "lao"}, {"lt", "lithuanian"}, {"lv", "latvian"},
	{"mg", "malagasy"}, {"mi", "maori"}, {"mk", "macedonian"}, {"ml", "malayalam"},
	{"mn", "mongolian"}, {"mr", "marathi"}, {"ms", "malay"}, {"mt", "maltese"},
	{"my", "burmese"}, {"my", "myanmar"}, {"ne", "nepali"}, {"nl", "dutch"},
	{"nl", "flemish"}, {"nn", "nynorsk"}, {"no", "norwegian"}, {"oc", "occitan"},
	{"pa", "punjabi"}, {"pa", "panjabi"}, {"pl", "polish"}, {"ps", "pashto"},
	{"ps", "pushto"}, {"pt", "portuguese"}, {"ro", "romanian"}, {"ro", "moldavian"},
	{"ro", "moldovan"}, {"ru", "russian"}, {"sa", "sanskrit"}, {"sd", "sindhi"},
	{"si", "sinhala"}, {"si", "sinhalese"}, {"sk", "slovak"}, {"sl", "slovenian"},
	{"sn", "shona"}, {"so", "somali"}, {"sq", "albanian"}, {"sr", "serbian"},
	{"su", "sundanese"}, {"sv", "swedish"}, {"sw", "swahili"}, {"ta", "tamil"},
	{"te", "telugu"}, {"tg", "tajik"}, {"th", "thai"}, {"tk", "turkmen"},
	{"tl", "tagalog"}, {"tr", "turkish"}, {"tt", "tatar"}, {"uk", "ukrainian"},
	{"ur", "urdu"}, {"uz", "uzbek"}, {"vi", "vietnamese"}, {"yi", "yiddish"},
	{"yo", "yoruba"}, {"yue", "cantonese"}, {"zh", "chinese"}, {"zh", "mandarin"},
}

var codeByName, nameByCode = languageMaps()

func languageMaps() (byName, byCode map[string]string) {
	byName, byCode = map[string]string{}, map[string]string{}
	for _, l := range languages {
		byName[l[1]] = l[0]
		if _, ok := byCode[l[0]]; !ok {
			byCode[l[0]] = l[1]
		}
	}
	return byName, byCode
}

// languageCode turns what a transcription reports ("english", "English",
// "en") into a BCP-47 code; unknown names give "".
func languageCode(reported string) string {
	s := strings.ToLower(strings.TrimSpace(reported))
	if code, ok := codeByName[s]; ok {
		return code
	}
	if _, ok := nameByCode[baseLanguage(s)]; ok {
		return strings.TrimSpace(reported) // already a tag: "en", "zh-CN"
	}
	if s == "jw" { // Whisper's code for Javanese
		return "jv"
	}
	return ""
}

// baseLanguage returns the primary subtag of a BCP-47 tag ("zh-CN" -> "zh"),
// the form transcription endpoints take.
func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	base, _, _ = strings.Cut(base, "_")
	return strings.ToLower(base)
}

// languageName names a BCP-47 tag for a prompt: "Spanish (es)".
func languageName(tag string) string {
	name, ok := nameByCode[baseLanguage(tag)]
	if !ok {
		return "the language with BCP-47 tag " + tag
	}
	return strings.ToUpper(name[:1]) + name[1:] + " (" + tag + ")"
}

// isoLanguage returns the ISO 639 code transcription endpoints take for a
// BCP-47 tag, or "" when the tag has none ("auto", "").
func isoLanguage(tag string) string {
	base := baseLanguage(tag)
	if len(base) < 2 || len(base) > 3 || strings.IndexFunc(base, func(r rune) bool { return r < 'a' || r > 'z' }) >= 0 {
		return ""
	}
	return base
}
