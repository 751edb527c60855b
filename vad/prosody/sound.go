package prosody

import (
	"fmt"
	"math"
	"slices"

	"github.com/harkvoice/hark/vad/internal/fft"
)

// Sound is the judge's verdict on a stretch of voice.
type Sound uint8

const (
	// SoundUndecided: too little heard to tell, or nothing non-lexical
	// about it so far.
	SoundUndecided Sound = iota
	// SoundLexical: the sound has what words have and non-lexical sounds
	// lack (a fricative, syllables of different vowels, a consonant
	// transition after a steady start). It is final for the stretch.
	SoundLexical
	// SoundLaughter: a train of at least three short voiced bursts at 3.5-7
	// per second, each on the same vowel, the gaps between them breathy
	// or silent.
	SoundLaughter
	// SoundHumming: a steady voiced sound with its energy below the
	// second formant's range (a nasal murmur, lips closed), no consonant
	// and no change of spectral shape.
	SoundHumming
	// SoundBreath: a long unvoiced, breathy sound with a smooth envelope
	// (a sigh, an exhalation), no fricative and no burst.
	SoundBreath
)

// NonLexical reports whether s is a sound that is not words.
func (s Sound) NonLexical() bool { return s >= SoundLaughter }

func (s Sound) String() string {
	switch s {
	case SoundUndecided:
		return "undecided"
	case SoundLexical:
		return "lexical"
	case SoundLaughter:
		return "laughter"
	case SoundHumming:
		return "humming"
	case SoundBreath:
		return "breath"
	}
	return fmt.Sprintf("Sound(%d)", uint8(s))
}

// Judge tells non-lexical vocal sounds (laughter, humming, a sigh) from
// speech that may be words, in any language, on a stream of audio: it is
// fed the audio of one stretch of voice from its onset and gives its
// verdict on everything heard so far after every write. It is a cheap
// front end (YIN's aperiodicity and six band energies per 10 ms at the
// 8 kHz analysis rate, so telephone audio is judged like wideband audio)
// and errs towards words: anything it cannot place is undecided, and once
// it hears something only words have, the verdict is lexical for the rest
// of the stretch.
//
// A Judge is not safe for concurrent use.
type Judge struct {
	k      int       // decimation factor to the analysis rate
	carry  []int16   // input samples not yet decimated (fewer than k)
	buf    []float64 // analysis-rate audio not yet analysed, with the frame's history
	frames []frame
	d      []float64
	sound  Sound
	peak   float64
	// spectrum scratch
	fft             *fft.Real
	x, re, im, work []float32
	lv              []float64 // smoothed levels, judge's scratch
	wasNonLexical   bool
}

// frame is what the judge measured in one 10 ms hop.
type frame struct {
	level float64 // dBFS of the last 20 ms
	// ap is the aperiodicity: the least cumulative-mean-normalised
	// difference over the pitch lags (0 for a perfectly periodic frame,
	// about 1 for noise).
	ap    float64
	bands [nBands]float64
	// hi is the share of the energy above 2.5 kHz (a fricative's), lo the
	// share below 1 kHz (a nasal murmur's), among the bands above 300 Hz.
	hi, lo float64
}

// Judge analysis constants (at the 8 kHz analysis rate).
const (
	judgeHop = 80 // 10 ms
	// judgeMax is how much of a stretch is judged: a sound undecided
	// after it stays undecided.
	judgeMax = 400 // 4 s of hops
	nBands   = 6
	// gateDB: frames this far below the stretch's loudest are not part
	// of the sound.
	gateDB = 30.0
)

// specLen is the spectrum's block: 32 ms, 31.25 Hz bins.
const specLen = 256

// bandBins are the analysis bands as bins of the spectrum: 300-600-1000-
// 1600-2500-3200-3900 Hz. All start above 300 Hz, so that a telephone
// line's missing low band changes nothing.
var bandBins = func() (b [nBands + 1]int) {
	for i, hz := range [...]float64{300, 600, 1000, 1600, 2500, 3200, 3900} {
		b[i] = int(math.Round(hz * specLen / rate))
	}
	return b
}()

// hann is the spectrum's window.
var hann = func() []float32 {
	w := make([]float32, specLen)
	for i := range w {
		w[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/specLen))
	}
	return w
}()

// NewJudge returns a judge for 16-bit mono audio at sampleRate, a positive
// multiple of 8000.
func NewJudge(sampleRate int) (*Judge, error) {
	if sampleRate <= 0 || sampleRate%rate != 0 {
		return nil, fmt.Errorf("%w: %d", ErrRate, sampleRate)
	}
	p, err := fft.NewReal(specLen)
	if err != nil {
		return nil, err
	}
	return &Judge{
		k: sampleRate / rate, d: make([]float64, maxLag+1), peak: silenceDB, fft: p,
		x: make([]float32, specLen), re: make([]float32, specLen/2+1), im: make([]float32, specLen/2+1),
		work: make([]float32, specLen),
	}, nil
}

// Reset starts a new stretch of voice.
func (j *Judge) Reset() {
	j.carry, j.buf, j.frames = j.carry[:0], j.buf[:0], j.frames[:0]
	j.sound, j.peak, j.wasNonLexical = SoundUndecided, silenceDB, false
}

// Sound returns the verdict on the stretch so far.
func (j *Judge) Sound() Sound { return j.sound }

// Write adds the next samples of the stretch and returns the verdict on
// all of it so far.
func (j *Judge) Write(samples []int16) Sound {
	if len(j.frames) >= judgeMax || j.sound == SoundLexical {
		return j.sound
	}
	for len(samples) > 0 {
		n := min(len(samples), j.k-len(j.carry))
		j.carry = append(j.carry, samples[:n]...)
		samples = samples[n:]
		if len(j.carry) < j.k {
			break
		}
		var sum float64
		for _, v := range j.carry {
			sum += float64(v)
		}
		j.carry = j.carry[:0]
		j.buf = append(j.buf, sum/float64(j.k)/32768)
	}
	added := false
	off := 0
	for len(j.buf)-off >= frameLen && len(j.frames) < judgeMax {
		j.frames = append(j.frames, j.measure(j.buf[off:off+frameLen]))
		off += judgeHop
		added = true
	}
	// What is left moves to the front: the buffer's storage serves the
	// whole stretch.
	j.buf = j.buf[:copy(j.buf, j.buf[off:])]
	if added {
		j.sound = j.judge()
		if j.sound.NonLexical() {
			j.wasNonLexical = true
		} else if j.wasNonLexical {
			// What was a non-lexical sound has turned into something
			// else: words follow it.
			j.sound = SoundLexical
		}
	}
	return j.sound
}

// measure analyses one frame (frameLen samples; its last 20 ms are the
// frame's own).
func (j *Judge) measure(x []float64) frame {
	f := frame{level: levelDB(x[frameLen-window:])}
	j.peak = max(j.peak, f.level)
	f.ap = aperiodicity(x, j.d)
	seg := x[frameLen-specLen:]
	for i, v := range seg {
		j.x[i] = float32(v)
	}
	j.fft.Forward(j.re, j.im, j.x, hann, j.work, fft.HaveSIMD)
	var tot float64
	var e [nBands]float64
	for b := range nBands {
		for k := bandBins[b]; k < bandBins[b+1]; k++ {
			e[b] += float64(j.re[k]*j.re[k] + j.im[k]*j.im[k])
		}
		tot += e[b]
	}
	for b := range nBands {
		f.bands[b] = 10 * math.Log10(e[b]+1e-12)
	}
	if tot > 0 {
		f.hi = (e[4] + e[5]) / tot
		f.lo = (e[0] + e[1]) / tot
	}
	return f
}

// Thresholds of the verdicts.
const (
	// voicedAP: a frame less aperiodic than this is voiced (loosely:
	// laughter and breathy voice are far from periodic).
	voicedAP = 0.35
	// fricativeShare: an unvoiced frame with this share of its energy
	// above 2.5 kHz is a fricative (s, sh, ch, f, a t's release).
	fricativeShare = 0.5
	// fricativeRange: a fricative is within this many dB of the loudest.
	fricativeRange = 25.0
	// syllableDip: the level falls this far between two syllables.
	syllableDip = 8.0
	// laughter: at least minBursts bursts, minInterval to maxInterval
	// apart (3.3-7.7 per second), the longest interval at most
	// maxIrregular times the shortest, their vowels within vowelDistance
	// dB of each other (RMS over the bands, each spectrum's mean removed).
	minBursts     = 3
	minInterval   = 10 // hops
	maxInterval   = 30
	maxIrregular  = 1.8
	vowelDistance = 5.0
	// humming: voiced for minHum, voicedShare of its frames, with
	// nasalShare of its energy below 1 kHz and a spectral shape moving
	// less than maxFlux dB per 30 ms.
	minHum      = 40 // hops
	voicedShare = 0.9
	nasalShare  = 0.8
	maxFlux     = 6.0
	// breath: unvoiced for minBreath (at most breathVoiced of its frames
	// voiced), the level never jumping by more than maxRise dB in 20 ms.
	minBreath    = 45 // hops
	breathVoiced = 0.2
	maxRise      = 12.0
)

// judge returns the verdict on the frames so far.
func (j *Judge) judge() Sound {
	fs := j.frames
	gate := max(floorDB, j.peak-gateDB)
	// Smoothed levels.
	j.lv = slices.Grow(j.lv[:0], len(fs))[:len(fs)]
	lv := j.lv
	for i := range fs {
		lo, hi := max(0, i-1), min(len(fs), i+2)
		var s float64
		for _, f := range fs[lo:hi] {
			s += f.level
		}
		lv[i] = s / float64(hi-lo)
	}
	var active, voiced, nasal int
	first, last := -1, -1
	for i, f := range fs {
		if f.level < gate {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		active++
		if f.ap < voicedAP {
			voiced++
			if f.lo >= nasalShare {
				nasal++
			}
		} else if f.hi >= fricativeShare && f.level >= j.peak-fricativeRange {
			return SoundLexical
		}
	}
	if active == 0 {
		return SoundUndecided
	}
	if j.laughter(lv, gate) {
		return SoundLaughter
	}
	span := last + 1 - first
	switch {
	case active >= minHum && float64(voiced) >= voicedShare*float64(span) && float64(nasal) >= voicedShare*float64(voiced) && j.steady(first, last, gate):
		return SoundHumming
	case active >= minBreath && float64(voiced) <= breathVoiced*float64(active) && j.smooth(lv, first, gate):
		return SoundBreath
	}
	return SoundUndecided
}

// laughter reports whether the smoothed levels lv make a laugh: bursts
// found by their dips (a peak counts once the level has fallen syllableDip
// below it).
func (j *Judge) laughter(lv []float64, gate float64) bool {
	fs := j.frames
	var peaks, dips []int
	top, bottom := -1, -1
	rising := true
	for i, l := range lv {
		if l < gate && top < 0 {
			continue
		}
		if rising {
			if top < 0 || l > lv[top] {
				top = i
			}
			if l <= lv[top]-syllableDip {
				peaks = append(peaks, top)
				rising, bottom = false, i
			}
			continue
		}
		if l < lv[bottom] {
			bottom = i
		}
		if l >= lv[bottom]+syllableDip {
			dips = append(dips, bottom)
			rising, top = true, i
		}
	}
	if len(peaks) < minBursts {
		return false
	}
	// Bursts are voiced (after a breathy onset); the dips between them
	// are not.
	for i, p := range peaks {
		end := len(fs)
		if i < len(dips) {
			end = dips[i]
		}
		n := 0
		for _, f := range fs[p:end] {
			if f.ap < voicedAP {
				n++
			}
		}
		if n < 3 {
			return false
		}
	}
	for _, d := range dips {
		if fs[d].ap < voicedAP && fs[d].level >= gate {
			return false
		}
	}
	shortest, longest := math.MaxInt, 0
	for i := 1; i < len(peaks); i++ {
		iv := peaks[i] - peaks[i-1]
		if iv < minInterval || iv > maxInterval {
			return false
		}
		shortest, longest = min(shortest, iv), max(longest, iv)
	}
	if float64(longest) > maxIrregular*float64(shortest) {
		return false
	}
	// The same vowel in every burst.
	ref := shape(fs[peaks[0]].bands)
	for _, p := range peaks[1:] {
		if dist(ref, shape(fs[p].bands)) > vowelDistance {
			return false
		}
	}
	return true
}

// steady reports whether the spectral shape of the voiced frames from
// first on moves less than maxFlux dB per 30 ms.
func (j *Judge) steady(first, last int, gate float64) bool {
	fs := j.frames
	for i := first + 3; i <= last; i++ {
		a, b := fs[i-3], fs[i]
		if a.level < gate || b.level < gate {
			continue
		}
		if dist(shape(a.bands), shape(b.bands)) > maxFlux {
			return false
		}
	}
	return true
}

// smooth reports whether the level from first on never rises by more than
// maxRise dB in 20 ms after the onset (no burst, no consonant release).
func (j *Judge) smooth(lv []float64, first int, gate float64) bool {
	for i := first + 5; i < len(lv); i++ {
		if lv[i] >= gate && lv[i]-lv[i-2] > maxRise {
			return false
		}
	}
	return true
}

// shape is a band-energy vector with its mean removed: the spectrum's
// shape, whatever its level.
func shape(b [nBands]float64) (s [nBands]float64) {
	var m float64
	for _, v := range b {
		m += v
	}
	m /= nBands
	for i, v := range b {
		s[i] = v - m
	}
	return s
}

// dist is the RMS difference of two shapes in dB.
func dist(a, b [nBands]float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s / nBands)
}

// aperiodicity returns the least cumulative-mean-normalised difference of
// frame over the lags of 60-400 Hz; d is scratch space of maxLag+1.
func aperiodicity(frame []float64, d []float64) float64 {
	var running float64
	least := 1.0
	a := frame[:window]
	for tau := 1; tau <= maxLag; tau++ {
		var s float64
		b := frame[tau : tau+window]
		for j := range a {
			v := a[j] - b[j]
			s += v * v
		}
		running += s
		if tau >= minLag && running > 0 {
			least = min(least, s*float64(tau)/running)
		}
	}
	return least
}
