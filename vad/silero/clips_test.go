package silero

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/codecs/wav"
)

// goldenFile holds per-window probabilities computed by ONNX Runtime (see
// golden_onnx_test.go) for the clips of goldenClips.
const goldenFile = "testdata/golden.json"

// golden is the layout of goldenFile.
type golden struct {
	Source string       `json:"source"`
	Clips  []goldenClip `json:"clips"`
}

type goldenClip struct {
	Name  string    `json:"name"`
	Rate  int       `json:"rate"`
	Probs []float32 `json:"probs"`
}

// clip is test audio at one rate, scaled to [-1, 1).
type clip struct {
	name    string
	rate    int
	samples []float32
}

// goldenClips builds the clips the golden outputs cover, deterministically:
// speech (three flite voices), digital silence, white and pink noise, and
// speech under white noise at 10 dB SNR, each at 16 and 8 kHz.
func goldenClips(t testing.TB) []clip {
	t.Helper()
	var speech []float32
	for _, name := range []string{"order_slt.wav", "shipping_awb.wav", "return_kal16.wav"} {
		fr, err := wav.ReadFile(filepath.Join("..", "..", "testdata", "speech", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range fr.Samples {
			speech = append(speech, float32(s)/32768)
		}
	}
	rng := rand.New(rand.NewPCG(2, 5))
	white := make([]float32, 16000)
	for i := range white {
		white[i] = float32(rng.NormFloat64() * 0.05)
	}
	pink := pinkNoise(rng, 16000, 0.05)
	mixed := make([]float32, len(speech))
	copy(mixed, speech)
	addNoise(mixed, rng, 10)
	var clips []clip
	for _, c := range []clip{
		{"speech", 16000, speech},
		{"silence", 16000, make([]float32, 16000)},
		{"noise", 16000, append(append([]float32{}, white...), pink...)},
		{"speech+noise", 16000, mixed},
	} {
		clips = append(clips, c, clip{c.name, 8000, decimate(c.samples)})
	}
	return clips
}

// pinkNoise returns n samples of 1/f noise with standard deviation near
// level (Paul Kellett's economy filter over white noise).
func pinkNoise(rng *rand.Rand, n int, level float64) []float32 {
	var b0, b1, b2 float64
	out := make([]float32, n)
	for i := range out {
		w := rng.NormFloat64()
		b0 = 0.99765*b0 + w*0.0990460
		b1 = 0.96300*b1 + w*0.2965164
		b2 = 0.57000*b2 + w*1.0526913
		out[i] = float32((b0 + b1 + b2 + w*0.1848) * level / 3.5)
	}
	return out
}

// addNoise adds white noise at snr dB below the power of x.
func addNoise(x []float32, rng *rand.Rand, snr float64) {
	var p float64
	for _, v := range x {
		p += float64(v) * float64(v)
	}
	sd := math.Sqrt(p / float64(len(x)) / math.Pow(10, snr/10))
	for i := range x {
		x[i] += float32(rng.NormFloat64() * sd)
	}
}

// decimate halves the sample rate with a 31-tap windowed-sinc low-pass.
func decimate(x []float32) []float32 {
	const taps = 31
	var h [taps]float64
	var sum float64
	for i := range h {
		n := float64(i - taps/2)
		s := 1.0
		if n != 0 {
			s = math.Sin(math.Pi*n*0.45) / (math.Pi * n * 0.45)
		}
		h[i] = s * (0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/(taps-1)))
		sum += h[i]
	}
	out := make([]float32, len(x)/2)
	for i := range out {
		var acc float64
		for j := range h {
			if k := 2*i + j - taps/2; k >= 0 && k < len(x) {
				acc += h[j] * float64(x[k])
			}
		}
		out[i] = float32(acc / sum)
	}
	return out
}

func readGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}
