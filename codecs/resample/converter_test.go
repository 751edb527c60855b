package resample

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
)

func TestConverterLayouts(t *testing.T) {
	mono48 := tone(48000, 1000, 10000, 4800)
	stereo48 := make([]int16, 0, 2*len(mono48))
	for _, s := range mono48 {
		stereo48 = append(stereo48, s, s/2) // right channel at half level
	}
	want16 := mustNew(t, 48000, 16000).Process(nil, mono48)
	tests := []struct {
		name  string
		in    pcm.Frame
		to    pcm.Format
		check func(t *testing.T, out []int16)
	}{
		{"mono to mono", pcm.Frame{Samples: mono48, Format: pcm.Mono48k}, pcm.Mono16k, func(t *testing.T, out []int16) {
			if !slices.Equal(out, want16) {
				t.Fatal("differs from a plain Resampler")
			}
		}},
		{"stereo to mono", pcm.Frame{Samples: stereo48, Format: pcm.Format{Rate: 48000, Channels: 2}}, pcm.Mono16k, func(t *testing.T, out []int16) {
			// The mix is 3/4 of the left channel.
			fit, _ := residualRMS(out[100:], 16000, 1000)
			if g := fit / (10000 * 0.75 / math.Sqrt2); math.Abs(g-1) > 0.01 {
				t.Fatalf("mixed level ratio %.3f, want 1", g)
			}
		}},
		{"mono to stereo", pcm.Frame{Samples: mono48, Format: pcm.Mono48k}, pcm.Format{Rate: 16000, Channels: 2}, func(t *testing.T, out []int16) {
			if !slices.Equal(pcm.ToMono(nil, out), want16) {
				t.Fatal("channels differ from the mono conversion")
			}
		}},
		{"stereo to stereo", pcm.Frame{Samples: stereo48, Format: pcm.Format{Rate: 48000, Channels: 2}}, pcm.Format{Rate: 16000, Channels: 2}, func(t *testing.T, out []int16) {
			var left, right []int16
			for i := 0; i < len(out); i += 2 {
				left, right = append(left, out[i]), append(right, out[i+1])
			}
			if !slices.Equal(left, want16) {
				t.Fatal("left channel differs from the mono conversion")
			}
			lf, _ := residualRMS(left[100:], 16000, 1000)
			rf, _ := residualRMS(right[100:], 16000, 1000)
			if r := rf / lf; math.Abs(r-0.5) > 0.01 {
				t.Fatalf("right/left level %.3f, want 0.5", r)
			}
		}},
		{"same format", pcm.Frame{Samples: mono48, Format: pcm.Mono48k}, pcm.Mono48k, func(t *testing.T, out []int16) {
			if !slices.Equal(out, mono48) {
				t.Fatal("same-format conversion changed the samples")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewConverter(tt.to)
			out, err := c.Convert(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out)%tt.to.Channels != 0 {
				t.Fatalf("%d samples for %d channels", len(out), tt.to.Channels)
			}
			tt.check(t, out)
		})
	}
}

func TestConverterFormatChange(t *testing.T) {
	c := NewConverter(pcm.Mono16k)
	if got := c.String(); got != "convert(? -> 16000Hz/1ch)" {
		t.Fatalf("String = %q", got)
	}
	a := tone(48000, 300, 9000, 960)
	if _, err := c.Convert(nil, pcm.Frame{Samples: a, Format: pcm.Mono48k}); err != nil {
		t.Fatal(err)
	}
	if c.Delay() <= 0 {
		t.Fatal("no delay reported after 48 kHz input")
	}
	b := tone(8000, 300, 9000, 160)
	got, err := c.Convert(nil, pcm.Frame{Samples: b, Format: pcm.Mono8k})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustNew(t, 8000, 16000).Process(nil, b); !slices.Equal(got, want) {
		t.Fatal("after a format change the output carries the old stream's state")
	}
	if got := c.String(); got != "convert(8000Hz/1ch -> 16000Hz/1ch)" {
		t.Fatalf("String = %q", got)
	}
	c.Reset()
	if again, _ := c.Convert(nil, pcm.Frame{Samples: b, Format: pcm.Mono8k}); !slices.Equal(again, got) {
		t.Fatal("Reset did not clear the history")
	}
}

func TestConverterErrors(t *testing.T) {
	tests := []struct {
		name string
		to   pcm.Format
		in   pcm.Frame
		want error
	}{
		{"bad target", pcm.Format{Rate: 16000, Channels: 0}, pcm.Frame{Samples: []int16{1}, Format: pcm.Mono16k}, pcm.ErrFormat},
		{"bad input", pcm.Mono16k, pcm.Frame{Samples: []int16{1}, Format: pcm.Format{Rate: -1, Channels: 1}}, pcm.ErrFormat},
		{"odd stereo", pcm.Mono16k, pcm.Frame{Samples: []int16{1, 2, 3}, Format: pcm.Format{Rate: 16000, Channels: 2}}, pcm.ErrFormat},
		{"unsupported input rate", pcm.Mono16k, pcm.Frame{Samples: []int16{1}, Format: pcm.Format{Rate: 44000, Channels: 1}}, ErrUnsupportedRate},
		{"unsupported target rate", pcm.Format{Rate: 9600, Channels: 1}, pcm.Frame{Samples: []int16{1}, Format: pcm.Mono16k}, ErrUnsupportedRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []int16{7}
			out, err := NewConverter(tt.to).Convert(dst, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !slices.Equal(out, dst) {
				t.Fatal("a failed Convert changed dst")
			}
		})
	}
}

// TestFrameAligned checks that Frame compensates the filter delay: a sweep
// comes out where the ideal sweep at the new rate is, and as long.
func TestFrameAligned(t *testing.T) {
	for _, p := range pairs(mainRates) {
		low := float64(min(p.from, p.to))
		const dur, start = 0.3, 0.05
		in := chirp(p.from, 100, 0.4*low, dur, start, p.from*2/5)
		src := make([]int16, 0, 2*len(in))
		for _, v := range in {
			s := int16(math.Round(12000 * v))
			src = append(src, s, s)
		}
		fr := pcm.Frame{Samples: src, Format: pcm.Format{Rate: p.from, Channels: 2}, Timestamp: 7}
		out, err := Frame(fr, pcm.Format{Rate: p.to, Channels: 1})
		if err != nil {
			t.Fatal(err)
		}
		if want := len(in) * p.to / p.from; len(out.Samples) != want || out.Timestamp != 7 {
			t.Fatalf("%d -> %d: %d samples at %v, want %d at 7ns", p.from, p.to, len(out.Samples), out.Timestamp, want)
		}
		ideal := chirp(p.to, 100, 0.4*low, dur, start, p.to*2/5)
		// Allow negative lags by delaying the output by pad samples.
		pad := 10
		shifted := append(make([]int16, pad), out.Samples...)
		lag := measureDelay(shifted, p.to, ideal, 2*pad) - float64(pad)/float64(p.to)
		if math.Abs(lag) > 0.25/float64(p.to) {
			t.Errorf("%d -> %d: Frame output off by %.1f µs", p.from, p.to, lag*1e6)
		}
	}
	if _, err := Frame(pcm.Frame{Samples: []int16{1}, Format: pcm.Format{Rate: 1000, Channels: 1}}, pcm.Mono16k); !errors.Is(err, ErrUnsupportedRate) {
		t.Fatalf("Frame error = %v, want ErrUnsupportedRate", err)
	}
}

func TestFrameEdgeCases(t *testing.T) {
	empty, err := Frame(pcm.Frame{Format: pcm.Mono48k}, pcm.Mono16k)
	if err != nil || len(empty.Samples) != 0 || empty.Format != pcm.Mono16k {
		t.Fatalf("Frame(empty) = %v, %v", empty, err)
	}
	stereo := pcm.Frame{Samples: []int16{1, 3, 5, 7}, Format: pcm.Format{Rate: 16000, Channels: 2}}
	mono, err := Frame(stereo, pcm.Mono16k)
	if err != nil || !slices.Equal(mono.Samples, []int16{2, 6}) {
		t.Fatalf("same-rate Frame = %v, %v; want [2 6]", mono.Samples, err)
	}
	short, err := Frame(pcm.Frame{Samples: []int16{1000, 1000, 1000}, Format: pcm.Mono8k}, pcm.Mono48k)
	if err != nil || len(short.Samples) != 18 {
		t.Fatalf("Frame(3 samples, 8k -> 48k) = %d samples, %v; want 18", len(short.Samples), err)
	}
}
