package aec

import (
	"strings"
	"testing"
)

func TestTalkDetector(t *testing.T) {
	// Each step is "fn" with f = far, n = near, - = neither; the states
	// are the initials S, F, N, D.
	tests := []struct {
		name       string
		steps      string
		near, far  int
		wantStates string
	}{
		{"silence", "-- -- --", 2, 1, "SSS"},
		{"echo with hangover", "f- f- -- -- --", 2, 2, "FFFFS"},
		{"user with hangover", "-n -- -- --", 2, 1, "NNNS"},
		{"double talk", "f- fn fn f- f- f-", 2, 1, "FDDDDF"},
		{"user over fading echo", "f- -n -n -n -- -- --", 1, 2, "FDDNNSS"},
		{"echo joins the user", "-n -n fn fn -- --", 3, 1, "NNDDDN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := talkDetector{nearHang: tt.near, farHang: tt.far}
			var got strings.Builder
			for _, s := range strings.Fields(tt.steps) {
				st := d.step(s[0] == 'f', s[1] == 'n')
				got.WriteByte(st.String()[0] - 'a' + 'A')
			}
			if got.String() != tt.wantStates {
				t.Errorf("states %s, want %s", got.String(), tt.wantStates)
			}
		})
	}
}

func TestTalkString(t *testing.T) {
	for tk, want := range map[Talk]string{Silence: "silence", FarEnd: "far-end", NearEnd: "near-end", DoubleTalk: "double-talk", 9: "unknown"} {
		if tk.String() != want {
			t.Errorf("%d: %q, want %q", tk, tk.String(), want)
		}
	}
}
