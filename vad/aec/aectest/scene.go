package aectest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// Clip is a mono speech recording as float samples in int16 scale.
type Clip struct {
	Name    string
	Rate    int
	Samples []float32
}

// Duration returns the clip's length.
func (c Clip) Duration() time.Duration {
	return time.Duration(len(c.Samples)) * time.Second / time.Duration(c.Rate)
}

// LoadClips reads WAV files (any rate, mono or stereo) from dir, resampled
// to rate.
func LoadClips(dir string, rate int, names ...string) ([]Clip, error) {
	var clips []Clip
	for _, n := range names {
		fr, err := wav.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		fr, err = resample.Frame(fr, pcm.Format{Rate: rate, Channels: 1})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		c := Clip{Name: n, Rate: rate, Samples: make([]float32, len(fr.Samples))}
		for i, v := range fr.Samples {
			c.Samples[i] = float32(v)
		}
		clips = append(clips, c)
	}
	return clips, nil
}

// Placement puts a clip on a timeline.
type Placement struct {
	Clip  Clip
	Start time.Duration
}

// SceneConfig describes one microphone recording.
type SceneConfig struct {
	Rate int
	// Echo is the room from the loudspeaker (Source) to the microphone;
	// Talker the same room from the user (Source) to the microphone.
	Echo, Talker Room
	// Delay is the bulk delay from playout to loudspeaker (transport,
	// buffers), added in front of the room's response.
	Delay time.Duration
	// NearLevel is the near end's active speech level at the microphone
	// (dBFS); EchoToNear the echo's active level relative to it (dB, e.g.
	// -10: the echo is 10 dB below the user) and NoiseToNear the noise's
	// level relative to it (dB; 0 means no noise).
	NearLevel, EchoToNear, NoiseToNear float64
	Length                             time.Duration
	Far, Near                          []Placement
	Seed                               uint64 // noise
}

// Scene is a microphone recording made of known parts: the far end (the
// reference the canceller is given), and at the microphone the echo, the
// near end and the noise. Far[i] was played at the same position as
// Mic[i] was captured; the echo follows it by the echo path.
type Scene struct {
	Rate              int
	Far, Mic          []int16
	Echo, Near, Noise []float32
}

// Build renders the scene.
func Build(cfg SceneConfig) (*Scene, error) {
	if cfg.Rate <= 0 || cfg.Length <= 0 {
		return nil, errors.New("aectest: scene needs a rate and a length")
	}
	n := int(int64(cfg.Length) * int64(cfg.Rate) / int64(time.Second))
	place := func(ps []Placement) []float32 {
		x := make([]float32, n)
		for _, p := range ps {
			at := int(int64(p.Start) * int64(cfg.Rate) / int64(time.Second))
			for i, v := range p.Clip.Samples {
				if at+i >= 0 && at+i < n {
					x[at+i] += v
				}
			}
		}
		return x
	}
	far := place(cfg.Far)
	dry := place(cfg.Near)
	d := int(int64(cfg.Delay) * int64(cfg.Rate) / int64(time.Second))
	echo := convolve(far, cfg.Echo.ImpulseResponse(cfg.Rate), d)
	near := convolve(dry, cfg.Talker.ImpulseResponse(cfg.Rate), 0)
	nl := ActiveLevel(near, cfg.Rate)
	if nl == 0 && len(cfg.Near) > 0 {
		return nil, errors.New("aectest: near end is silent")
	}
	if nl > 0 {
		scale(near, math.Pow(10, cfg.NearLevel/20)*32768/nl)
		nl = math.Pow(10, cfg.NearLevel/20) * 32768
	} else {
		nl = math.Pow(10, cfg.NearLevel/20) * 32768
	}
	if el := ActiveLevel(echo, cfg.Rate); el > 0 {
		scale(echo, nl*math.Pow(10, cfg.EchoToNear/20)/el)
	}
	noise := make([]float32, n)
	if cfg.NoiseToNear != 0 {
		pink(noise, rand.New(rand.NewPCG(cfg.Seed, 7)))
		scale(noise, nl*math.Pow(10, cfg.NoiseToNear/20)/rms(noise))
	}
	sc := &Scene{Rate: cfg.Rate, Far: make([]int16, n), Mic: make([]int16, n), Echo: echo, Near: near, Noise: noise}
	for i := range n {
		sc.Far[i] = clip16(far[i])
		sc.Mic[i] = clip16(echo[i] + near[i] + noise[i])
	}
	return sc, nil
}

func scale(x []float32, g float64) {
	for i := range x {
		x[i] *= float32(g)
	}
}

func rms(x []float32) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return math.Sqrt(e / float64(max(len(x), 1)))
}

// ActiveLevel returns the RMS of x over its active 10 ms frames: those
// within 40 dB of the loudest (a simple form of the active speech level).
func ActiveLevel(x []float32, rate int) float64 {
	e := frameEnergies(x, rate/100)
	var top float64
	for _, v := range e {
		top = max(top, v)
	}
	var sum float64
	var k int
	for _, v := range e {
		if v > top*1e-4 {
			sum += v
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(k*(rate/100)))
}

// frameEnergies returns the energy of each whole frame of x.
func frameEnergies(x []float32, frame int) []float64 {
	e := make([]float64, len(x)/frame)
	for f := range e {
		for _, v := range x[f*frame : (f+1)*frame] {
			e[f] += float64(v) * float64(v)
		}
	}
	return e
}

// pink fills x with pink noise (Paul Kellet's filter on white noise).
func pink(x []float32, rng *rand.Rand) {
	var b0, b1, b2, b3, b4, b5, b6 float64
	for i := range x {
		w := rng.NormFloat64()
		b0 = 0.99886*b0 + w*0.0555179
		b1 = 0.99332*b1 + w*0.0750759
		b2 = 0.96900*b2 + w*0.1538520
		b3 = 0.86650*b3 + w*0.3104856
		b4 = 0.55000*b4 + w*0.5329522
		b5 = -0.7616*b5 - w*0.0168980
		x[i] = float32(b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362)
		b6 = w * 0.115926
	}
}

func clip16(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	}
	return int16(math.Round(float64(v)))
}

// Split cuts a long recording into pieces of at most d, so that it fits
// the phases of a Timeline.
func (c Clip) Split(d time.Duration) []Clip {
	n := int(int64(d) * int64(c.Rate) / int64(time.Second))
	if n <= 0 {
		return []Clip{c}
	}
	var out []Clip
	for i := 0; i < len(c.Samples); i += n {
		out = append(out, Clip{Name: fmt.Sprintf("%s[%d]", c.Name, len(out)), Rate: c.Rate, Samples: c.Samples[i:min(i+n, len(c.Samples))]})
	}
	return out
}
