package vad_test

import (
	"testing"

	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// BenchmarkDetectorSilero20ms measures the per-session VAD cost of one
// 20 ms frame of 16 kHz speech: the detector plus Silero (one network run
// per 32 ms, so 0.625 runs per frame on average).
func BenchmarkDetectorSilero20ms(b *testing.B) {
	w, err := silero.Load()
	if err != nil {
		b.Fatal(err)
	}
	m, err := w.NewModel(16000)
	if err != nil {
		b.Fatal(err)
	}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		b.Fatal(err)
	}
	fr, err := wav.ReadFile("../testdata/speech/agent_reply_slt.wav")
	if err != nil {
		b.Fatal(err)
	}
	s := fr.Samples[:len(fr.Samples)/320*320]
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := d.Write(s[i : i+320]); err != nil {
			b.Fatal(err)
		}
		i = (i + 320) % len(s)
	}
}
