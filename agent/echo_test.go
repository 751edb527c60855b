package agent

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// talk returns d of speech-like noise at 16 kHz: bursts of 300 ms with
// 200 ms pauses.
func talk(rng *rand.Rand, d time.Duration) []int16 {
	n := int(d * 16000 / time.Second)
	x := make([]int16, n)
	for i := range x {
		if i%8000 < 4800 {
			x[i] = int16(rng.NormFloat64() * 3000)
		}
	}
	return x
}

// room returns x as a microphone hears it: delay samples late, through a
// short reverberant response, 12 dB down.
func room(x []int16, delay int) []int16 {
	h := make([]float64, 800) // 50 ms of tail
	rng := rand.New(rand.NewPCG(7, 7))
	h[0] = 0.25
	for k := 1; k < len(h); k++ {
		h[k] = 0.05 * rng.NormFloat64() * math.Exp(-float64(k)/400)
	}
	y := make([]int16, len(x))
	for i := range y {
		var v float64
		for k, g := range h {
			if j := i - delay - k; j >= 0 && j < len(x) {
				v += g * float64(x[j])
			}
		}
		y[i] = int16(v)
	}
	return y
}

func energy(x []int16) float64 {
	var e float64
	for _, v := range x {
		e += float64(v) * float64(v)
	}
	return e
}

// TestEchoCancellerPath plays a reply through the tap and its echo, 120 ms
// late in a reverberant room, into the microphone side, frame by frame as
// a session does: after convergence the output holds far less echo.
func TestEchoCancellerPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := talk(rng, 6*time.Second)
	mic := room(x, 1920)
	c, err := newCanceller(16000, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := newEchoRef(16000, nil)
	e := newEchoCanceller(c, ref)
	const n = 320
	var in, out float64
	for i := 0; i+n <= len(x); i += n {
		ref.tap(pcm.Frame{Samples: x[i : i+n], Format: pcm.Mono16k, Timestamp: time.Duration(i) * time.Second / 16000})
		fr := append([]int16(nil), mic[i:i+n]...)
		got := e.process(fr, time.Duration(i)*time.Second/16000)
		if len(got) != n {
			t.Fatalf("frame %d: %d samples out, want %d", i/n, len(got), n)
		}
		if i >= 4*16000 {
			in += energy(mic[i : i+n])
			out += energy(got)
		}
	}
	red := 10 * math.Log10(in/out)
	t.Logf("echo reduced by %.1f dB; canceller ERLE %.1f dB, %.1f dB suppressed", red, e.stats.erle, e.stats.erleSuppressed)
	if red < 20 {
		t.Errorf("echo reduced by %.1f dB, want at least 20", red)
	}
	if e.stats.erle <= 0 {
		t.Errorf("no ERLE reported")
	}
}

// TestEchoCancellerQuiet: while the agent has never spoken the canceller
// stays off and the microphone passes through, delayed by the canceller's
// latency, sample for sample, in frames of any length.
func TestEchoCancellerQuiet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mic := talk(rng, 2*time.Second)
	c, err := newCanceller(16000, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := newEchoRef(16000, nil)
	e := newEchoCanceller(c, ref)
	var got []int16
	pos := 0
	for i, n := range []int{320, 100, 220, 480, 7, 313} {
		for k := 0; k < 10 && pos+n <= len(mic); k++ {
			ref.tap(pcm.Frame{Format: pcm.Mono16k, Timestamp: time.Duration(i) * time.Millisecond})
			got = append(got, e.process(append([]int16(nil), mic[pos:pos+n]...), time.Duration(pos)*time.Second/16000)...)
			pos += n
		}
	}
	if e.on {
		t.Fatal("canceller on with the agent quiet")
	}
	lat := e.lat
	if lat != 240 {
		t.Errorf("latency %d samples, want 240", lat)
	}
	for i := lat; i < len(got); i++ {
		if got[i] != mic[i-lat] {
			t.Fatalf("sample %d: %d, want the input's %d", i, got[i], mic[i-lat])
		}
	}
}

// TestEchoCancellerStopsAfterTail: once the agent falls silent the
// canceller runs on while the echo can still arrive (the delay it found
// plus its filter's length, and tailMargin), then stops.
func TestEchoCancellerStopsAfterTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 320
	x := talk(rng, 4*time.Second)
	x = x[:len(x)/n*n]
	mic := room(append(x, make([]int16, 3*16000)...), 1920)
	c, err := newCanceller(16000, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := newEchoRef(16000, nil)
	e := newEchoCanceller(c, ref)
	var tail time.Duration
	off := time.Duration(-1) // after the last audible frame
	for i := 0; i+n <= len(mic); i += n {
		ts := time.Duration(i) * time.Second / 16000
		fr := pcm.Frame{Format: pcm.Mono16k, Timestamp: ts}
		if i < len(x) {
			fr.Samples = x[i : i+n]
		}
		ref.tap(fr)
		e.process(append([]int16(nil), mic[i:i+n]...), ts)
		since := ts + pipeline.FrameDuration - time.Duration(len(x))*time.Second/16000
		switch {
		case i+n == len(x):
			if !e.on {
				t.Fatal("canceller off while the agent speaks")
			}
			tail = c.Tail()
		case since > 0 && !e.on && off < 0:
			off = since
		}
	}
	if !c.Stats().DelayFound {
		t.Fatal("echo delay not found")
	}
	if tail >= time.Second {
		t.Errorf("tail %v with the delay found at %v", tail, c.Stats().Delay)
	}
	t.Logf("delay %v, tail %v, canceller off %v after the last audible frame", c.Stats().Delay, tail, off)
	if lo, hi := tail+tailMargin, tail+tailMargin+100*time.Millisecond; off < lo || off > hi {
		t.Errorf("canceller off %v after the last audible frame, want %v to %v", off, lo, hi)
	}
}

// TestEchoCeiling: while the agent speaks, the echo's ceiling stands above
// the echo a room sends back (a reverberant response 16 dB down), as it
// arrives and as the canceller leaves it, in all but a few frames, from
// its first frames on, before the canceller has learnt anything; the user
// talking over it stays above it; with no echo at all (a headset) it sinks toward
// maxERL below the reference within two seconds; once the agent's echo has
// died away there is none.
func TestEchoCeiling(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 320
	x := talk(rng, 3*time.Second)
	x = x[:len(x)/n*n]
	// The user: 6 dB below the agent, 10 dB above its echo, for a second
	// from 1.5 s.
	user := quieter(talk(rand.New(rand.NewPCG(10, 10)), time.Second), 0.5)
	for _, tc := range []struct {
		name string
		mic  []int16
	}{
		{"room", quieter(room(append(x, make([]int16, 3*16000)...), 1920), 0.2)},
		{"headset", make([]int16, len(x)+3*16000)},
		{"user over the room", over(quieter(room(append(x, make([]int16, 3*16000)...), 1920), 0.2), user, 24000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newCanceller(16000, nil)
			if err != nil {
				t.Fatal(err)
			}
			ref := newEchoRef(16000, nil)
			e := newEchoCanceller(c, ref)
			var frames, above int
			var top float64 = silentLevel
			for i := 0; i+n <= len(tc.mic); i += n {
				ts := time.Duration(i) * time.Second / 16000
				fr := pcm.Frame{Format: pcm.Mono16k, Timestamp: ts}
				if i < len(x) {
					fr.Samples = x[i : i+n]
					top = max(top, frameLevel(fr.Samples))
				}
				ref.tap(fr)
				mic := tc.mic[i : i+n]
				got := e.process(append([]int16(nil), mic...), ts)
				switch {
				case i >= len(x):
				case i < 1600:
					// The reference reaches the microphone's clock a
					// tick and a margin after the tap.
				case !e.stats.live:
					t.Fatalf("frame %d: no echo ceiling while the agent speaks", i/n)
				case tc.name == "user over the room" && i >= 24000 && i+n <= 24000+len(user):
					if lv := frameLevel(user[i-24000 : i-24000+n]); lv > silentLevel {
						frames++
						if lv < e.stats.ceiling {
							above++ // here: the user under the ceiling
						}
					}
				case tc.name == "room" && frameLevel(mic) > silentLevel:
					frames++
					// The echo the canceller leaves stays under it.
					if frameLevel(got) > e.stats.ceiling {
						above++
					}
				case tc.name == "headset" && i >= 2*16000:
					if e.stats.ceiling > top-maxERL+3 {
						t.Fatalf("%v into a reply with no echo: ceiling %.1f dBFS, the reference's peak %.1f", ts, e.stats.ceiling, top)
					}
				}
			}
			if above > frames/20 {
				t.Errorf("%s: %d of %d frames on the wrong side of the echo's ceiling", tc.name, above, frames)
			}
			if e.stats.live {
				t.Errorf("an echo ceiling (%.1f dBFS) long after the agent stopped", e.stats.ceiling)
			}
		})
	}
}

// quieter returns x times g.
func quieter(x []int16, g float64) []int16 {
	y := make([]int16, len(x))
	for i, v := range x {
		y[i] = int16(float64(v) * g)
	}
	return y
}

// over returns x with y added from sample at.
func over(x, y []int16, at int) []int16 {
	z := append([]int16(nil), x...)
	for i, v := range y {
		z[at+i] += v
	}
	return z
}

// The ceiling credits the adaptive filter's ERLE less a margin, within
// bounds: nothing while it has learnt little, never more than maxCredit.
func TestERLECredit(t *testing.T) {
	for _, tc := range []struct{ erle, want float64 }{
		{-3, 0}, {0, 0}, {erleMargin, 0}, {erleMargin + 4, 4}, {erleMargin + maxCredit + 10, maxCredit},
	} {
		if got := erleCredit(tc.erle); got != tc.want {
			t.Errorf("erleCredit(%v) = %v, want %v", tc.erle, got, tc.want)
		}
	}
}
