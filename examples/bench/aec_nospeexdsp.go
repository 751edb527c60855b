//go:build !speexdsp

package main

// speexdspBuilt reports a build with the speexdsp tag.
const speexdspBuilt = false

// newSpeexdsp is not available without the speexdsp tag.
func newSpeexdsp(rate, frame, filterLen int, pre bool) (frameCanceller, error) {
	return nil, errNoSpeexdsp
}
