package device

import "testing"

// TestHelloAEC: the hello's "aec" is true when absent, and follows the
// device otherwise; a non-boolean is refused.
func TestHelloAEC(t *testing.T) {
	for _, tc := range []struct {
		field string
		want  bool
	}{{"", true}, {`,"aec":true`, true}, {`,"aec":false`, false}, {`,"aec":null`, true}} {
		m, err := ParseClientMessage([]byte(`{"type":"hello","version":1,"audio":{"encoding":"pcm16","sample_rate":16000}` + tc.field + `}`))
		if err != nil {
			t.Fatalf("%q: %v", tc.field, err)
		}
		if m.Hello.AEC != tc.want {
			t.Errorf("%q: AEC %v, want %v", tc.field, m.Hello.AEC, tc.want)
		}
		c := &Conn{hello: m.Hello}
		if c.WantsEchoCancellation() != tc.want {
			t.Errorf("%q: the connection asks for %v", tc.field, !tc.want)
		}
	}
	if _, err := ParseClientMessage([]byte(`{"type":"hello","version":1,"audio":{"encoding":"pcm16","sample_rate":16000},"aec":"yes"}`)); err == nil {
		t.Error(`"aec":"yes" accepted`)
	}
}
