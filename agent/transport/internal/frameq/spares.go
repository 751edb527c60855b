package frameq

// Spares keeps the storage of up to a fixed number of emptied slices for
// reuse, so that a steady stream that gives back what it took allocates
// nothing. It is safe for concurrent use.
type Spares[E any] chan []E

// NewSpares returns a Spares that keeps up to n slices.
func NewSpares[E any](n int) Spares[E] { return make(chan []E, n) }

// Get returns an empty slice with room for n elements: a kept one when it
// has that room, else a new one of capacity max(n, least).
func (s Spares[E]) Get(n, least int) []E {
	select {
	case b := <-s:
		if cap(b) >= n {
			return b
		}
	default:
	}
	return make([]E, 0, max(n, least))
}

// Put keeps b's storage for Get, unless enough is kept already.
func (s Spares[E]) Put(b []E) {
	select {
	case s <- b[:0]:
	default:
	}
}
