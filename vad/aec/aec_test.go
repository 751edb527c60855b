package aec_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/aec/aectest"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		rate int
		opts []aec.Option
		want error
	}{
		{"rate", 44100, nil, aec.ErrRate},
		{"filter too short", 16000, []aec.Option{aec.WithFilterLength(time.Millisecond)}, aec.ErrOption},
		{"filter too long", 16000, []aec.Option{aec.WithFilterLength(2 * time.Second)}, aec.ErrOption},
		{"delay range", 16000, []aec.Option{aec.WithDelayRange(100*time.Millisecond, 120*time.Millisecond)}, aec.ErrOption},
		{"fixed delay", 16000, []aec.Option{aec.WithFixedDelay(-2 * time.Second)}, aec.ErrOption},
		{"frame", 16000, []aec.Option{aec.WithFrame(0)}, aec.ErrOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := aec.New(tt.rate, tt.opts...); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	for _, rate := range []int{8000, 16000} {
		if _, err := aec.New(rate); err != nil {
			t.Errorf("rate %d: %v", rate, err)
		}
	}
}

func TestProcessErrors(t *testing.T) {
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Process(nil, make([]int16, 100)); !errors.Is(err, aec.ErrFrameSize) {
		t.Errorf("100 samples: %v, want ErrFrameSize", err)
	}
	if err := c.Play(-1, make([]int16, 160)); !errors.Is(err, aec.ErrPosition) {
		t.Errorf("negative position: %v, want ErrPosition", err)
	}
	out, err := c.Process(nil, make([]int16, 320)) // two frames at once
	if err != nil || len(out) != 320 {
		t.Errorf("two frames: %d samples, %v", len(out), err)
	}
}

// Without a reference the canceller passes the microphone through,
// Latency late.
func TestPassThrough(t *testing.T) {
	for _, tc := range []struct {
		rate  int
		frame time.Duration
	}{{16000, 10 * time.Millisecond}, {16000, 20 * time.Millisecond}, {8000, 10 * time.Millisecond}, {16000, 3 * time.Millisecond}} {
		c, err := aec.New(tc.rate, aec.WithFrame(tc.frame))
		if err != nil {
			t.Fatal(err)
		}
		fl := int(tc.frame * time.Duration(tc.rate) / time.Second)
		lat := int(c.Latency() * time.Duration(tc.rate) / time.Second)
		rng := rand.New(rand.NewPCG(1, 1))
		in := make([]int16, 200*fl)
		for i := range in {
			in[i] = int16(rng.NormFloat64() * 3000)
		}
		var out []int16
		for i := 0; i < len(in); i += fl {
			if out, err = c.Process(out, in[i:i+fl]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range len(in) - lat {
			if d := int(out[i+lat]) - int(in[i]); d > 1 || d < -1 {
				t.Fatalf("%d Hz, %v frames: output %d = %d, input %d = %d (latency %v)",
					tc.rate, tc.frame, i+lat, out[i+lat], i, in[i], c.Latency())
			}
		}
	}
}

func TestLatency(t *testing.T) {
	for _, tc := range []struct {
		rate  int
		frame time.Duration
		want  time.Duration
	}{
		{16000, 10 * time.Millisecond, 14 * time.Millisecond},
		{16000, 20 * time.Millisecond, 12 * time.Millisecond},
		{8000, 10 * time.Millisecond, 14 * time.Millisecond},
		{16000, 8 * time.Millisecond, 8 * time.Millisecond},
	} {
		c, err := aec.New(tc.rate, aec.WithFrame(tc.frame))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Latency(); got != tc.want {
			t.Errorf("%d Hz, %v frames: latency %v, want %v", tc.rate, tc.frame, got, tc.want)
		}
	}
}

// A session's steady state allocates nothing.
func TestProcessAllocs(t *testing.T) {
	sc := scene(t, aectest.Specs[0])
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, 0, 160)
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		_ = c.Play(int64(i), sc.Far[i:i+160])
		out, _ = c.Process(out[:0], sc.Mic[i:i+160])
		i += 160
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
}

// The transport's jitter buffer grows: the echo comes 80 ms later from 3 s
// on. The canceller finds the new delay and cancels again.
func TestDelayJump(t *testing.T) {
	base := scene(t, aectest.Specs[0])
	sc := *base
	const jump = 80 * 16 // samples
	cut := 3 * 16000
	sc.Mic = append([]int16(nil), base.Mic...)
	sc.Echo = append([]float32(nil), base.Echo...)
	for i := len(sc.Mic) - 1; i >= cut; i-- {
		e := base.Echo[i-jump]
		if i-jump < cut {
			e = 0 // the echo of what played before the jump arrives as before
			if i < cut+jump {
				e = base.Echo[i]
			}
		}
		sc.Echo[i] = e
		sc.Mic[i] = int16(math.Max(-32768, math.Min(32767, math.Round(float64(e+base.Near[i]+base.Noise[i])))))
	}
	c, err := aec.New(16000, aec.WithSuppressor(false))
	if err != nil {
		t.Fatal(err)
	}
	before := c.Stats().Delay
	r := run(t, c, &sc)
	after := c.Stats().Delay
	t.Logf("delay %v → %v, ERLE %.1f dB, %.1f dB after the double talk", before, after, r.ERLE, r.ERLEAfterDouble)
	if d := after - 88*time.Millisecond; d < 64*time.Millisecond || d > 96*time.Millisecond {
		t.Errorf("delay %v after an 80 ms jump from 100 ms", after)
	}
	if r.ERLEAfterDouble < 15 {
		t.Errorf("ERLE %.1f dB at the end, want ≥ 15", r.ERLEAfterDouble)
	}
}

func TestString(t *testing.T) {
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "aec(16k, filter 256ms, delay 0s-1s, suppressor on)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	c, err = aec.New(8000, aec.WithFixedDelay(40*time.Millisecond), aec.WithSuppressor(false))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "aec(8k, filter 256ms, delay 40ms fixed, suppressor off)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestTail: before the echo's delay is found the tail spans the longest
// delay searched and the filter; a fixed or found delay replaces the
// longest.
func TestTail(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []aec.Option
		want time.Duration
	}{
		{"default", nil, time.Second + 256*time.Millisecond},
		{"range", []aec.Option{aec.WithDelayRange(-100*time.Millisecond, 400*time.Millisecond)}, 400*time.Millisecond + 256*time.Millisecond},
		{"fixed", []aec.Option{aec.WithFixedDelay(96 * time.Millisecond), aec.WithFilterLength(128 * time.Millisecond)}, 224 * time.Millisecond},
		{"fixed negative", []aec.Option{aec.WithFixedDelay(-96 * time.Millisecond)}, 160 * time.Millisecond},
	} {
		c, err := aec.New(16000, tt.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Tail(); got != tt.want {
			t.Errorf("%s: tail %v, want %v", tt.name, got, tt.want)
		}
	}
	sc := scene(t, aectest.Specs[0])
	c, err := aec.New(16000)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, sc)
	st := c.Stats()
	if !st.DelayFound {
		t.Fatal("delay not found")
	}
	if got, want := c.Tail(), st.Delay+256*time.Millisecond; got != want || got >= time.Second {
		t.Errorf("tail %v with the delay found at %v, want %v", got, st.Delay, want)
	}
}
