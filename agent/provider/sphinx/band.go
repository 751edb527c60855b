package sphinx

import "math"

// highTaps is a high-pass filter for 16 kHz audio passing what lies above
// about 4.6 kHz: a windowed-sinc low-pass (Blackman window) subtracted from
// a unit impulse.
var highTaps = func() []float64 {
	const n, cut = 63, 4600.0 / 16000
	h := make([]float64, n)
	for i := range h {
		x := float64(i - n/2)
		s := 2 * cut
		if x != 0 {
			s = math.Sin(2*math.Pi*cut*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/(n-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/(n-1))
		h[i] = -s * w
	}
	h[n/2]++
	return h
}()

// phoneBandDB is the share of energy above 4.6 kHz (in dB) below which 16
// kHz audio is taken to have come through a telephone line: speech
// recorded wideband keeps -18 to -48 dB there (a 1961 recording the least),
// 8 kHz audio resampled to 16 kHz under -74 dB.
const phoneBandDB = -60

// narrowband reports whether 16 kHz samples hold nothing above the
// telephone band. Silence counts as wideband.
func narrowband(samples []int16) bool { return highBandDB(samples) < phoneBandDB }

// highBandDB returns the share of the energy of 16 kHz samples above 4.6
// kHz, in dB; 0 for silence.
func highBandDB(samples []int16) float64 {
	var hi, all float64
	n := len(highTaps)
	for i := n; i <= len(samples); i += 2 {
		var acc float64
		for k, t := range highTaps {
			acc += t * float64(samples[i-n+k])
		}
		hi += acc * acc
		s := float64(samples[i-n/2-1])
		all += s * s
	}
	if all < float64(len(samples)/2) { // under 1 LSB RMS: silence
		return 0
	}
	return 10 * math.Log10(hi/all+1e-30)
}

// bandProbe is how much 16 kHz audio a stream looks at to decide whether
// it came through a telephone line (100 ms); while that much is silent it
// waits for more, up to bandWait.
const (
	bandProbe = 1600
	bandWait  = 16000
)

// bandDecider holds back the start of a stream until it knows whether the
// audio came through a telephone line.
type bandDecider struct {
	mapped  bool // a band map is in use; without one nothing is held back
	narrow  bool // the audio is telephone band
	decided bool
	held    []int16
}

// take returns the audio that may be decoded now: nothing while the
// decision waits for bandProbe samples that are not silent (or for the
// last, when last is set), then all held so far.
func (b *bandDecider) take(audio []int16, last bool) []int16 {
	if b.decided || !b.mapped || b.narrow {
		b.decided = true
		return audio
	}
	b.held = append(b.held, audio...)
	db := 0.0
	if len(b.held) >= bandProbe {
		db = highBandDB(b.held)
	}
	if db == 0 && !last && len(b.held) < bandWait {
		return nil
	}
	b.decided = true
	b.narrow = db < phoneBandDB || (db == 0 && narrowband(b.held))
	audio, b.held = b.held, nil
	return audio
}
