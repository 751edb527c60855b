package agent

import "testing"

func TestEndsInNumber(t *testing.T) {
	for text, want := range map[string]bool{
		"my order is one two":  true,
		"call 555 12":          true,
		"the code is a b":      true,
		"it is 4":              true,
		"uno dos":              true,
		"我的号码是三四":              true,
		"where is my order":    false,
		"I want a":             false,
		"":                     false,
		"thank you, that's it": false,
	} {
		if got := endsInNumber(text); got != want {
			t.Errorf("endsInNumber(%q) = %v", text, got)
		}
	}
}

func TestEndsOpen(t *testing.T) {
	for _, tc := range []struct {
		text, lang string
		want       bool
	}{
		{"my order number is", "en", true},
		{"I would like the", "", true},
		{"where is my order", "en", false},
		{"quiero hablar con", "es", true},
		{"quiero hablar con Ana", "es", false},
	} {
		if got := endsOpen(tc.text, tc.lang); got != tc.want {
			t.Errorf("endsOpen(%q, %q) = %v", tc.text, tc.lang, got)
		}
	}
}

func TestPhraseSets(t *testing.T) {
	bc := newPhraseSet(builtinBackchannels, map[string][]string{"en": {"you don't say"}})
	stop := newPhraseSet(builtinStopWords, nil)
	for _, tc := range []struct {
		text, lang     string
		backchannel    bool
		containsStop   bool
		onlyStopPhrase bool
	}{
		{"Uh-huh.", "en", true, false, false},
		{"okay okay yeah", "en", true, false, false},
		{"You don't say!", "en", true, false, false},
		{"sí, vale", "es", true, false, false},
		{"嗯嗯", "zh-CN", true, false, false},
		{"Stop!", "en", false, true, true},
		{"wait, what does that mean", "en", false, true, false},
		{"espera", "es", false, true, true},
		{"停", "zh", false, true, true},
		{"okay stop", "", false, true, false},
		{"what about tomorrow", "en", false, false, false},
		{"stopwatch", "en", false, false, false},
	} {
		if got := bc.only(tc.text, tc.lang); got != tc.backchannel {
			t.Errorf("backchannel(%q) = %v", tc.text, got)
		}
		if got := stop.contains(tc.text, tc.lang); got != tc.containsStop {
			t.Errorf("contains stop(%q) = %v", tc.text, got)
		}
		if got := stop.only(tc.text, tc.lang); got != tc.onlyStopPhrase {
			t.Errorf("only stop(%q) = %v", tc.text, got)
		}
	}
}

func TestWords(t *testing.T) {
	if got := words("Hello, world! 你好"); len(got) != 4 {
		t.Errorf("words = %q", got)
	}
}

func TestContentWords(t *testing.T) {
	for text, want := range map[string]int{
		"the on":                    0,
		"what does that mean":       4,
		"no thanks":                 2,
		"uh the order":              1,
		"¿y el pedido de mi madre?": 2,
	} {
		lang := "en"
		if text[0] != 'w' && text[0] != 'n' && text[0] != 'u' && text[0] != 't' {
			lang = "es"
		}
		if got := contentWords(text, lang); got != want {
			t.Errorf("contentWords(%q) = %d, want %d", text, got, want)
		}
	}
}
