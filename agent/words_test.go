package agent

import (
	"slices"
	"testing"
)

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
		{"ich möchte eine", "de", true},
		{"je voudrais parler à", "fr", true},
		{"je voudrais parler à Marie", "fr", false},
		{"I need um", "en", true},
		{"turn the lights on", "en", false},
		{"我想要一个大的", "zh", true},
		{"我的号码是", "zh", true},
		{"我想要一个大披萨", "zh", false},
	} {
		if got := endsOpen(tc.text, tc.lang); got != tc.want {
			t.Errorf("endsOpen(%q, %q) = %v", tc.text, tc.lang, got)
		}
	}
}

func TestPhraseSets(t *testing.T) {
	bc := newPhraseSet(builtin(backchannelList), map[string][]string{"en": {"you don't say"}})
	stop := newPhraseSet(builtin(stopWordList), nil)
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
		// The word for "cancel" in the user's language.
		{"Annulé !", "fr", false, true, true},
		{"annulla", "it", false, true, true},
		{"okay, cancel", "en", false, true, false},
		{"отмена", "ru", false, true, true},
		{"取消", "zh", false, true, true},
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
	for _, tc := range []struct {
		text, lang string
		want       int
	}{
		{"the on", "en", 0},
		{"what does that mean", "en", 4},
		{"no thanks", "en", 2},
		{"uh the order", "en", 1},
		{"¿y el pedido de mi madre?", "es", 2},
		// Spelled letters count only beside a word that does.
		{"an m h", "en", 0},
		{"n m", "en", 0},
		{"i", "en", 1},
		{"plan b", "en", 2},
		{"the letters are k l", "en", 3},
	} {
		if got := contentWords(tc.text, tc.lang); got != tc.want {
			t.Errorf("contentWords(%q, %s) = %d, want %d", tc.text, tc.lang, got, tc.want)
		}
	}
}

// TestWordLists checks words.json: it reads, every language has the lists
// the session needs, and the lists hold normalized words.
func TestWordLists(t *testing.T) {
	d := wordLists()
	for _, lang := range []string{"en", "es", "fr", "de", "zh"} {
		w, ok := d.Languages[lang]
		switch {
		case !ok:
			t.Fatalf("no word lists for %s", lang)
		case len(w.Backchannels) == 0 || len(w.StopWords) == 0 || len(w.OpenEndings) == 0 || len(w.Fillers) == 0 || len(w.Digits) < 10:
			t.Errorf("%s: missing lists: %+v", lang, w)
		}
	}
	for lang, w := range d.Languages {
		if baseLang(lang) != lang {
			t.Errorf("language %q is not a base language", lang)
		}
		for _, list := range [][]string{w.Backchannels, w.StopWords, w.OpenEndings, w.Fillers, w.Numbers} {
			for _, x := range list {
				if normalize(x) == "" {
					t.Errorf("%s: %q is no word", lang, x)
				}
			}
		}
		for word, digit := range w.DigitHomophones {
			if _, ok := w.Digits[word]; ok || len(digit) != 1 || digit[0] < '0' || digit[0] > '9' {
				t.Errorf("%s: digit homophone %q = %q", lang, word, digit)
			}
		}
		for word, digit := range w.Digits {
			if len(digit) != 1 || digit[0] < '0' || digit[0] > '9' {
				t.Errorf("%s: digit %q = %q", lang, word, digit)
			}
		}
	}
	if got := Backchannels("en-GB"); !slices.Contains(got, "uh-huh") {
		t.Errorf("Backchannels(en-GB) = %q", got)
	}
	if got := StopWords("xx"); !slices.Contains(got, "stop") {
		t.Errorf("StopWords of an unknown language = %q, want English's", got)
	}
}
