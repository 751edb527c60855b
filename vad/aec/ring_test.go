package aec

import "testing"

func TestRefRing(t *testing.T) {
	r := newRefRing(8, 16000) // 8 samples
	r.hp = biquad{b0: 1}      // no filtering: check positions only
	read := func(pos int64, n int) []float32 {
		d := make([]float32, n)
		r.read(d, pos)
		return d
	}
	same := func(what string, got []float32, want ...float32) {
		t.Helper()
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}
	r.write(0, []int16{1, 2, 3})
	same("first write", read(-1, 5), 0, 1, 2, 3, 0)
	r.write(5, []int16{6, 7}) // positions 3 and 4 were skipped: silence
	same("gap", read(0, 8), 1, 2, 3, 0, 0, 6, 7, 0)
	r.write(1, []int16{9}) // rewrite inside the ring
	same("rewrite", read(0, 3), 1, 9, 3)
	r.write(10, []int16{11, 12}) // the ring now holds positions 4…11
	same("wrapped", read(2, 12), 0, 0, 0, 6, 7, 0, 0, 0, 11, 12, 0, 0)
	r.write(1, []int16{5}) // older than the ring holds: dropped
	same("too old", read(3, 3), 0, 0, 6)
	r.write(20, make([]int16, 3))
	r.write(30, []int16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) // longer than the ring
	same("long write", read(30, 10), 0, 0, 3, 4, 5, 6, 7, 8, 9, 10)
}

// The reference is high-passed: a constant offset dies away.
func TestRefRingHighPass(t *testing.T) {
	r := newRefRing(4096, 16000)
	dc := make([]int16, 4000)
	for i := range dc {
		dc[i] = 1000
	}
	r.write(0, dc)
	tail := make([]float32, 100)
	r.read(tail, 3900)
	for _, v := range tail {
		if v > 1 || v < -1 {
			t.Fatalf("offset of 1000 still %v after 0.25 s", v)
		}
	}
}
