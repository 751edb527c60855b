package sphinx

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
)

var digitWords = [10]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// Words splits text into the lower-case words a pronunciation dictionary
// lists: punctuation is dropped and each digit is spelled out ("1234" ->
// "one two three four").
func Words(text string) []string {
	var words []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			words = append(words, strings.Trim(b.String(), "'"))
			b.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case r >= '0' && r <= '9':
			flush()
			words = append(words, digitWords[r-'0'])
		case unicode.IsLetter(r) || r == '\'':
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return slices.DeleteFunc(words, func(w string) bool { return w == "" })
}

// BuildARPA returns a bigram language model of phrases in ARPA text format,
// with absolute discounting and back-off to unigrams. Phrases are split with
// Words.
func BuildARPA(phrases []string) string {
	const discount = 0.5
	uni := map[string]float64{}
	bi := map[[2]string]float64{}
	hist := map[string]float64{}
	var total float64
	for _, p := range phrases {
		w := Words(p)
		if len(w) == 0 {
			continue
		}
		seq := append(append([]string{"<s>"}, w...), "</s>")
		for i, x := range seq {
			if i > 0 {
				uni[x]++
				total++
				bi[[2]string{seq[i-1], x}]++
				hist[seq[i-1]]++
			}
		}
	}
	if total == 0 {
		return ""
	}
	p1 := func(w string) float64 { return uni[w] / total }
	followers := map[string][]string{}
	for k := range bi {
		followers[k[0]] = append(followers[k[0]], k[1])
	}
	backoff := map[string]float64{}
	for h, fs := range followers {
		var covered float64
		for _, f := range fs {
			covered += p1(f)
		}
		left := 1 - covered
		if left < 1e-6 {
			left = 1e-6
		}
		backoff[h] = discount * float64(len(fs)) / hist[h] / left
	}
	vocab := make([]string, 0, len(uni)+1)
	for w := range uni {
		vocab = append(vocab, w)
	}
	vocab = append(vocab, "<s>")
	slices.Sort(vocab)
	bigrams := make([][2]string, 0, len(bi))
	for k := range bi {
		bigrams = append(bigrams, k)
	}
	slices.SortFunc(bigrams, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})

	var s strings.Builder
	fmt.Fprintf(&s, "\\data\\\nngram 1=%d\nngram 2=%d\n\n\\1-grams:\n", len(vocab), len(bigrams))
	for _, w := range vocab {
		lp := -99.0
		if w != "<s>" {
			lp = math.Log10(p1(w))
		}
		if bo, ok := backoff[w]; ok {
			fmt.Fprintf(&s, "%.4f %s %.4f\n", lp, w, math.Log10(bo))
		} else {
			fmt.Fprintf(&s, "%.4f %s\n", lp, w)
		}
	}
	s.WriteString("\n\\2-grams:\n")
	for _, k := range bigrams {
		p := (bi[k] - discount) / hist[k[0]]
		fmt.Fprintf(&s, "%.4f %s %s\n", math.Log10(p), k[0], k[1])
	}
	s.WriteString("\n\\end\\\n")
	return s.String()
}
