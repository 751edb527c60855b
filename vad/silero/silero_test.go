package silero

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/internal/fft"
	"github.com/harkvoice/hark/vad/silero/internal/pin"
)

var (
	loadOnce sync.Once
	weights  *Weights
	loadErr  error
)

// testWeights loads the model once per test binary; the model file is a
// prerequisite of `make test` (`make deps` fetches it).
func testWeights(t testing.TB) *Weights {
	t.Helper()
	loadOnce.Do(func() { weights, loadErr = Load() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return weights
}

// kernels lists the kernel sets this build can run.
func kernels() []string {
	if haveSIMD {
		return []string{"scalar", "simd"}
	}
	return []string{"scalar"}
}

// newTestModel returns the bare network, its recurrent state carried over
// as in the ONNX loop the golden outputs come from.
func newTestModel(t testing.TB, rate int, kernels string) *Model {
	t.Helper()
	m, err := testWeights(t).NewModel(rate, KeepState())
	if err != nil {
		t.Fatal(err)
	}
	m.simd = kernels == "simd"
	return m
}

func TestGolden(t *testing.T) {
	g := readGolden(t)
	clips := goldenClips(t)
	if len(clips) != len(g.Clips) {
		t.Fatalf("%d clips, golden file has %d", len(clips), len(g.Clips))
	}
	for _, k := range kernels() {
		for i, c := range clips {
			want := g.Clips[i]
			if want.Name != c.name || want.Rate != c.rate {
				t.Fatalf("clip %d is %s at %d Hz, golden has %s at %d Hz", i, c.name, c.rate, want.Name, want.Rate)
			}
			m := newTestModel(t, c.rate, k)
			w := m.WindowSize()
			if len(want.Probs) != len(c.samples)/w {
				t.Fatalf("%s: %d golden windows for %d samples", c.name, len(want.Probs), len(c.samples))
			}
			var worst float64
			for j, p := range want.Probs {
				got, err := m.Probability(c.samples[j*w : (j+1)*w])
				if err != nil {
					t.Fatal(err)
				}
				worst = math.Max(worst, math.Abs(float64(got-p)))
			}
			t.Logf("%-6s %-12s %5d Hz: %3d windows, max |Go - ONNX Runtime| = %.2g", k, c.name, c.rate, len(want.Probs), worst)
			if worst > 1e-4 {
				t.Errorf("%s %s at %d Hz: max abs difference %g > 1e-4", k, c.name, c.rate, worst)
			}
		}
	}
}

// The golden clips must actually exercise both decisions.
func TestGoldenCoversSpeechAndSilence(t *testing.T) {
	for _, c := range readGolden(t).Clips {
		var hi, lo int
		for _, p := range c.Probs {
			if p > 0.9 {
				hi++
			}
			if p < 0.1 {
				lo++
			}
		}
		switch {
		case strings.HasPrefix(c.Name, "speech") && hi < len(c.Probs)/2:
			t.Errorf("%s at %d Hz: only %d of %d windows above 0.9", c.Name, c.Rate, hi, len(c.Probs))
		case !strings.HasPrefix(c.Name, "speech") && lo < len(c.Probs)*9/10:
			t.Errorf("%s at %d Hz: only %d of %d windows below 0.1", c.Name, c.Rate, lo, len(c.Probs))
		}
	}
}

func TestResetRestoresStreamStart(t *testing.T) {
	clips := goldenClips(t)
	c := clips[0]
	for _, k := range kernels() {
		m := newTestModel(t, c.rate, k)
		w := m.WindowSize()
		first := make([]float32, 20)
		for i := range first {
			first[i], _ = m.Probability(c.samples[i*w : (i+1)*w])
		}
		m.Reset()
		for i := range first {
			if p, _ := m.Probability(c.samples[i*w : (i+1)*w]); p != first[i] {
				t.Fatalf("%s: window %d after Reset = %v, want %v", k, i, p, first[i])
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	w := testWeights(t)
	if _, err := w.NewModel(44100); !errors.Is(err, vad.ErrRate) {
		t.Errorf("NewModel(44100) err = %v, want ErrRate", err)
	}
	m, err := w.NewModel(8000)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rate() != 8000 || m.WindowSize() != 256 || m.String() != "silero-v5(8kHz)" {
		t.Fatalf("8 kHz model: rate %d window %d", m.Rate(), m.WindowSize())
	}
	if _, err := m.Probability(make([]float32, 512)); !errors.Is(err, vad.ErrWindowSize) {
		t.Errorf("512 samples at 8 kHz: err = %v, want ErrWindowSize", err)
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		win := make([]float32, 256)
		win[100] = v
		if _, err := m.Probability(win); !errors.Is(err, ErrSample) {
			t.Errorf("sample %v: err = %v, want ErrSample", v, err)
		}
	}
	// Rejected windows leave the state alone: the stream still reads silence.
	if p, err := m.Probability(make([]float32, 256)); err != nil || p > 0.1 {
		t.Errorf("silence after rejected windows: %v, %v", p, err)
	}
	// Out-of-range but finite samples (clipping, gain) are accepted.
	loud := make([]float32, 256)
	for i := range loud {
		loud[i] = float32(1000 * math.Sin(float64(i)))
	}
	if p, err := m.Probability(loud); err != nil || !(p >= 0 && p <= 1) {
		t.Errorf("loud window: %v, %v", p, err)
	}
}

func TestLoadNotFound(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(pin.EnvCache, dir)
	_, err := load()
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), pin.Command) {
		t.Errorf("empty cache: err = %v, want ErrModelNotFound naming %q", err, pin.Command)
	}
	t.Setenv(pin.EnvCache, "")
	t.Setenv("HOME", dir)
	want := filepath.Join(dir, ".cache", "hark", pin.FileName)
	if got, err := ModelPath(); got != want || err != nil {
		t.Errorf("ModelPath without %s = %q, %v; want %q", pin.EnvCache, got, err, want)
	}
	if _, err := load(); !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), want) {
		t.Errorf("empty home cache: err = %v, want ErrModelNotFound naming %s", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "nope")); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("LoadFile: err = %v, want ErrModelNotFound", err)
	}
}

func TestLoadChecksum(t *testing.T) {
	good := modelBytes(t)
	dir := t.TempDir()
	t.Setenv(pin.EnvCache, dir)
	path := filepath.Join(dir, pin.FileName)

	// A truncated download, and a model with one weight changed (it still
	// parses: only the checksum catches it).
	changed := bytes.Clone(good)
	changed[len(changed)*3/4] ^= 1
	if _, err := Parse(changed); err != nil {
		t.Fatalf("changed model no longer parses (%v): pick another byte", err)
	}
	for name, b := range map[string][]byte{"truncated": good[:len(good)/3], "changed": changed} {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := load()
		if !errors.Is(err, ErrModelChecksum) || !strings.Contains(err.Error(), pin.Command) {
			t.Errorf("%s: err = %v, want ErrModelChecksum naming %q", name, err, pin.Command)
		}
	}

	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if w, err := load(); err != nil || w == nil {
		t.Fatalf("good model in %s: %v", pin.EnvCache, err)
	}
}

// modelBytes returns the default model file's contents.
func modelBytes(t *testing.T) []byte {
	t.Helper()
	path, err := ModelPath()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRejectsBadModels(t *testing.T) {
	good := modelBytes(t)
	tests := map[string][]byte{
		"empty":       nil,
		"garbage":     []byte("this is not a protocol buffer at all"),
		"truncated":   good[:len(good)/2],
		"bad varint":  {0x3a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"huge length": {0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	// Subgraphs nested a thousand deep: ModelProto.graph -> node -> attribute
	// -> graph -> ... must fail cleanly, not exhaust the stack.
	field := func(key byte, payload []byte) []byte {
		return append(binary.AppendUvarint([]byte{key}, uint64(len(payload))), payload...)
	}
	var deep []byte
	for range 1000 {
		deep = field(0x0a, field(0x2a, field(0x32, deep))) // GraphProto.node, NodeProto.attribute, AttributeProto.g
	}
	_, err := Parse(field(0x3a, deep))
	if !errors.Is(err, ErrModelFormat) || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep nesting: err = %v, want the nesting limit", err)
	}
	for name, b := range tests {
		if _, err := Parse(b); !errors.Is(err, ErrModelFormat) {
			t.Errorf("%s: err = %v, want ErrModelFormat", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	f.Add([]byte{0x3a, 0x08, 0x2a, 0x06, 0x08, 0x02, 0x10, 0x01, 0x22, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b); err == nil {
			t.Fatal("Parse accepted a model without weights")
		}
	})
}

func TestExpf(t *testing.T) {
	var worst float64
	for x := -87.0; x <= 88; x += 0.001 {
		want := math.Exp(float64(float32(x)))
		got := float64(expf(float32(x)))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("expf relative error %g", worst)
	}
	if expf(-1000) < 0 || math.IsInf(float64(expf(1000)), 0) {
		t.Error("expf does not clamp")
	}
	if !haveSIMD {
		return
	}
	x := make([]float32, 0, 200000)
	for v := -100.0; v <= 100; v += 0.001 {
		x = append(x, float32(v))
	}
	x = x[:len(x)&^7]
	want := append([]float32(nil), x...)
	expGo(want)
	expSIMD(x)
	for i := range x {
		if d := math.Abs(float64(x[i]-want[i])) / float64(want[i]); d > 4e-7 {
			t.Fatalf("expAVX2 at %v: %v, expf %v (relative difference %g)", -100+float64(i)*0.001, x[i], want[i], d)
		}
	}
}

func TestFFTMagnitude(t *testing.T) {
	for _, n := range []int{128, 256} {
		p, err := fft.NewReal(n)
		if err != nil {
			t.Fatal(err)
		}
		frame, win := make([]float32, n), make([]float32, n)
		for i := range frame {
			frame[i] = float32(math.Sin(0.3*float64(i)) + 0.5*math.Cos(1.7*float64(i)+0.2) + 0.1)
			win[i] = float32(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n)))
		}
		for _, simd := range []bool{false, haveSIMD} {
			got := make([]float32, n/2+1)
			magnitude(p, got, frame, win, make([]float32, n/2+1), make([]float32, n/2+1), make([]float32, n), simd)
			for k := range got {
				var re, im float64
				for j := range n {
					a := -2 * math.Pi * float64(k*j) / float64(n)
					v := float64(frame[j] * win[j])
					re += v * math.Cos(a)
					im += v * math.Sin(a)
				}
				if want := math.Hypot(re, im); math.Abs(float64(got[k])-want) > 1e-4 {
					t.Fatalf("n=%d simd=%v bin %d: %v, want %v", n, simd, k, got[k], want)
				}
			}
		}
	}
}

// The portable kernels against a plain float64 dot product, for row counts
// the vector kernels cannot take too.
func TestMatVecGo(t *testing.T) {
	const k, ws = 24, 30
	for _, rows := range []int{1, 3, 4, 7, 8} {
		w, x := make([]float32, rows*ws), make([]float32, 3*k+k)
		for i := range w {
			w[i] = float32(math.Sin(float64(i)))
		}
		for i := range x {
			x[i] = float32(math.Cos(float64(i) * 0.7))
		}
		dot := func(r, off int) float64 {
			var s float64
			for j := range k {
				s += float64(w[r*ws+j]) * float64(x[off+j])
			}
			return s
		}
		y := make([]float32, 3*(rows+1)+rows)
		matVecGo(y[:rows], w, x, k, ws)
		for r := range rows {
			if d := math.Abs(float64(y[r]) - dot(r, 0)); d > 1e-4 {
				t.Fatalf("matVecGo %d rows: row %d off by %g", rows, r, d)
			}
		}
		clear(y)
		matVecSIMD(y[:rows], w, x, k, ws) // k not a multiple of 16: the Go fallback
		for r := range rows {
			if d := math.Abs(float64(y[r]) - dot(r, 0)); d > 1e-4 {
				t.Fatalf("matVecSIMD %d rows: row %d off by %g", rows, r, d)
			}
		}
		clear(y)
		matVec4SIMD(y, w, x, k, ws, k, rows+1, rows) // odd rows: the Go fallback
		for tt := range 4 {
			for r := range rows {
				if d := math.Abs(float64(y[tt*(rows+1)+r]) - dot(r, tt*k)); d > 1e-4 {
					t.Fatalf("matVec4SIMD %d rows: vector %d row %d off by %g", rows, tt, r, d)
				}
			}
		}
	}
}

func TestMatVecKernelsAgree(t *testing.T) {
	if !haveSIMD {
		t.Skip("no vector kernels in this build")
	}
	for _, shape := range [][2]int{{4, 16}, {8, 48}, {64, 192}, {128, 432}, {512, 256}} {
		rows, k := shape[0], shape[1]
		w, x := make([]float32, rows*k), make([]float32, k)
		for i := range w {
			w[i] = float32(math.Sin(float64(i)))
		}
		for i := range x {
			x[i] = float32(math.Cos(float64(i) * 0.7))
		}
		a, b := make([]float32, rows), make([]float32, rows)
		matVecGo(a, w, x, k, k)
		matVecSIMD(b, w, x, k, k)
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-4 {
				t.Fatalf("%dx%d row %d: scalar %v, simd %v", rows, k, i, a[i], b[i])
			}
		}
		// Four vectors at x[t*xs:], outputs at y[t*ys+r].
		xs, ys := k/3+1, rows+4
		x4 := make([]float32, 3*xs+k)
		for i := range x4 {
			x4[i] = float32(math.Sin(float64(i) * 0.3))
		}
		y4 := make([]float32, 3*ys+rows)
		matVec4SIMD(y4, w, x4, k, k, xs, ys, rows)
		for tt := range 4 {
			matVecGo(a, w, x4[tt*xs:], k, k)
			for i := range a {
				if math.Abs(float64(a[i]-y4[tt*ys+i])) > 1e-4 {
					t.Fatalf("4 vectors %dx%d vector %d row %d: scalar %v, simd %v", rows, k, tt, i, a[i], y4[tt*ys+i])
				}
			}
		}
	}
}

func benchmarkSilero(b *testing.B, rate int, kernels string) {
	m := newTestModel(b, rate, kernels)
	c := goldenClips(b)[0]
	w := m.WindowSize()
	n := len(c.samples) / w
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := m.Probability(c.samples[i*w : (i+1)*w]); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % n
	}
}

// BenchmarkSilero measures one 512-sample window at 16 kHz with the kernels
// this build uses by default (AVX2+FMA where available).
func BenchmarkSilero(b *testing.B) {
	k := "scalar"
	if haveSIMD {
		k = "simd"
	}
	benchmarkSilero(b, 16000, k)
}

// BenchmarkSileroScalar measures the portable fallback.
func BenchmarkSileroScalar(b *testing.B) { benchmarkSilero(b, 16000, "scalar") }

// BenchmarkSilero8k measures one 256-sample window at 8 kHz (default kernels).
func BenchmarkSilero8k(b *testing.B) {
	k := "scalar"
	if haveSIMD {
		k = "simd"
	}
	benchmarkSilero(b, 8000, k)
}

// Streams share one Weights: concurrent streams (run under -race) give the
// same results as one stream alone.
func TestStreamsShareWeights(t *testing.T) {
	c := goldenClips(t)[0]
	run := func() []float32 {
		m, err := testWeights(t).NewModel(c.rate)
		if err != nil {
			t.Error(err)
			return nil
		}
		w := m.WindowSize()
		var out []float32
		for i := 0; i+w <= len(c.samples) && i < 40*w; i += w {
			p, err := m.Probability(c.samples[i : i+w])
			if err != nil {
				t.Error(err)
				return nil
			}
			out = append(out, p)
		}
		return out
	}
	want := run()
	results := make([][]float32, 4)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = run() })
	}
	wg.Wait()
	for i, got := range results {
		if len(got) != len(want) {
			t.Fatalf("stream %d: %d windows, want %d", i, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Fatalf("stream %d window %d: %v, want %v", i, j, got[j], want[j])
			}
		}
	}
}

// Per-stream state stays small: the weights are shared, activations live on
// the stack of one call.
func TestStreamStateSize(t *testing.T) {
	if n := unsafe.Sizeof(Model{}); n > 1400 {
		t.Errorf("Model is %d bytes, want about 1.3 KB", n)
	}
}
