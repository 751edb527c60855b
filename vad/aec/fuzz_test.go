package aec_test

import (
	"encoding/binary"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec"
)

// Any reference and microphone audio, at any positions: no panic, whole
// frames out, no NaN (a NaN would be stuck in the filter for good).
func FuzzCanceller(f *testing.F) {
	f.Add([]byte{0x01, 0x80, 0xff, 0x7f}, int64(0), uint8(3))
	f.Add([]byte{0x00, 0x80, 0x00, 0x80, 0xff, 0x7f}, int64(1<<40), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, pos int64, frames uint8) {
		c, err := aec.New(16000)
		if err != nil {
			t.Fatal(err)
		}
		samples := make([]int16, len(data)/2)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
		if len(samples) == 0 {
			samples = []int16{0}
		}
		frame := make([]int16, 160)
		var out []int16
		for k := range int(frames) {
			for i := range frame {
				frame[i] = samples[(k*160+i)%len(samples)]
			}
			if err := c.Play(pos+int64(k*160), frame); err != nil && pos >= 0 && pos < 1<<47 {
				t.Fatal(err)
			}
			// The echo: the same audio a little later, loud.
			for i := range frame {
				frame[i] = samples[(k*160+i+7)%len(samples)]
			}
			if out, err = c.Process(out[:0], frame); err != nil {
				t.Fatal(err)
			}
			if len(out) != 160 {
				t.Fatalf("%d samples out", len(out))
			}
		}
		st := c.Stats()
		if math.IsNaN(st.ERLE) || math.IsNaN(st.ERLESuppressed) {
			t.Fatalf("NaN in the stats: %+v", st)
		}
		// The filter still works: a plain echo afterwards is cancelled
		// (or at least passes through) without NaN.
		for k := range 50 {
			for i := range frame {
				frame[i] = int16(3000 * math.Sin(float64(k*160+i)*0.05))
			}
			_ = c.Play(pos+int64((int(frames)+k)*160), frame)
			if out, err = c.Process(out[:0], frame); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Play on the playout's goroutine while Process runs on another.
func TestConcurrentPlay(t *testing.T) {
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	const frames = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ref := make([]int16, 160)
		for k := range frames {
			for i := range ref {
				ref[i] = int16(1000 * math.Sin(float64(k*160+i)*0.03))
			}
			if err := c.Play(int64(k*160), ref); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(10 * time.Microsecond)
		}
	}()
	mic := make([]int16, 160)
	var out []int16
	for k := range frames {
		for i := range mic {
			mic[i] = int16(300 * math.Sin(float64(k*160+i-800)*0.03))
		}
		if out, err = c.Process(out[:0], mic); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
