package sphinx

// bandMap predicts the cepstra a wideband recording would have had from the
// cepstra of its telephone-band version (8 kHz μ-law, resampled to 16 kHz):
// an affine map from a frame and its ctx neighbours on each side to one
// frame. The installed acoustic model was trained on wideband speech; its
// filters above 4 kHz see nothing in telephone audio, and the map fills in
// what they would have seen from the rest of the spectrum.
type bandMap struct {
	ctx int       // neighbouring frames on each side
	dim int       // cepstral coefficients per frame
	w   []float32 // dim rows of dim*(2*ctx+1)+1 weights, the bias last
}

// inputs is the length of one row of weights.
func (m *bandMap) inputs() int { return m.dim*(2*m.ctx+1) + 1 }

// apply appends the map of every frame of src (dim values each) to dst,
// repeating the first and last frames at the edges.
func (m *bandMap) apply(dst, src []float32) []float32 {
	return m.frames(dst, src, 0, len(src)/m.dim)
}

// frames appends the map of src's frames from to to-1 to dst; neighbours
// outside src repeat its first or last frame.
func (m *bandMap) frames(dst, src []float32, from, to int) []float32 {
	nfr := len(src) / m.dim
	in := m.inputs()
	for f := from; f < to; f++ {
		for o := range m.dim {
			row := m.w[o*in : (o+1)*in]
			acc := row[in-1]
			k := 0
			for c := -m.ctx; c <= m.ctx; c++ {
				g := min(max(f+c, 0), nfr-1)
				for _, v := range src[g*m.dim : (g+1)*m.dim] {
					acc += row[k] * v
					k++
				}
			}
			dst = append(dst, acc)
		}
	}
	return dst
}

// bandStream maps an utterance's cepstra as they arrive: a frame is mapped
// once its right neighbours are there, the last ones when the utterance
// ends. Pushing an utterance in pieces and ending it gives what apply gives
// for the whole.
type bandStream struct {
	m *bandMap
	// buf holds up to ctx frames already mapped (left context), then the
	// frames not yet mapped, from frame done on.
	buf  []float32
	done int
}

// push adds frames of cepstra and appends to dst the map of those whose
// neighbours are all known.
func (s *bandStream) push(dst, cep []float32) []float32 {
	s.buf = append(s.buf, cep...)
	if to := len(s.buf)/s.m.dim - s.m.ctx; to > s.done {
		dst = s.m.frames(dst, s.buf, s.done, to)
		s.done = to
	}
	// Keep ctx frames of left context.
	if drop := s.done - s.m.ctx; drop > 0 {
		s.buf = append(s.buf[:0], s.buf[drop*s.m.dim:]...)
		s.done -= drop
	}
	return dst
}

// end appends the map of the frames still waiting to dst and starts a new
// utterance.
func (s *bandStream) end(dst []float32) []float32 {
	dst = s.m.frames(dst, s.buf, s.done, len(s.buf)/s.m.dim)
	s.buf, s.done = s.buf[:0], 0
	return dst
}
