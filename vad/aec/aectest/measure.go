package aectest

import (
	"math"
	"time"
)

// Result is how well a canceller did on a scene.
type Result struct {
	// ERLE is the echo return loss enhancement in dB: echo energy at the
	// microphone over the output's energy, on frames with echo and no
	// near end, from Settle after the echo starts. Noise in the output
	// counts against it.
	ERLE float64
	// Converged is the time from the echo's start until the ERLE over the
	// following half second of echo frames first reaches ConvergedAt dB;
	// negative if it never does.
	Converged time.Duration
	// NearLossSingle and NearLossDouble are the near end's loss through
	// the canceller in dB (its energy over the energy of the output's
	// projection on it, frame by frame), on frames where the user speaks
	// alone and where both speak.
	NearLossSingle, NearLossDouble float64
	// ERLEAfterDouble is the ERLE on echo frames in the two seconds after
	// the last double-talk frame: a filter that double talk dragged away
	// shows here.
	ERLEAfterDouble float64
	// Frames counted for each figure.
	EchoFrames, SingleFrames, DoubleFrames int
}

// Measures' settings.
const (
	Settle      = time.Second // ERLE counts from this long after the echo starts
	ConvergedAt = 20.0        // dB
	frameMs     = 10
)

// Measure compares out, a canceller's output latency samples behind the
// scene's microphone, with the scene's parts.
func Measure(sc *Scene, out []int16, latency int) Result {
	fl := sc.Rate * frameMs / 1000
	o := make([]float32, len(sc.Mic))
	for i := range o {
		if j := i + latency; j < len(out) {
			o[i] = float32(out[j])
		}
	}
	ee := frameEnergies(sc.Echo, fl)
	ne := frameEnergies(sc.Near, fl)
	oe := frameEnergies(o, fl)
	echoLevel := activeFrameEnergy(ee)
	nearLevel := activeFrameEnergy(ne)
	// Frame classes: echo present (within 30 dB of its active level), near
	// end absent (40 dB below its level) or strong (within 15 dB).
	echoOn := func(f int) bool { return ee[f] > echoLevel*1e-3 }
	echoOff := func(f int) bool { return ee[f] < echoLevel*1e-4 }
	nearOff := func(f int) bool { return ne[f] < nearLevel*1e-4 }
	nearOn := func(f int) bool { return ne[f] > nearLevel*0.03 }
	first, lastDouble := -1, -1
	for f := range ee {
		if first < 0 && echoOn(f) {
			first = f
		}
		if nearOn(f) && echoOn(f) {
			lastDouble = f
		}
	}
	var r Result
	r.Converged = -1
	if first < 0 {
		return r
	}
	settle := first + int(Settle/time.Millisecond)/frameMs
	var se, so, ae, ao float64
	for f := settle; f < len(ee); f++ {
		if echoOn(f) && nearOff(f) {
			se += ee[f]
			so += oe[f]
			r.EchoFrames++
			if lastDouble >= 0 && f > lastDouble && f <= lastDouble+200 {
				ae += ee[f]
				ao += oe[f]
			}
		}
	}
	r.ERLE = ratioDB(se, so)
	r.ERLEAfterDouble = ratioDB(ae, ao)
	// Convergence: slide over echo frames, half a second of them at a time.
	var idx []int
	for f := first; f < len(ee); f++ {
		if echoOn(f) && nearOff(f) {
			idx = append(idx, f)
		}
	}
	const win = 500 / frameMs
	for i := 0; i+win <= len(idx); i++ {
		var a, b float64
		for _, f := range idx[i : i+win] {
			a += ee[f]
			b += oe[f]
		}
		if ratioDB(a, b) >= ConvergedAt {
			r.Converged = time.Duration(idx[i]-first) * frameMs * time.Millisecond
			break
		}
	}
	// Near-end loss: per frame, the output's projection on the near end.
	var sn, sp, dn, dp float64
	for f := range ne {
		if !nearOn(f) {
			continue
		}
		n, out := sc.Near[f*fl:(f+1)*fl], o[f*fl:(f+1)*fl]
		var c, e float64
		for i, v := range n {
			c += float64(v) * float64(out[i])
			e += float64(v) * float64(v)
		}
		g := c / e
		switch {
		case echoOff(f):
			sn += e
			sp += g * g * e
			r.SingleFrames++
		case echoOn(f):
			dn += e
			dp += g * g * e
			r.DoubleFrames++
		}
	}
	r.NearLossSingle = ratioDB(sn, sp)
	r.NearLossDouble = ratioDB(dn, dp)
	return r
}

// activeFrameEnergy returns the mean energy of frames within 40 dB of the
// loudest.
func activeFrameEnergy(e []float64) float64 {
	var top float64
	for _, v := range e {
		top = max(top, v)
	}
	var s float64
	var k int
	for _, v := range e {
		if v > top*1e-4 {
			s += v
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

// ratioDB returns 10·log10(a/b), NaN when either is zero.
func ratioDB(a, b float64) float64 {
	if a == 0 || b == 0 {
		return math.NaN()
	}
	return 10 * math.Log10(a/b)
}

// FindLatency returns the lag, up to maxLag samples, at which out best
// matches the scene's near end on frames where the user speaks alone: the
// latency of a canceller that does not report its own.
func FindLatency(sc *Scene, out []int16, maxLag int) int {
	fl := sc.Rate * frameMs / 1000
	ee := frameEnergies(sc.Echo, fl)
	ne := frameEnergies(sc.Near, fl)
	echoLevel, nearLevel := activeFrameEnergy(ee), activeFrameEnergy(ne)
	best, bestLag := math.Inf(-1), 0
	for lag := 0; lag <= maxLag; lag++ {
		var c float64
		for f := range ne {
			if ne[f] < nearLevel*0.03 || ee[f] > echoLevel*1e-4 {
				continue
			}
			for i := f * fl; i < (f+1)*fl && i+lag < len(out); i++ {
				c += float64(sc.Near[i]) * float64(out[i+lag])
			}
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	return bestLag
}
