package aec_test

import (
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/aec/aectest"
)

const speechDir = "../../testdata/speech"

var (
	clipsOnce  sync.Once
	far, near  []aectest.Clip
	clipsErr   error
	scenesMu   sync.Mutex
	sceneCache = map[string]*aectest.Scene{}
)

// scene builds (once per test binary) a standard scene at 16 kHz.
func scene(t testing.TB, s aectest.Spec) *aectest.Scene {
	t.Helper()
	clipsOnce.Do(func() {
		far, clipsErr = aectest.LoadClips(speechDir, 16000, aectest.FarClips...)
		if clipsErr == nil {
			near, clipsErr = aectest.LoadClips(speechDir, 16000, aectest.NearClips...)
		}
	})
	if clipsErr != nil {
		t.Fatal(clipsErr)
	}
	scenesMu.Lock()
	defer scenesMu.Unlock()
	if sc, ok := sceneCache[s.Name]; ok {
		return sc
	}
	sc, err := s.Build(16000, far, near)
	if err != nil {
		t.Fatal(err)
	}
	sceneCache[s.Name] = sc
	return sc
}

// run feeds the scene through c in 10 ms frames, each reference frame
// played just before the microphone frame of the same position, and
// measures the output.
func run(t testing.TB, c *aec.Canceller, sc *aectest.Scene) aectest.Result {
	t.Helper()
	fl := sc.Rate / 100
	out := make([]int16, 0, len(sc.Mic))
	var err error
	for i := 0; i+fl <= len(sc.Mic); i += fl {
		if err := c.Play(int64(i), sc.Far[i:i+fl]); err != nil {
			t.Fatal(err)
		}
		if out, err = c.Process(out, sc.Mic[i:i+fl]); err != nil {
			t.Fatal(err)
		}
	}
	return aectest.Measure(sc, out, int(c.Latency()*time.Duration(sc.Rate)/time.Second))
}

// The standard scenes, filter alone and with the suppressor: enough echo
// removed, the user's voice kept in single and double talk, and no
// divergence in double talk (the ERLE after it).
func TestScenes(t *testing.T) {
	specs := aectest.Specs
	if testing.Short() || raceEnabled {
		specs = specs[:1]
	}
	for _, s := range specs {
		t.Run(s.Name, func(t *testing.T) {
			sc := scene(t, s)
			for _, sup := range []bool{false, true} {
				c, err := aec.New(16000, aec.WithSuppressor(sup))
				if err != nil {
					t.Fatal(err)
				}
				r := run(t, c, sc)
				t.Logf("suppressor %v: ERLE %.1f dB (after double talk %.1f), converged %v, near-end loss %.2f dB single, %.2f dB double; delay %v",
					sup, r.ERLE, r.ERLEAfterDouble, r.Converged, r.NearLossSingle, r.NearLossDouble, c.Stats().Delay)
				minERLE := 12.0
				if sup {
					minERLE = 20
				}
				if r.ERLE < minERLE {
					t.Errorf("suppressor %v: ERLE %.1f dB, want ≥ %.0f", sup, r.ERLE, minERLE)
				}
				if r.ERLEAfterDouble < minERLE-6 {
					t.Errorf("suppressor %v: ERLE after double talk %.1f dB: the filter diverged", sup, r.ERLEAfterDouble)
				}
				if r.NearLossSingle > 1 || r.NearLossDouble > 3 {
					t.Errorf("suppressor %v: near-end loss %.2f dB single talk (want ≤ 1), %.2f dB double talk (want ≤ 3)",
						sup, r.NearLossSingle, r.NearLossDouble)
				}
				if !c.Stats().DelayFound {
					t.Errorf("suppressor %v: delay not found", sup)
				}
			}
		})
	}
}

// The headline: a room of RT60 0.4 s, ERLE ≥ 30 dB with the suppressor,
// and the filter ahead of where it was when the targets were set.
func TestHeadline(t *testing.T) {
	sc := scene(t, aectest.Specs[0])
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, c, sc); r.ERLE < 30 {
		t.Errorf("ERLE %.1f dB with the suppressor, want ≥ 30", r.ERLE)
	}
	c, err = aec.New(16000, aec.WithSuppressor(false))
	if err != nil {
		t.Fatal(err)
	}
	if r := run(t, c, sc); r.ERLE < 20 {
		t.Errorf("ERLE %.1f dB with the filter alone, want ≥ 20", r.ERLE)
	}
}

// The portable kernels do the same job as the vector kernels.
func TestPortableKernels(t *testing.T) {
	if !aec.HaveSIMD {
		t.Skip("the portable kernels are the only ones here; TestScenes covers them")
	}
	sc := scene(t, aectest.Specs[0])
	var erle [2]float64
	for i, opts := range [][]aec.Option{{aec.WithPortableKernels()}, nil} {
		c, err := aec.New(16000, append(opts, aec.WithSuppressor(false))...)
		if err != nil {
			t.Fatal(err)
		}
		erle[i] = run(t, c, sc).ERLE
	}
	if d := erle[0] - erle[1]; d > 1 || d < -1 {
		t.Errorf("ERLE %.2f dB portable, %.2f dB vector kernels", erle[0], erle[1])
	}
}

// The same canceller at 8 kHz (phone band): the headline room.
func TestScene8k(t *testing.T) {
	f, err := aectest.LoadClips(speechDir, 8000, aectest.FarClips...)
	if err != nil {
		t.Fatal(err)
	}
	n, err := aectest.LoadClips(speechDir, 8000, aectest.NearClips...)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := aectest.Specs[0].Build(8000, f, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, sup := range []bool{false, true} {
		c, err := aec.New(8000, aec.WithSuppressor(sup))
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, c, sc)
		if min := map[bool]float64{false: 18, true: 30}[sup]; r.ERLE < min {
			t.Errorf("8 kHz, suppressor %v: ERLE %.1f dB, want ≥ %.0f", sup, r.ERLE, min)
		}
		if r.NearLossSingle > 1 || r.NearLossDouble > 3 {
			t.Errorf("8 kHz, suppressor %v: near-end loss %.2f / %.2f dB", sup, r.NearLossSingle, r.NearLossDouble)
		}
		t.Logf("8 kHz, suppressor %v: ERLE %.1f dB (after double talk %.1f), near-end loss %.2f / %.2f dB, delay %v",
			sup, r.ERLE, r.ERLEAfterDouble, r.NearLossSingle, r.NearLossDouble, c.Stats().Delay)
	}
}
