package pcm

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		f       Format
		valid   bool
		str     string
		samples int // interleaved samples in 20 ms
	}{
		{Mono16k, true, "16000Hz/1ch", 320},
		{Format{Rate: 48000, Channels: 2}, true, "48000Hz/2ch", 1920},
		{Format{Rate: 22050, Channels: 1}, true, "22050Hz/1ch", 441},
		{Format{Rate: 0, Channels: 1}, false, "0Hz/1ch", 0},
		{Format{Rate: 8000, Channels: 3}, false, "8000Hz/3ch", 480},
		{Format{Rate: 1 << 20, Channels: 1}, false, "1048576Hz/1ch", 20971},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if (err == nil) != tt.valid || (err != nil && !errors.Is(err, ErrFormat)) {
			t.Errorf("%v.Validate() = %v, valid %v", tt.f, err, tt.valid)
		}
		if tt.f.String() != tt.str {
			t.Errorf("String = %q, want %q", tt.f.String(), tt.str)
		}
		if got := tt.f.Samples(20 * time.Millisecond); got != tt.samples {
			t.Errorf("%v.Samples(20ms) = %d, want %d", tt.f, got, tt.samples)
		}
	}
	if d := (Format{Rate: 48000, Channels: 2}).Duration(1920); d != 20*time.Millisecond {
		t.Errorf("Duration(1920) = %v", d)
	}
	if d := (Format{}).Duration(100); d != 0 {
		t.Errorf("zero format Duration = %v", d)
	}
	fr := Frame{Samples: make([]int16, 160), Format: Mono8k}
	if fr.Duration() != 20*time.Millisecond {
		t.Errorf("Frame.Duration = %v", fr.Duration())
	}
}

func TestFloatConversions(t *testing.T) {
	in := []int16{math.MinInt16, -1, 0, 1, 16384, math.MaxInt16}
	f := ToFloat32(nil, in)
	if f[0] != -1 || f[2] != 0 || f[4] != 0.5 || f[5] >= 1 {
		t.Fatalf("ToFloat32 = %v", f)
	}
	if back := FromFloat32(nil, f); !slices.Equal(back, in) {
		t.Fatalf("FromFloat32(ToFloat32(x)) = %v, want %v", back, in)
	}
	clipped := FromFloat32([]int16{7}, []float32{2, -2, float32(math.Inf(1)), float32(math.NaN())})
	if !slices.Equal(clipped, []int16{7, math.MaxInt16, math.MinInt16, math.MaxInt16, 0}) {
		t.Fatalf("FromFloat32 clipping = %v", clipped)
	}
}

func TestChannels(t *testing.T) {
	stereo := []int16{100, 300, math.MaxInt16, math.MaxInt16, math.MinInt16, math.MinInt16, 5}
	if got := ToMono(nil, stereo); !slices.Equal(got, []int16{200, math.MaxInt16, math.MinInt16}) {
		t.Fatalf("ToMono = %v", got)
	}
	if got := ToStereo([]int16{9}, []int16{1, -2}); !slices.Equal(got, []int16{9, 1, 1, -2, -2}) {
		t.Fatalf("ToStereo = %v", got)
	}
}

func TestLevels(t *testing.T) {
	if RMS(nil) != 0 || !math.IsInf(DBFS(make([]int16, 10)), -1) {
		t.Fatal("silence should have RMS 0 and -inf dBFS")
	}
	square := []int16{16384, -16384, 16384, -16384}
	if r := RMS(square); r != 0.5 {
		t.Fatalf("RMS = %v, want 0.5", r)
	}
	if d := DBFS(square); math.Abs(d+6.02) > 0.01 {
		t.Fatalf("DBFS = %v, want -6.02", d)
	}
}

// TestAppendDoubles: growing a buffer a frame at a time, Append keeps
// every sample and allocates at most about twice the final size.
func TestAppendDoubles(t *testing.T) {
	frame := make([]int16, 160)
	for i := range frame {
		frame[i] = int16(i)
	}
	var buf []int16
	caps := 0
	allocated := 0
	for range 500 {
		buf = Append(buf, frame)
		if cap(buf) != caps {
			caps = cap(buf)
			allocated += caps
		}
	}
	if len(buf) != 500*160 || buf[len(buf)-1] != 159 || buf[160] != 0 {
		t.Fatalf("len %d, last %d", len(buf), buf[len(buf)-1])
	}
	if allocated > 2*len(buf)+2*160 {
		t.Errorf("allocated %d samples for %d", allocated, len(buf))
	}
}
