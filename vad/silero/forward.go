package silero

// scratch holds the activations of one forward pass. It lives on the stack
// of forward, so a Model carries only its recurrent state and context.
type scratch struct {
	x      [maxFrame]float32               // context + window + reflection
	xr, xi [maxBins]float32                // one frame's spectrum
	work   [2 * (maxBins - 1)]float32      // FFT work
	enc0   [(frames + 2) * maxChan]float32 // STFT magnitudes, time-major, zero rows around
	enc1   [(frames + 2) * hidden]float32
	enc2   [(2 + 2) * 64]float32
	enc3   [(1 + 2) * 64]float32
	enc4   [(1 + 2) * hidden]float32
}

// cell holds the activations of one LSTM step.
type cell struct {
	xh [2 * hidden]float32 // LSTM input and previous h
	g  [gates]float32
}

// forward runs the network over one window (length checked by the caller)
// and updates the stream state.
func (m *Model) forward(window []float32) float32 {
	var s scratch
	return m.step(m.encode(window, &s))
}

// encode runs the encoder over the context and one window, updates the
// context and returns the encoder's output (in s).
func (m *Model) encode(window []float32, s *scratch) []float32 {
	b := m.b

	// Input: the previous call's last samples, the window, then reflection
	// padding on the right (x[n+i] = x[n-2-i]).
	n := b.context + b.window
	x := s.x[:n+b.context]
	copy(x, m.ctx[:b.context])
	copy(x[b.context:], window)
	for i := range b.context {
		x[n+i] = x[n-2-i]
	}
	copy(m.ctx[:b.context], window[len(window)-b.context:])

	// STFT magnitudes, one row per frame, rows 1..frames.
	c0 := &b.enc[0]
	for t := range frames {
		row := s.enc0[(t+1)*c0.inPad:]
		magnitude(b.fft, row[:b.bins], x[t*b.hop:t*b.hop+b.nfft], b.win, s.xr[:], s.xi[:], s.work[:], m.simd)
	}

	// Encoder.
	t := m.conv(c0, s.enc0[:], frames, s.enc1[:])
	t = m.conv(&b.enc[1], s.enc1[:], t, s.enc2[:])
	t = m.conv(&b.enc[2], s.enc2[:], t, s.enc3[:])
	m.conv(&b.enc[3], s.enc3[:], t, s.enc4[:])
	return s.enc4[hidden : 2*hidden]
}

// step runs the LSTM cell on the encoder output x, updates the recurrent
// state and returns the speech probability.
func (m *Model) step(x []float32) float32 {
	var s cell
	// LSTM cell on [x; h], PyTorch gate order i, f, g, o.
	copy(s.xh[:hidden], x)
	copy(s.xh[hidden:], m.h[:])
	m.matVec(s.g[:], m.b.lstmW, s.xh[:], 2*hidden, 2*hidden)
	return m.gates(&s)
}

// quietStep is step on the encoder output for digital silence, whose
// input-weight products (pre) are known: only the recurrent half of the
// matrix is applied.
func (m *Model) quietStep(pre []float32) float32 {
	var s cell
	copy(s.xh[hidden:], m.h[:])
	m.matVec(s.g[:], m.b.lstmW[hidden:], s.xh[hidden:], hidden, 2*hidden)
	for j, v := range pre {
		s.g[j] += v
	}
	return m.gates(&s)
}

// gates finishes an LSTM step from the gate pre-activations in s.g (less
// the bias), updates the recurrent state and returns the probability.
func (m *Model) gates(s *cell) float32 {
	b := m.b
	// Gates: sigmoid(z) = 1/(1+e^-z) for i, f, o and tanh(z) =
	// 1-2/(e^2z+1) for g, so one vector exp serves all four.
	for j, v := range s.g {
		z := v + b.lstmB[j]
		if j >= 2*hidden && j < 3*hidden {
			s.g[j] = 2 * z
		} else {
			s.g[j] = -z
		}
	}
	m.exp(s.g[:])
	c := s.xh[:hidden] // reused: holds 2c, then e^2c
	for j := range hidden {
		i := 1 / (1 + s.g[j])
		f := 1 / (1 + s.g[hidden+j])
		g := 1 - 2/(s.g[2*hidden+j]+1)
		m.c[j] = f*m.c[j] + i*g
		c[j] = 2 * m.c[j]
	}
	m.exp(c)
	var out float32
	for j := range hidden {
		o := 1 / (1 + s.g[3*hidden+j])
		h := o * (1 - 2/(c[j]+1))
		m.h[j] = h
		out += max(h, 0) * b.outW[j] // ReLU, then the 1x1 convolution
	}
	return sigmoid(out + b.outB)
}

// exp sets x[i] = e^x[i] (len(x) a multiple of 8).
func (m *Model) exp(x []float32) {
	if m.simd {
		expSIMD(x)
		return
	}
	expGo(x)
}

// conv applies one encoder layer (+ReLU) to tIn time rows of in (rows
// 1..tIn, zero rows 0 and tIn+1, row stride c.inPad) and writes rows
// 1..tOut of out (row stride c.out). It returns tOut. Taps that fall on the
// zero padding rows are skipped.
func (m *Model) conv(c *conv, in []float32, tIn int, out []float32) int {
	tOut := (tIn-1)/c.stride + 1
	ws := kernel * c.inPad
	if m.simd && tOut == 4 && c.stride == 1 {
		// Four full patches in one pass over the weights (the zero rows
		// cost a few products but save three weight reads).
		matVec4SIMD(out[c.out:], c.w, in, ws, ws, c.inPad, c.out, c.out)
		for t := range tOut {
			y := out[(t+1)*c.out : (t+2)*c.out]
			for o, v := range y {
				y[o] = max(v+c.b[o], 0)
			}
		}
		return tOut
	}
	for t := range tOut {
		first := t * c.stride // padded row under tap 0
		lo, hi := 0, kernel
		if first == 0 {
			lo = 1
		}
		if first+kernel-1 > tIn {
			hi = tIn + 1 - first
		}
		y := out[(t+1)*c.out : (t+2)*c.out]
		m.matVec(y, c.w[lo*c.inPad:], in[(first+lo)*c.inPad:(first+hi)*c.inPad], (hi-lo)*c.inPad, ws)
		for o, v := range y {
			y[o] = max(v+c.b[o], 0)
		}
	}
	return tOut
}

// matVec sets y[r] = w[r*ws:r*ws+k] · x[:k] for every row r of y. len(y) is
// a multiple of 4 and k a multiple of 16.
func (m *Model) matVec(y, w, x []float32, k, ws int) {
	if m.simd {
		matVecSIMD(y, w, x, k, ws)
		return
	}
	matVecGo(y, w, x, k, ws)
}
