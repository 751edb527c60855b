package frameq

import "testing"

// Spares hands back kept storage that has room, makes new storage of at
// least the floor otherwise, and keeps no more than its bound.
func TestSpares(t *testing.T) {
	s := NewSpares[byte](1)
	if b := s.Get(10, 64); len(b) != 0 || cap(b) != 64 {
		t.Fatalf("new: len %d cap %d, want 0 and 64", len(b), cap(b))
	}
	kept := make([]byte, 5, 100)
	s.Put(kept)
	s.Put(make([]byte, 0, 200)) // over the bound: not kept
	b := s.Get(80, 0)
	if len(b) != 0 || cap(b) != 100 || &b[:1][0] != &kept[:1][0] {
		t.Fatalf("kept storage not reused: len %d cap %d", len(b), cap(b))
	}
	if b := s.Get(10, 0); cap(b) != 10 {
		t.Fatalf("only one slice is kept: got cap %d, want a new 10", cap(b))
	}
	s.Put(make([]byte, 0, 8))
	if b := s.Get(16, 0); cap(b) != 16 {
		t.Fatalf("kept storage too small for the request: got cap %d, want a new 16", cap(b))
	}
}
