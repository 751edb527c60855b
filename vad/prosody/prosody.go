package prosody

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// ErrRate reports a sample rate Analyze does not take: it must be a
// positive multiple of 8000.
var ErrRate = errors.New("prosody: sample rate is not a multiple of 8000 Hz")

// Features describe how an utterance was spoken.
type Features struct {
	// Pitch is the median fundamental frequency of the voiced frames, in
	// Hz; 0 when no frame was voiced.
	Pitch float64
	// Level is the mean level of the active frames, in dBFS (a full-scale
	// square wave is 0); -100 when nothing was active.
	Level float64
	// Active is how long the frames with speech energy last; Voiced, the
	// part of it where a pitch was found.
	Active, Voiced time.Duration
}

// Analysis parameters at the 8 kHz analysis rate.
const (
	rate      = 8000
	hop       = 160 // 20 ms
	window    = 160 // YIN integration window, 20 ms
	minLag    = rate / 400
	maxLag    = rate / 60
	frameLen  = window + maxLag // 32 ms
	threshold = 0.2             // YIN's dip threshold
	floorDB   = -60.0           // quieter frames are never active
	rangeDB   = 35.0            // active frames are this close to the loudest
	silenceDB = -100.0
)

// Analyze measures 16-bit mono audio at sampleRate, a multiple of 8000.
// Audio shorter than one 32 ms frame has no active frames.
func Analyze(samples []int16, sampleRate int) (Features, error) {
	if sampleRate <= 0 || sampleRate%rate != 0 {
		return Features{}, fmt.Errorf("%w: %d", ErrRate, sampleRate)
	}
	x := decimate(samples, sampleRate/rate)
	n := 0
	if len(x) >= frameLen {
		n = (len(x)-frameLen)/hop + 1
	}
	levels := make([]float64, n)
	loudest := silenceDB
	for i := range n {
		levels[i] = levelDB(x[i*hop : i*hop+frameLen])
		loudest = max(loudest, levels[i])
	}
	gate := max(floorDB, loudest-rangeDB)
	f := Features{Level: silenceDB}
	var pitches []float64
	var sum float64
	active := 0
	d := make([]float64, maxLag+1)
	for i := range n {
		if levels[i] < gate {
			continue
		}
		active++
		sum += levels[i]
		if p := yin(x[i*hop:i*hop+frameLen], d); p > 0 {
			pitches = append(pitches, p)
		}
	}
	frame := time.Duration(hop) * time.Second / rate
	f.Active = time.Duration(active) * frame
	f.Voiced = time.Duration(len(pitches)) * frame
	if active > 0 {
		f.Level = sum / float64(active)
	}
	if len(pitches) > 0 {
		slices.Sort(pitches)
		f.Pitch = pitches[len(pitches)/2]
	}
	return f, nil
}

// decimate averages every k samples into one, scaled to [-1, 1]: a crude
// low-pass that keeps the fundamental and the low harmonics YIN needs.
func decimate(s []int16, k int) []float64 {
	out := make([]float64, len(s)/k)
	for i := range out {
		var sum float64
		for _, v := range s[i*k : i*k+k] {
			sum += float64(v)
		}
		out[i] = sum / float64(k) / 32768
	}
	return out
}

// levelDB is the RMS level of x in dBFS.
func levelDB(x []float64) float64 {
	var e float64
	for _, v := range x {
		e += v * v
	}
	if e == 0 {
		return silenceDB
	}
	return max(silenceDB, 10*math.Log10(e/float64(len(x))))
}

// yin returns the fundamental frequency of frame in Hz, or 0 when it is
// unvoiced; d is scratch space of maxLag+1. The difference function is
// computed lag by lag and stops at the first dip, so higher voices cost
// less.
func yin(frame []float64, d []float64) float64 {
	d[0] = 1
	var running float64
	diff := func(tau int) float64 {
		var s float64
		a, b := frame[:window], frame[tau:tau+window]
		for j := range a {
			v := a[j] - b[j]
			s += v * v
		}
		running += s
		if running == 0 {
			return 1
		}
		return s * float64(tau) / running // cumulative mean normalisation
	}
	for tau := 1; tau <= maxLag; tau++ {
		d[tau] = diff(tau)
		if tau < minLag+1 || d[tau-1] >= threshold || d[tau] < d[tau-1] {
			continue
		}
		// d[tau-1] is a dip below the threshold: refine it by parabolic
		// interpolation.
		t := tau - 1
		a, b, c := d[t-1], d[t], d[t+1]
		shift := 0.0
		if den := a - 2*b + c; den != 0 {
			shift = 0.5 * (a - c) / den
		}
		return rate / (float64(t) + shift)
	}
	return 0
}
