package dialogue

import (
	"testing"
)

func TestTokenize(t *testing.T) {
	for in, want := range map[string]string{
		"Where's my order one two three four?": "where is my order 1234",
		"order one to three for":               "order 1234",
		"set a timer for five minutes":         "set a timer for 5 minutes",
		"set a timer for twenty five minutes":  "set a timer for 25 minutes",
		"one hundred twenty three":             "123",
		"two thousand five hundred":            "2500",
		"a hundred":                            "a 100",
		"twelve thirty four":                   "1234",
		"double five one":                      "551",
		"order 12 34":                          "order 1234",
		"I'd like to talk to a human":          "i would like to talk to a human",
		"mi pedido uno dos tres cuatro":        "mi pedido 1234",
		"meine Bestellung eins zwei drei vier": "meine bestellung 1234",
		"where is my order {order_id} please":  "where is my order {order_id} please",
		"zero oh seven":                        "007",
		"going from one to another":            "going from 1 to another",
		"the customer’s package":               "the customer package",
	} {
		if got := tokenText(tokenize(in)); got != want {
			t.Errorf("tokenize(%q) = %q, want %q", in, got, want)
		}
	}
	toks := tokenize("order {order_id}")
	if toks[1].slot != "order_id" {
		t.Errorf("placeholder not a slot token: %+v", toks)
	}
}

func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b     string
		min, max float64
	}{
		{"order", "order", 1, 1},
		{"order", "ardor", 0.8, 0.8},    // same consonants
		{"orders", "order", 0.95, 0.95}, // same stem
		{"shipping", "shiping", 0.8, 0.9},
		{"lights", "lives", 0, 0},
		{"on", "an", 0, 0}, // short words only match exactly
		{"1234", "1243", 0, 0},
		{"timer", "time", 0, 0.75},
		{"kitchen", "chicken", 0, 0.7},
	} {
		if got := similarity(tc.a, tc.b); got < tc.min || got > tc.max {
			t.Errorf("similarity(%q, %q) = %.2f, want %.2f..%.2f", tc.a, tc.b, got, tc.min, tc.max)
		}
	}
}
