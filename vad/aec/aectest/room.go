package aectest

import (
	"math"
	"math/rand/v2"
)

// Speed of sound, m/s.
const soundSpeed = 343.0

// Room is a shoebox room for the image method: its size, where the
// loudspeaker (or the talker) and the microphone stand, and its
// reverberation time.
type Room struct {
	Size    [3]float64 // metres
	Source  [3]float64 // metres from the corner
	Mic     [3]float64
	RT60    float64 // seconds
	Seconds float64 // impulse response length (default RT60 + 0.1)
}

// RandomRoom returns a room of plausible size (living room to office, 3 to
// 8 m wide) with reverberation time rt60 and a source and microphone at
// random places at least 0.3 m from the walls and apart. A smart speaker's
// loudspeaker and microphone sit close together; talkers stand away.
func RandomRoom(rng *rand.Rand, rt60 float64, distance float64) Room {
	r := Room{RT60: rt60}
	for i, lo := range []float64{3, 3, 2.4} {
		r.Size[i] = lo + rng.Float64()*[]float64{5, 4, 1.2}[i]
	}
	place := func() [3]float64 {
		var p [3]float64
		for i := range p {
			p[i] = 0.3 + rng.Float64()*(r.Size[i]-0.6)
		}
		return p
	}
	for {
		r.Source = place()
		if m, ok := r.Around(rng, r.Source, distance); ok {
			r.Mic = m
			return r
		}
	}
}

// Around returns a point distance metres from p in a random direction,
// at least 0.3 m from the walls, if one of 100 tries finds one.
func (r Room) Around(rng *rand.Rand, p [3]float64, distance float64) ([3]float64, bool) {
	for range 100 {
		z := 2*rng.Float64() - 1
		a := 2 * math.Pi * rng.Float64()
		s := math.Sqrt(1 - z*z)
		m := [3]float64{p[0] + distance*s*math.Cos(a), p[1] + distance*s*math.Sin(a), p[2] + distance*z}
		if inside(m, r.Size) {
			return m, true
		}
	}
	return p, false
}

func inside(p, size [3]float64) bool {
	for i := range p {
		if p[i] < 0.3 || p[i] > size[i]-0.3 {
			return false
		}
	}
	return true
}

// ImpulseResponse returns the room's impulse response from source to
// microphone at rate, by the image method (Allen and Berkley): every
// mirror image of the source up to the response's length contributes a
// delayed impulse, scaled by the walls' reflection coefficient per bounce
// and by 1/distance, placed with a windowed-sinc fractional delay. The
// walls' reflection coefficient comes from RT60 by Eyring's formula,
// corrected once so that the response's measured reverberation time
// (MeasuredRT60) matches. The response is high-passed at 50 Hz (as real
// measurements are) and scaled to unit energy.
func (r Room) ImpulseResponse(rate int) []float32 {
	h := r.images(rate, r.RT60)
	if m := MeasuredRT60(h, rate); m > 0 {
		h = r.images(rate, r.RT60*r.RT60/m)
	}
	return h
}

// images computes the response for walls that Eyring's formula gives
// reverberation time rt60.
func (r Room) images(rate int, rt60 float64) []float32 {
	secs := r.Seconds
	if secs == 0 {
		secs = r.RT60 + 0.1
	}
	n := int(secs * float64(rate))
	h := make([]float64, n)
	lx, ly, lz := r.Size[0], r.Size[1], r.Size[2]
	vol := lx * ly * lz
	surf := 2 * (lx*ly + lx*lz + ly*lz)
	beta := math.Exp(-0.161 * vol / (2 * surf * rt60)) // pressure reflection
	maxDist := secs * soundSpeed
	const half = 16 // sinc half-length, samples
	st := newSincTable(half)
	nx, ny, nz := int(maxDist/(2*lx))+1, int(maxDist/(2*ly))+1, int(maxDist/(2*lz))+1
	pow := make([]float64, 2*(nx+ny+nz)+8)
	for i := range pow {
		pow[i] = math.Pow(beta, float64(i))
	}
	for ix := -nx; ix <= nx; ix++ {
		for qx := range 2 {
			dx := float64(1-2*qx)*r.Source[0] + 2*float64(ix)*lx - r.Mic[0]
			bx := iabs(ix-qx) + iabs(ix)
			for iy := -ny; iy <= ny; iy++ {
				for qy := range 2 {
					dy := float64(1-2*qy)*r.Source[1] + 2*float64(iy)*ly - r.Mic[1]
					by := iabs(iy-qy) + iabs(iy)
					dxy := dx*dx + dy*dy
					if dxy > maxDist*maxDist {
						continue
					}
					for iz := -nz; iz <= nz; iz++ {
						for qz := range 2 {
							dz := float64(1-2*qz)*r.Source[2] + 2*float64(iz)*lz - r.Mic[2]
							d := math.Sqrt(dxy + dz*dz)
							t := d / soundSpeed * float64(rate)
							if t >= float64(n-half) {
								continue
							}
							g := pow[bx+by+iabs(iz-qz)+iabs(iz)] / (4 * math.Pi * max(d, 0.1))
							st.add(h, t, g)
						}
					}
				}
			}
		}
	}
	highpass(h, 50, rate)
	var e float64
	for _, v := range h {
		e += v * v
	}
	out := make([]float32, n)
	s := 1 / math.Sqrt(e)
	for i, v := range h {
		out[i] = float32(v * s)
	}
	return out
}

func iabs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// sincTable holds cos and sin of πm/half for m in (-half, half], the
// window's phase at whole samples.
type sincTable struct {
	half     int
	cos, sin []float64
}

func newSincTable(half int) *sincTable {
	t := &sincTable{half: half}
	for m := -half + 1; m <= half; m++ {
		a := math.Pi * float64(m) / float64(half)
		t.cos = append(t.cos, math.Cos(a))
		t.sin = append(t.sin, math.Sin(a))
	}
	return t
}

// add adds g·δ(t) band-limited: a Hann-windowed sinc of half-length half
// around t. With t = c + f, sin(π(m-f)) = -(-1)^m sin(πf), and the
// window's cosine comes from the table by angle subtraction.
func (st *sincTable) add(h []float64, t, g float64) {
	c := int(math.Floor(t))
	f := t - float64(c)
	sf := math.Sin(math.Pi * f)
	cb, sb := math.Cos(math.Pi*f/float64(st.half)), math.Sin(math.Pi*f/float64(st.half))
	for j, m := 0, -st.half+1; m <= st.half; j, m = j+1, m+1 {
		i := c + m
		if i < 0 || i >= len(h) {
			continue
		}
		x := float64(m) - f
		w := 0.5 + 0.5*(st.cos[j]*cb+st.sin[j]*sb)
		var s float64
		if x == 0 {
			s = 1
		} else {
			s = -sf / (math.Pi * x)
			if m&1 != 0 {
				s = -s
			}
		}
		h[i] += g * w * s
	}
}

// highpass filters x in place with a second-order Butterworth high-pass.
func highpass(x []float64, cutoff float64, rate int) {
	w0 := 2 * math.Pi * cutoff / float64(rate)
	alpha := math.Sin(w0) / math.Sqrt2
	cw := math.Cos(w0)
	a0 := 1 + alpha
	b0, b1, b2 := (1+cw)/2/a0, -(1+cw)/a0, (1+cw)/2/a0
	a1, a2 := -2*cw/a0, (1-alpha)/a0
	var x1, x2, y1, y2 float64
	for i, v := range x {
		y := b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2
		x2, x1, y2, y1 = x1, v, y1, y
		x[i] = y
	}
}

// MeasuredRT60 estimates the reverberation time of an impulse response by
// Schroeder backward integration: the time the energy decay curve takes to
// fall from -5 to -25 dB, times three.
func MeasuredRT60(h []float32, rate int) float64 {
	edc := make([]float64, len(h))
	var acc float64
	for i := len(h) - 1; i >= 0; i-- {
		acc += float64(h[i]) * float64(h[i])
		edc[i] = acc
	}
	t5, t25 := -1, -1
	for i, v := range edc {
		db := 10 * math.Log10(v/edc[0])
		if t5 < 0 && db <= -5 {
			t5 = i
		}
		if t25 < 0 && db <= -25 {
			t25 = i
			break
		}
	}
	if t5 < 0 || t25 < 0 {
		return 0
	}
	return 3 * float64(t25-t5) / float64(rate)
}
