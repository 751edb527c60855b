package dialogue

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// similarity scores how alike two words are in [0, 1]: 1 for equal words,
// a little less for the same stem or consonant skeleton (recognisers swap
// vowels: "ardor" for "order"), spelling closeness for long words, else 0.
func similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	if isDigits(a) || isDigits(b) {
		return 0
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) < 3 || len(rb) < 3 {
		return 0
	}
	if stem(a) == stem(b) {
		return 0.95
	}
	if len(ra) >= 4 && len(rb) >= 4 {
		if sameSkeleton(a, b) {
			return 0.8
		}
	}
	// The distance is at least the length difference: skip hopeless pairs.
	if longest := max(len(ra), len(rb)); 4*abs(len(ra)-len(rb)) > longest {
		return 0
	}
	d := levenshtein(ra, rb)
	r := 1 - float64(d)/float64(max(len(ra), len(rb)))
	if r >= 0.75 {
		return 0.9 * r
	}
	return 0
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// stem strips common English inflections.
func stem(w string) string {
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

// sameSkeleton reports whether two words have the same consonants, of at
// least two, ignoring h, w, y and repeats (recognisers swap vowels).
func sameSkeleton(a, b string) bool {
	var ia, ib int
	var la, lb rune
	n := 0
	next := func(s string, i *int, last *rune) rune {
		for *i < len(s) {
			r, size := utf8.DecodeRuneInString(s[*i:])
			*i += size
			if strings.ContainsRune("aeiouyhwáéíóúäöüàèìòùâêîôû", r) || r == *last {
				continue
			}
			*last = r
			return r
		}
		return -1
	}
	for {
		ra, rb := next(a, &ia, &la), next(b, &ib, &lb)
		if ra != rb {
			return false
		}
		if ra < 0 {
			return n >= 2
		}
		n++
	}
}

func levenshtein(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// compiled is an intent ready for matching.
type compiled struct {
	domain   *Domain
	intent   *Intent
	examples [][]token
	vocab    map[string]bool // words of all its examples
	slotSyn  map[string]map[string][][]token
}

// slotValues are the slots found in an utterance.
type slotValues struct {
	values   map[string]string // slot -> value
	vars     map[string]string // extra variables (duration text)
	consumed map[int]bool      // utterance tokens that gave a value
}

// extract finds the intent's slot values in toks.
func (c *compiled) extract(toks []token) slotValues {
	sv := slotValues{values: map[string]string{}, vars: map[string]string{}, consumed: map[int]bool{}}
	for _, name := range slices.Sorted(maps.Keys(c.intent.Slots)) {
		s := c.intent.Slots[name]
		switch s.Type {
		case SlotNumber:
			for i, t := range toks {
				n := len(t.text)
				if t.number && !sv.consumed[i] && (s.MinDigits == 0 || n >= s.MinDigits) && (s.MaxDigits == 0 || n <= s.MaxDigits) {
					sv.values[name] = t.text
					sv.consumed[i] = true
					break
				}
			}
		case SlotDuration:
			if secs, text, used := duration(toks); secs > 0 {
				sv.values[name] = strconv.Itoa(secs)
				sv.vars[name+"_text"] = text
				for _, i := range used {
					sv.consumed[i] = true
				}
			}
		case SlotEnum:
			bestLen, bestAt := 0, len(toks)
			var bestVal string
			var bestIdx []int
			for _, value := range slices.Sorted(maps.Keys(c.slotSyn[name])) {
				syns := c.slotSyn[name][value]
				for _, syn := range syns {
					if at, ok := find(toks, syn, sv.consumed); ok && (len(syn) > bestLen || len(syn) == bestLen && at < bestAt) {
						bestLen, bestAt, bestVal = len(syn), at, value
						bestIdx = bestIdx[:0]
						for k := range syn {
							bestIdx = append(bestIdx, at+k)
						}
					}
				}
			}
			if bestLen > 0 {
				sv.values[name] = bestVal
				for _, i := range bestIdx {
					sv.consumed[i] = true
				}
			}
		}
	}
	return sv
}

// find returns where phrase occurs in toks (short words exactly, long words
// fuzzily), skipping used tokens.
func find(toks, phrase []token, used map[int]bool) (int, bool) {
	for at := 0; at+len(phrase) <= len(toks); at++ {
		ok := true
		for k, p := range phrase {
			t := toks[at+k]
			if used[at+k] || (t.text != p.text && (len([]rune(p.text)) < 5 || similarity(t.text, p.text) < 0.8)) {
				ok = false
				break
			}
		}
		if ok {
			return at, true
		}
	}
	return 0, false
}

// duration sums "number unit" pairs ("1 hour 30 minutes", "a minute",
// "half an hour") into seconds, with the words that gave them.
func duration(toks []token) (int, string, []int) {
	unit := func(w string) (int, string) {
		switch {
		case strings.HasPrefix(w, "sec"), strings.HasPrefix(w, "seg"), strings.HasPrefix(w, "sek"):
			return 1, "second"
		case strings.HasPrefix(w, "min"):
			return 60, "minute"
		case strings.HasPrefix(w, "hour"), strings.HasPrefix(w, "hora"), strings.HasPrefix(w, "stund"):
			return 3600, "hour"
		}
		return 0, ""
	}
	total := 0
	var parts []string
	var used []int
	for i := 0; i+1 < len(toks); i++ {
		var n float64
		step := 1
		switch w := toks[i].text; {
		case toks[i].number:
			n, _ = strconv.ParseFloat(w, 64)
		case w == "a" || w == "an" || w == "one":
			n = 1
		case w == "half" && i+2 < len(toks) && (toks[i+1].text == "a" || toks[i+1].text == "an"):
			n, step = 0.5, 2
		default:
			continue
		}
		mul, name := unit(toks[i+step].text)
		if mul == 0 {
			continue
		}
		secs := int(math.Round(n * float64(mul)))
		if secs <= 0 {
			continue
		}
		total += secs
		if n == 0.5 {
			parts = append(parts, "half an "+name)
		} else {
			if n != 1 {
				name += "s"
			}
			parts = append(parts, strconv.FormatFloat(n, 'f', -1, 64)+" "+name)
		}
		for k := i; k <= i+step; k++ {
			used = append(used, k)
		}
		i += step
	}
	return total, strings.Join(parts, " and "), used
}

// score rates how well toks express the intent, in [0, 1], given the slots
// found: the best example's weighted recall of its words, combined with how
// many of the utterance's words the intent knows (F2, recall counting more).
func (c *compiled) score(toks []token, sv slotValues, idf func(string) float64) float64 {
	if len(toks) == 0 {
		return 0
	}
	// Precision: the share of the utterance the intent accounts for.
	var known float64
	for i, t := range toks {
		if sv.consumed[i] {
			known++
			continue
		}
		best := 0.0
		for v := range c.vocab {
			best = max(best, similarity(t.text, v))
			if best == 1 {
				break
			}
		}
		known += best
	}
	precision := known / float64(len(toks))

	bestScore := 0.0
	for _, ex := range c.examples {
		var got, total float64
		for _, e := range ex {
			if e.slot != "" {
				total++
				if _, ok := sv.values[e.slot]; ok {
					got++
				}
				continue
			}
			w := idf(e.text)
			total += w
			s := 0.0
			for i, t := range toks {
				if !sv.consumed[i] {
					s = max(s, similarity(e.text, t.text))
				}
			}
			got += w * s
		}
		if total == 0 {
			continue
		}
		recall := got / total
		if recall+precision > 0 {
			bestScore = max(bestScore, 5*precision*recall/(4*precision+recall))
		}
	}
	return bestScore
}
