package g711

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// readGolden parses a testdata table: non-comment lines of space-separated
// fields, the first decimal, the others hexadecimal.
func readGolden(t *testing.T, name string) [][2]int {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][2]int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		fields := strings.Fields(line)
		var row [2]int
		for i, s := range fields {
			base := 10
			if i > 0 {
				base = 16
			}
			v, err := strconv.ParseInt(s, base, 32)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, line, err)
			}
			row[i] = int(v)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// allSamples lists every int16 in increasing order.
func allSamples() []int16 {
	s := make([]int16, 0, 65536)
	for v := math.MinInt16; v <= math.MaxInt16; v++ {
		s = append(s, int16(v))
	}
	return s
}

func TestGolden(t *testing.T) {
	laws := []struct {
		name   string
		encode func([]byte, []int16) []byte
		decode func([]int16, []byte) []int16
	}{
		{"ulaw", EncodeUlaw, DecodeUlaw},
		{"alaw", EncodeAlaw, DecodeAlaw},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			// Expand the runs into the code of every input.
			runs := readGolden(t, law.name+"_encode.txt")
			want := make([]byte, 0, 65536)
			for i, r := range runs {
				end := math.MaxInt16 + 1
				if i+1 < len(runs) {
					end = runs[i+1][0]
				}
				for range end - r[0] {
					want = append(want, byte(r[1]))
				}
			}
			if len(want) != 65536 {
				t.Fatalf("golden runs cover %d inputs", len(want))
			}
			got := law.encode(nil, allSamples())
			mismatches := 0
			for i := range want {
				if got[i] != want[i] {
					if mismatches < 5 {
						t.Errorf("encode(%d) = %#02x, want %#02x", i+math.MinInt16, got[i], want[i])
					}
					mismatches++
				}
			}
			if mismatches > 0 {
				t.Fatalf("%d of 65536 encodings differ", mismatches)
			}

			values := readGolden(t, law.name+"_decode.txt")
			codes := make([]byte, 256)
			for i := range codes {
				codes[i] = byte(i)
			}
			dec := law.decode(nil, codes)
			for c, v := range values {
				if int(dec[c]) != v[0] {
					t.Errorf("decode(%#02x) = %d, want %d", c, dec[c], v[0])
				}
			}
		})
	}
}

// TestRoundTrip checks that decoding then encoding returns every code (but
// μ-law's negative zero, 0x7F, which comes back as 0xFF) and measures the
// SNR of a tone.
func TestRoundTrip(t *testing.T) {
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	for _, c := range codes {
		if got := ulawCode(ulawTable[c]); got != c && !(c == 0x7F && got == 0xFF) {
			t.Errorf("ulaw %#02x -> %d -> %#02x", c, ulawTable[c], got)
		}
		if got := alawCode(alawTable[c]); got != c {
			t.Errorf("alaw %#02x -> %d -> %#02x", c, alawTable[c], got)
		}
	}
	if ulawTable[UlawSilence] != 0 || alawTable[AlawSilence] != 8 {
		t.Errorf("silence codes decode to %d and %d", ulawTable[UlawSilence], alawTable[AlawSilence])
	}

	tone := make([]int16, 8000)
	for i := range tone {
		tone[i] = int16(10000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	for name, rt := range map[string]func([]int16) []int16{
		"ulaw": func(s []int16) []int16 { return DecodeUlaw(nil, EncodeUlaw(nil, s)) },
		"alaw": func(s []int16) []int16 { return DecodeAlaw(nil, EncodeAlaw(nil, s)) },
	} {
		out := rt(tone)
		var sig, noise float64
		for i := range tone {
			sig += float64(tone[i]) * float64(tone[i])
			e := float64(out[i]) - float64(tone[i])
			noise += e * e
		}
		snr := 10 * math.Log10(sig/noise)
		t.Logf("%s round trip of a -10 dBFS tone: %.1f dB SNR", name, snr)
		if snr < 35 {
			t.Errorf("%s SNR %.1f dB, want >= 35", name, snr)
		}
	}
}

func TestAppend(t *testing.T) {
	dst := EncodeUlaw([]byte{1}, []int16{0, 0})
	if len(dst) != 3 || dst[0] != 1 || dst[1] != UlawSilence {
		t.Fatalf("EncodeUlaw appended %v", dst)
	}
	buf := make([]int16, 0, 160)
	in := make([]byte, 160)
	if n := testing.AllocsPerRun(10, func() { buf = DecodeAlaw(buf[:0], in) }); n != 0 {
		t.Fatalf("DecodeAlaw into a large enough dst allocates %.0f times", n)
	}
}

func benchSamples() []int16 {
	s := make([]int16, 160) // 20 ms at 8 kHz
	for i := range s {
		s[i] = int16(12000 * math.Sin(float64(i)/3))
	}
	return s
}

func BenchmarkEncodeUlaw(b *testing.B) {
	src, dst := benchSamples(), make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeUlaw(dst[:0], src)
	}
}

func BenchmarkDecodeUlaw(b *testing.B) {
	src, dst := EncodeUlaw(nil, benchSamples()), make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeUlaw(dst[:0], src)
	}
}

func BenchmarkEncodeAlaw(b *testing.B) {
	src, dst := benchSamples(), make([]byte, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = EncodeAlaw(dst[:0], src)
	}
}

func BenchmarkDecodeAlaw(b *testing.B) {
	src, dst := EncodeAlaw(nil, benchSamples()), make([]int16, 0, 160)
	b.ReportAllocs()
	for b.Loop() {
		dst = DecodeAlaw(dst[:0], src)
	}
}
