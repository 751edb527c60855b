//go:build speexdsp

package main

import "github.com/harkvoice/hark/vad/aec/aectest/speexdsp"

// speexdspBuilt reports a build with the speexdsp tag.
const speexdspBuilt = true

type speexCanceller struct{ c *speexdsp.Canceller }

// newSpeexdsp returns speexdsp's echo canceller, with its preprocessor
// (residual echo and noise suppression) when pre.
func newSpeexdsp(rate, frame, filterLen int, pre bool) (frameCanceller, error) {
	c, err := speexdsp.New(rate, frame, filterLen, pre, pre)
	if err != nil {
		return nil, err
	}
	return speexCanceller{c}, nil
}

func (s speexCanceller) process(dst, mic, ref []int16) ([]int16, error) {
	return s.c.Process(dst, mic, ref)
}

func (s speexCanceller) close() { s.c.Close() }
