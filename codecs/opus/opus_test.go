//go:build cgo

package opus

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// speech loads a flite clip at rate Hz, mono.
func speech(t testing.TB, rate int) []int16 {
	t.Helper()
	return clipAt(t, "order_slt.wav", rate)
}

// clipAt loads a clip of testdata/speech at rate Hz, mono.
func clipAt(t testing.TB, name string, rate int) []int16 {
	t.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "..", "testdata", "speech", name))
	if err != nil {
		t.Fatal(err)
	}
	fr, err = resample.Frame(fr, pcm.Format{Rate: rate, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	return fr.Samples
}

// frames cuts samples into whole 20 ms frames.
func frames(samples []int16, f pcm.Format) [][]int16 {
	n := f.Samples(FrameDuration)
	var out [][]int16
	for len(samples) >= n {
		out = append(out, samples[:n])
		samples = samples[n:]
	}
	return out
}

func mustEncoder(t testing.TB, rate, channels int, opts ...EncoderOption) *Encoder {
	t.Helper()
	e, err := NewEncoder(rate, channels, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustDecoder(t testing.TB, rate, channels int) *Decoder {
	t.Helper()
	d, err := NewDecoder(rate, channels)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// bestCorrelation returns the highest normalised cross-correlation of a and
// b over lags 0..maxLag of b behind a (the codec's delay).
func bestCorrelation(a, b []int16, maxLag int) (float64, int) {
	best, bestLag := -1.0, 0
	for lag := 0; lag <= maxLag; lag++ {
		var ab, aa, bb float64
		for i := 0; i+lag < len(b) && i < len(a); i++ {
			x, y := float64(a[i]), float64(b[i+lag])
			ab += x * y
			aa += x * x
			bb += y * y
		}
		if c := ab / math.Sqrt(aa*bb+1e-9); c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}

func TestRoundTrip(t *testing.T) {
	for _, rate := range []int{48000, 16000, 8000} {
		for _, channels := range []int{1, 2} {
			t.Run(fmt.Sprintf("%dHz/%dch", rate, channels), func(t *testing.T) {
				src := speech(t, rate)
				if channels == 2 {
					src = pcm.ToStereo(nil, src)
				}
				enc := mustEncoder(t, rate, channels, WithBitrate(32000))
				dec := mustDecoder(t, rate, channels)
				var out []int16
				var bytes int
				for _, fr := range frames(src, enc.Format()) {
					pkt, err := enc.Encode(fr, nil)
					if err != nil {
						t.Fatal(err)
					}
					if d, err := PacketDuration(pkt); err != nil || d != FrameDuration {
						t.Fatalf("PacketDuration = %v, %v; want 20ms", d, err)
					}
					bytes += len(pkt)
					if out, err = dec.Decode(pkt, out); err != nil {
						t.Fatal(err)
					}
				}
				if len(out) != len(src)/enc.Format().Samples(FrameDuration)*enc.Format().Samples(FrameDuration) {
					t.Fatalf("decoded %d samples from %d", len(out), len(src))
				}
				if channels == 2 {
					src, out = pcm.ToMono(nil, src), pcm.ToMono(nil, out)
				}
				// Compare one second from the middle (codec delay < 10 ms).
				mid := len(out) / 2
				c, lag := bestCorrelation(src[mid-rate/2:mid+rate/2], out[mid-rate/2:], rate/100)
				kbps := float64(bytes*8) / (float64(len(src)) / float64(rate)) / 1000
				t.Logf("%d Hz %d ch: correlation %.3f at a delay of %d samples, %.1f kbit/s", rate, channels, c, lag, kbps)
				if c < 0.9 {
					t.Fatalf("decoded speech correlates %.3f with the input, want >= 0.9", c)
				}
			})
		}
	}
}

func TestEncoderErrors(t *testing.T) {
	tests := []struct {
		name     string
		rate, ch int
		opts     []EncoderOption
		want     error
	}{
		{"44.1 kHz", 44100, 1, nil, pcm.ErrFormat},
		{"3 channels", 48000, 3, nil, pcm.ErrFormat},
		{"complexity 11", 48000, 1, []EncoderOption{WithComplexity(11)}, ErrConfig},
		{"bitrate 100", 48000, 1, []EncoderOption{WithBitrate(100)}, ErrConfig},
		{"loss 0", 48000, 1, []EncoderOption{WithFEC(0)}, ErrConfig},
		{"application 9", 48000, 1, []EncoderOption{WithApplication(9)}, ErrConfig},
	}
	for _, tt := range tests {
		if _, err := NewEncoder(tt.rate, tt.ch, tt.opts...); !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := NewDecoder(11025, 1); !errors.Is(err, pcm.ErrFormat) {
		t.Errorf("NewDecoder(11025) error = %v, want pcm.ErrFormat", err)
	}

	e := mustEncoder(t, 48000, 2, WithApplication(AppAudio), WithComplexity(0), WithDTX())
	for _, n := range []int{0, 1, 959, 961, 1919, 1921} {
		dst := []byte{7}
		got, err := e.Encode(make([]int16, n), dst)
		if !errors.Is(err, ErrFrameSize) || len(got) != 1 {
			t.Errorf("Encode(%d stereo samples) = %d bytes, %v; want ErrFrameSize", n, len(got), err)
		}
	}
	for _, ms := range []float64{2.5, 5, 10, 20, 40, 60} {
		n := int(48*ms) * 2
		if _, err := e.Encode(make([]int16, n), nil); err != nil {
			t.Errorf("Encode(%v ms): %v", ms, err)
		}
	}
}

func TestDecodeBadPackets(t *testing.T) {
	tests := []struct {
		name   string
		packet []byte
		want   error
	}{
		{"empty", nil, ErrEmpty},
		{"code 3 without count", []byte{0x03}, ErrCorrupt},
		{"code 3 with zero frames", []byte{0x03, 0x00}, ErrCorrupt},
		{"code 3, 49 frames of 2.5 ms", []byte{0x83, 49}, ErrCorrupt},
		{"code 3, 7 frames of 20 ms", []byte{0x0b, 7}, ErrCorrupt},
		{"code 2 with a length past the end", []byte{0x02, 0xfb, 1, 2, 3}, ErrCorrupt},
		{"code 1 with an odd payload", []byte{0x01, 1, 2, 3}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecoder(t, 48000, 1)
			dst := []int16{5}
			got, err := d.Decode(tt.packet, dst)
			if !errors.Is(err, tt.want) || len(got) != 1 {
				t.Fatalf("Decode = %d samples, %v; want %v", len(got), err, tt.want)
			}
			if _, err := d.DecodeFEC(tt.packet, nil); !errors.Is(err, tt.want) {
				t.Fatalf("DecodeFEC error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPacketDuration(t *testing.T) {
	tests := []struct {
		packet []byte
		want   float64 // ms
	}{
		{[]byte{0 << 3}, 10}, {[]byte{1 << 3}, 20}, {[]byte{2 << 3}, 40}, {[]byte{3 << 3}, 60},
		{[]byte{13 << 3}, 20}, {[]byte{14 << 3}, 10},
		{[]byte{16 << 3}, 2.5}, {[]byte{31 << 3}, 20},
		{[]byte{1<<3 | 1}, 40}, {[]byte{16<<3 | 2}, 5},
		{[]byte{3<<3 | 3, 2}, 120}, {[]byte{16<<3 | 3, 48}, 120},
	}
	for _, tt := range tests {
		got, err := PacketDuration(tt.packet)
		if err != nil || got.Seconds()*1000 != tt.want {
			t.Errorf("PacketDuration(% x) = %v, %v; want %v ms", tt.packet, got, err, tt.want)
		}
	}
}

// TestLossRecovery drops packets from an FEC-protected speech stream and
// checks that Conceal and DecodeFEC fill the gaps with the right amount of
// audio, and that FEC rebuilds the lost audio better than concealment.
func TestLossRecovery(t *testing.T) {
	const rate = 16000
	src := speech(t, rate)
	enc := mustEncoder(t, rate, 1, WithFEC(30), WithBitrate(24000))
	var packets [][]byte
	for _, fr := range frames(src, enc.Format()) {
		pkt, err := enc.Encode(fr, nil)
		if err != nil {
			t.Fatal(err)
		}
		packets = append(packets, pkt)
	}
	// Reference: everything received.
	ref := mustDecoder(t, rate, 1)
	var clean []int16
	for _, p := range packets {
		var err error
		if clean, err = ref.Decode(p, clean); err != nil {
			t.Fatal(err)
		}
	}
	lost := func(i int) bool { return i > 5 && i%7 == 3 }
	decode := func(useFEC bool) []int16 {
		d := mustDecoder(t, rate, 1)
		var out []int16
		for i, p := range packets {
			var err error
			switch {
			case lost(i):
				continue
			case i > 0 && lost(i-1) && useFEC:
				out, err = d.DecodeFEC(p, out)
			case i > 0 && lost(i-1):
				out, err = d.Conceal(out)
			}
			if err != nil {
				t.Fatal(err)
			}
			if out, err = d.Decode(p, out); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	plc, fec := decode(false), decode(true)
	if len(plc) != len(clean) || len(fec) != len(clean) {
		t.Fatalf("recovered streams have %d and %d samples, want %d", len(plc), len(fec), len(clean))
	}
	snr := func(x []int16) float64 {
		var sig, noise float64
		n := enc.Format().Samples(FrameDuration)
		for i := range packets {
			if !lost(i) {
				continue
			}
			for j := i * n; j < (i+1)*n; j++ {
				sig += float64(clean[j]) * float64(clean[j])
				e := float64(x[j]) - float64(clean[j])
				noise += e * e
			}
		}
		return 10 * math.Log10(sig/(noise+1e-9))
	}
	t.Logf("lost frames vs lossless decoding: FEC %.1f dB SNR, PLC %.1f dB SNR", snr(fec), snr(plc))
	if snr(fec) <= snr(plc) {
		t.Fatalf("FEC (%.1f dB) did not beat concealment (%.1f dB)", snr(fec), snr(plc))
	}
}

func TestConcealBeforeFirstPacket(t *testing.T) {
	d := mustDecoder(t, 48000, 2)
	out, err := d.Conceal(nil)
	if err != nil || len(out) != 2*960 {
		t.Fatalf("Conceal = %d samples, %v; want 1920", len(out), err)
	}
}

func TestDTX(t *testing.T) {
	e := mustEncoder(t, 16000, 1, WithDTX())
	silence := make([]int16, 320)
	small := 0
	for range 50 {
		pkt, err := e.Encode(silence, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(pkt) <= 2 {
			small++
		}
	}
	if small < 25 {
		t.Fatalf("%d of 50 silent frames were DTX packets", small)
	}
}

func TestNoAllocs(t *testing.T) {
	src := speech(t, 48000)[:960]
	e := mustEncoder(t, 48000, 1)
	d := mustDecoder(t, 48000, 1)
	pkt, _ := e.Encode(src, make([]byte, 0, maxPacketBytes))
	out := make([]int16, 0, 5760)
	if n := testing.AllocsPerRun(20, func() { pkt, _ = e.Encode(src, pkt[:0]) }); n != 0 {
		t.Errorf("Encode allocates %.0f times", n)
	}
	if n := testing.AllocsPerRun(20, func() { out, _ = d.Decode(pkt, out[:0]) }); n != 0 {
		t.Errorf("Decode allocates %.0f times", n)
	}
}

func FuzzOpusDecode(f *testing.F) {
	for _, rate := range []int{48000, 16000} {
		e := mustEncoder(f, rate, 1, WithFEC(10))
		src := speech(f, rate)
		for i, fr := range frames(src, e.Format())[20:23] {
			pkt, err := e.Encode(fr, nil)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(pkt)
			if i == 0 {
				f.Add(pkt[:len(pkt)/2])
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x03})
	f.Add([]byte{0x03, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x02, 0xfb, 1, 2, 3})
	f.Add([]byte("not an opus packet, just text"))
	f.Fuzz(func(t *testing.T, packet []byte) {
		d := mustDecoder(t, 48000, 2)
		out, err := d.Decode(packet, nil)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("untyped error: %v", err)
			}
			if len(out) != 0 {
				t.Fatal("failed Decode returned samples")
			}
			return
		}
		dur, err := PacketDuration(packet)
		if err != nil {
			t.Fatalf("decoded a packet PacketDuration rejects: %v", err)
		}
		if want := d.Format().Samples(dur); len(out) != want {
			t.Fatalf("decoded %d samples, PacketDuration says %d", len(out), want)
		}
		if _, err := d.DecodeFEC(packet, nil); err != nil {
			t.Fatalf("DecodeFEC of a decodable packet: %v", err)
		}
		if _, err := d.Conceal(nil); err != nil {
			t.Fatalf("Conceal: %v", err)
		}
	})
}

func BenchmarkOpusEncode(b *testing.B) {
	for _, bc := range []struct {
		rate, complexity int
	}{{48000, DefaultComplexity}, {16000, DefaultComplexity}, {16000, SpeechComplexity}} {
		rate := bc.rate
		b.Run(fmt.Sprintf("%dkHz/complexity%d", rate/1000, bc.complexity), func(b *testing.B) {
			e := mustEncoder(b, rate, 1, WithComplexity(bc.complexity))
			frs := frames(speech(b, rate), e.Format())
			pkt := make([]byte, 0, maxPacketBytes)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var err error
				if pkt, err = e.Encode(frs[i%len(frs)], pkt[:0]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkOpusDecode(b *testing.B) {
	for _, rate := range []int{48000, 16000} {
		b.Run(fmt.Sprintf("%dkHz", rate/1000), func(b *testing.B) {
			e := mustEncoder(b, rate, 1)
			var pkts [][]byte
			for _, fr := range frames(speech(b, rate), e.Format()) {
				pkt, err := e.Encode(fr, nil)
				if err != nil {
					b.Fatal(err)
				}
				pkts = append(pkts, pkt)
			}
			d := mustDecoder(b, rate, 1)
			out := make([]int16, 0, 5760)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var err error
				if out, err = d.Decode(pkts[i%len(pkts)], out[:0]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestOptionsTakeEffect checks that the bitrate option changes the packet
// sizes and that a decoder takes packets of any channel count and rate.
func TestOptionsTakeEffect(t *testing.T) {
	src := speech(t, 16000)
	size := func(opts ...EncoderOption) int {
		e := mustEncoder(t, 16000, 1, opts...)
		total := 0
		for _, fr := range frames(src, e.Format()) {
			pkt, err := e.Encode(fr, nil)
			if err != nil {
				t.Fatal(err)
			}
			total += len(pkt)
		}
		return total
	}
	low, high := size(WithBitrate(10000)), size(WithBitrate(64000), WithComplexity(10))
	t.Logf("speech at 10 kbit/s: %d bytes, at 64 kbit/s: %d bytes", low, high)
	if high < 3*low {
		t.Fatalf("64 kbit/s gave %d bytes, 10 kbit/s %d: bitrate not applied", high, low)
	}

	stereo := mustEncoder(t, 48000, 2)
	pkt, err := stereo.Encode(make([]int16, 1920), nil)
	if err != nil {
		t.Fatal(err)
	}
	mono16 := mustDecoder(t, 16000, 1)
	out, err := mono16.Decode(pkt, nil)
	if err != nil || len(out) != 320 {
		t.Fatalf("16 kHz mono decode of a 48 kHz stereo packet: %d samples, %v; want 320", len(out), err)
	}
}

// logSpectralDistance returns the mean log-spectral distance in dB between
// ref and got over the 256-sample frames where ref is louder than -45 dBFS
// (Hann window; power floored well below speech so quiet bins count little).
func logSpectralDistance(ref, got []int16) float64 {
	const n = 256
	cos, sin := make([]float64, n), make([]float64, n)
	win := make([]float64, n)
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		cos[i], sin[i] = math.Cos(a), math.Sin(a)
		win[i] = 0.5 - 0.5*cos[i]
	}
	power := func(x []int16, k int) float64 {
		var re, im float64
		for i, v := range x {
			w := float64(v) * win[i]
			re += w * cos[(k*i)%n]
			im -= w * sin[(k*i)%n]
		}
		return re*re + im*im
	}
	var sum float64
	var frames int
	for off := 0; off+n <= min(len(ref), len(got)); off += n {
		var e float64
		for _, v := range ref[off : off+n] {
			e += float64(v) * float64(v)
		}
		if e/n < 32768*32768*math.Pow(10, -4.5) {
			continue
		}
		var d float64
		for k := 0; k <= n/2; k++ {
			dk := 10*math.Log10(power(ref[off:off+n], k)+1e3) - 10*math.Log10(power(got[off:off+n], k)+1e3)
			d += dk * dk
		}
		sum += math.Sqrt(d / (n/2 + 1))
		frames++
	}
	return sum / float64(frames)
}

// TestSpeechComplexityQuality checks that speech encoded at
// SpeechComplexity decodes about as close to the input as at complexity 9
// (libopus's default), on four voices at 16 kHz.
func TestSpeechComplexityQuality(t *testing.T) {
	const rate = 16000
	decoded := func(src []int16, complexity int) []int16 {
		enc := mustEncoder(t, rate, 1, WithComplexity(complexity))
		dec := mustDecoder(t, rate, 1)
		var out []int16
		for _, fr := range frames(src, enc.Format()) {
			pkt, err := enc.Encode(fr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if out, err = dec.Decode(pkt, out); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	for _, clip := range []string{"agent_reply_slt.wav", "order_rms.wav", "shipping_awb.wav", "return_kal16.wav"} {
		t.Run(clip, func(t *testing.T) {
			src := clipAt(t, clip, rate)
			dist := map[int]float64{}
			for _, c := range []int{SpeechComplexity, DefaultComplexity, 9} {
				out := decoded(src, c)
				_, lag := bestCorrelation(src, out, rate/100)
				dist[c] = logSpectralDistance(src[:len(out)-lag], out[lag:])
			}
			t.Logf("log-spectral distance: complexity %d %.2f dB, %d %.2f dB, 9 %.2f dB",
				SpeechComplexity, dist[SpeechComplexity], DefaultComplexity, dist[DefaultComplexity], dist[9])
			if d := dist[SpeechComplexity] - dist[9]; d > 0.3 {
				t.Errorf("complexity %d is %.2f dB further from the input than complexity 9, want <= 0.3", SpeechComplexity, d)
			}
		})
	}
}

// TestEncoderReset checks that a reset encoder, with its settings kept,
// encodes as a new one does: byte for byte, after other audio.
func TestEncoderReset(t *testing.T) {
	opts := []EncoderOption{WithComplexity(SpeechComplexity), WithBitrate(12000)}
	used := mustEncoder(t, 16000, 1, opts...)
	frs := frames(speech(t, 16000), used.Format())
	for _, fr := range frs[:len(frs)/2] {
		if _, err := used.Encode(fr, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := used.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	fresh := mustEncoder(t, 16000, 1, opts...)
	for i, fr := range frs[len(frs)/2:] {
		want, err := fresh.Encode(fr, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := used.Encode(fr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d after Reset differs from a new encoder's (%d vs %d bytes)", i, len(got), len(want))
		}
	}
}
