package aec_test

import (
	"github.com/harkvoice/hark/vad/aec/aectest"
	"testing"

	"github.com/harkvoice/hark/vad/aec"
)

// BenchmarkProcess measures one 10 ms frame at 16 kHz with the default
// settings (256 ms filter, delay estimation, suppressor) on a room echo of
// real speech.
func BenchmarkProcess(b *testing.B) { benchProcess(b) }

// BenchmarkProcessPortable is BenchmarkProcess with the portable kernels.
func BenchmarkProcessPortable(b *testing.B) { benchProcess(b, aec.WithPortableKernels()) }

func benchProcess(b *testing.B, opts ...aec.Option) {
	sc := scene(b, aectest.Specs[0])
	c, err := aec.New(16000, opts...)
	if err != nil {
		b.Fatal(err)
	}
	const fl = 160
	out := make([]int16, 0, fl)
	n := len(sc.Mic) / fl
	// Warm up past convergence so the benchmark sees steady state.
	for i := range n / 2 {
		_ = c.Play(int64(i*fl), sc.Far[i*fl:(i+1)*fl])
		out, _ = c.Process(out[:0], sc.Mic[i*fl:(i+1)*fl])
	}
	b.ReportAllocs()
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		j := n/2 + i%(n/2)
		_ = c.Play(int64((n/2+i)*fl), sc.Far[j*fl:(j+1)*fl])
		out, _ = c.Process(out[:0], sc.Mic[j*fl:(j+1)*fl])
	}
	reportCPU(b, start)
}
