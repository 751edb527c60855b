package silero

import (
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/codecs/wav"
)

func TestSettleRule(t *testing.T) {
	tests := []struct {
		name  string
		probs []float32
		clear []int // windows after which the state is cleared
	}{
		{"quiet stream", []float32{0, 0.1, 0, 0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, nil},
		{"after an utterance", []float32{0, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1}, []int{12}},
		{"a pause inside speech is not an end", []float32{0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4, 0.1}, nil},
		{"once per utterance", []float32{0.6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s settle
			var got []int
			for i, p := range tt.probs {
				if s.after(p) {
					got = append(got, i)
				}
			}
			if len(got) != len(tt.clear) || (len(got) > 0 && got[0] != tt.clear[0]) {
				t.Fatalf("cleared after windows %v, want %v", got, tt.clear)
			}
			keep := settle{keep: true}
			for _, p := range tt.probs {
				if keep.after(p) {
					t.Fatal("KeepState stream cleared its state")
				}
			}
		})
	}
}

// After an utterance and its end, a stream scores what follows exactly as
// a fresh stream that starts where the state was cleared, so the next
// onset is confirmed as in a new session, however long the quiet.
func TestStreamForgetsFinishedUtterance(t *testing.T) {
	fr, err := wav.ReadFile(filepath.Join("..", "..", "testdata", "speech", "stop_slt.wav"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make([]float32, len(fr.Samples))
	for i, s := range fr.Samples {
		stop[i] = float32(s) / 32768
	}
	for _, rate := range []int{16000, 8000} {
		clip := stop
		if rate == 8000 {
			clip = decimate(stop)
		}
		quiet := make([]float32, 3*rate)
		stream := append(append(append([]float32{}, clip...), quiet...), clip...)
		m, err := testWeights(t).NewModel(rate)
		if err != nil {
			t.Fatal(err)
		}
		w := m.WindowSize()
		var probs []float32
		cleared := -1
		for i := 0; i+w <= len(stream); i += w {
			p, err := m.Probability(stream[i : i+w])
			if err != nil {
				t.Fatal(err)
			}
			probs = append(probs, p)
			if cleared < 0 && m.h == [hidden]float32{} && i > 0 {
				cleared = i + w
			}
		}
		if cleared < 0 || cleared > len(clip)+rate {
			t.Fatalf("%d Hz: state not cleared within 1 s of the utterance's end (at %d)", rate, cleared)
		}
		fresh, err := testWeights(t).NewModel(rate)
		if err != nil {
			t.Fatal(err)
		}
		fresh.ctx = m.ctxAt(stream, cleared)
		for i := cleared; i+w <= len(stream); i += w {
			p, _ := fresh.Probability(stream[i : i+w])
			if p != probs[i/w] {
				t.Fatalf("%d Hz: window %d scores %v, a stream started at %d scores %v", rate, i/w, probs[i/w], cleared, p)
			}
		}
		keep, err := testWeights(t).NewModel(rate, KeepState())
		if err != nil {
			t.Fatal(err)
		}
		diff := false
		for i := 0; i+w <= len(stream); i += w {
			if p, _ := keep.Probability(stream[i : i+w]); p != probs[i/w] {
				diff = true
			}
		}
		if !diff {
			t.Fatalf("%d Hz: KeepState scores like a stream that clears its state", rate)
		}
	}
}

// ctxAt returns the context a stream holds before scoring stream[at:].
func (m *Model) ctxAt(stream []float32, at int) [64]float32 {
	var c [64]float32
	copy(c[:m.b.context], stream[at-m.b.context:at])
	return c
}
