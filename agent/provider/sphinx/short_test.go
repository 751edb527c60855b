//go:build cgo

package sphinx_test

import (
	"testing"

	"github.com/harkvoice/hark/agent/provider/sphinx"
)

// TestShortUtterance decodes utterances of 0 to 12 frames of speech
// cepstra. PocketSphinx's first pass runs five frames behind the audio;
// with 6 or 7 frames (3 or 4 after its delta window) it saw none while the
// second pass found a word end, and asking for the hypothesis aborted the
// whole process (create_dag_nodes: Assertion 'ef < dag->n_frames').
func TestShortUtterance(t *testing.T) {
	r := shared(t)
	fr := readWAV(t, "../../../testdata/speech/order_rms.wav")
	cep, err := sphinx.Cepstra(r, fr.Samples)
	if err != nil {
		t.Fatal(err)
	}
	const dim = 13
	for _, at := range []int{0, 40, 100, 150} {
		for n := 0; n <= 12 && (at+n)*dim <= len(cep); n++ {
			if _, err := sphinx.DecodeCepstra(r, cep[at*dim:(at+n)*dim]); err != nil {
				t.Errorf("%d frames at %d: %v", n, at, err)
			}
		}
	}
}
