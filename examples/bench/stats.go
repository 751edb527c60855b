package main

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// summary is the distribution of one measurement.
type summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// summarize returns the nearest-rank p50, p95 and the maximum of xs.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return summary{N: len(s), P50: percentile(s, 50), P95: percentile(s, 95), Max: s[len(s)-1]}
}

// percentile returns the nearest-rank p-th percentile of sorted xs.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

// round1 rounds x to one decimal.
func round1(x float64) float64 { return math.Round(x*10) / 10 }

// loadClip reads a clip from dir and converts it to mono at rate.
func loadClip(dir, name string, rate int) ([]int16, error) {
	fr, err := wav.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	fr, err = resample.Frame(fr, pcm.Format{Rate: rate, Channels: 1})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	return fr.Samples, nil
}
