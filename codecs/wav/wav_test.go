package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
)

// chunk builds one RIFF chunk, with the pad byte after odd sizes.
func chunk(id string, body []byte) []byte {
	b := append([]byte(id), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	b = append(b, body...)
	if len(body)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// riff wraps chunks in a RIFF/WAVE header.
func riff(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(body)))
	return append(b, body...)
}

// fmtBody builds a plain fmt chunk body.
func fmtBody(tag, channels uint16, rate uint32, bits uint16) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], tag)
	le.PutUint16(b[2:], channels)
	le.PutUint32(b[4:], rate)
	le.PutUint32(b[8:], rate*uint32(channels)*uint32(bits/8))
	le.PutUint16(b[12:], channels*bits/8)
	le.PutUint16(b[14:], bits)
	return b
}

// extBody builds a WAVE_FORMAT_EXTENSIBLE fmt chunk body with sub-format code sub.
func extBody(channels uint16, rate uint32, bits, valid, sub uint16) []byte {
	b := fmtBody(tagExtensible, channels, rate, bits)
	ext := make([]byte, 24)
	le := binary.LittleEndian
	le.PutUint16(ext[0:], 22)
	le.PutUint16(ext[2:], valid)
	le.PutUint32(ext[4:], 0x4) // front centre
	le.PutUint16(ext[8:], sub)
	copy(ext[10:], pcmSubFormat)
	return append(b, ext...)
}

func dataBody(samples ...int16) []byte {
	var b []byte
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

func TestReadVariants(t *testing.T) {
	samples := []int16{0, 1, -1, 32767, -32768, 1234}
	tests := []struct {
		name string
		in   []byte
		want pcm.Frame
	}{
		{"mono", riff(chunk("fmt ", fmtBody(1, 1, 16000, 16)), chunk("data", dataBody(samples...))),
			pcm.Frame{Samples: samples, Format: pcm.Mono16k}},
		{"stereo 44.1k", riff(chunk("fmt ", fmtBody(1, 2, 44100, 16)), chunk("data", dataBody(samples...))),
			pcm.Frame{Samples: samples, Format: pcm.Format{Rate: 44100, Channels: 2}}},
		{"extensible", riff(chunk("fmt ", extBody(1, 8000, 16, 16, 1)), chunk("data", dataBody(samples...))),
			pcm.Frame{Samples: samples, Format: pcm.Mono8k}},
		{"fmt with cbSize 0 (18 bytes)", riff(chunk("fmt ", append(fmtBody(1, 1, 24000, 16), 0, 0)), chunk("data", dataBody(samples...))),
			pcm.Frame{Samples: samples, Format: pcm.Mono24k}},
		{"unknown odd chunks skipped", riff(chunk("LIST", []byte("INFOabc")), chunk("fmt ", fmtBody(1, 1, 48000, 16)),
			chunk("fact", []byte{1, 2, 3, 4, 5}), chunk("data", dataBody(samples...)), chunk("junk", []byte{9})),
			pcm.Frame{Samples: samples, Format: pcm.Mono48k}},
		{"empty data", riff(chunk("fmt ", fmtBody(1, 1, 16000, 16)), chunk("data", nil)),
			pcm.Frame{Samples: []int16{}, Format: pcm.Mono16k}},
		{"streaming size", append(riff(chunk("fmt ", fmtBody(1, 1, 16000, 16))), append([]byte("data\xff\xff\xff\xff"), dataBody(samples...)...)...),
			pcm.Frame{Samples: samples, Format: pcm.Mono16k}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(tt.in))
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got.Format != tt.want.Format || !slices.Equal(got.Samples, tt.want.Samples) || got.Timestamp != 0 {
				t.Fatalf("Read = %v %v, want %v %v", got.Format, got.Samples, tt.want.Format, tt.want.Samples)
			}
		})
	}
}

func TestReadRejects(t *testing.T) {
	good := chunk("fmt ", fmtBody(1, 1, 16000, 16))
	data := chunk("data", dataBody(1, 2, 3))
	wrongSub := extBody(1, 16000, 16, 16, 1)
	wrongSub[30] ^= 0xff
	truncated := riff(good, data)
	truncated = truncated[:len(truncated)-1]
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short header", []byte("RIFF\x00\x00"), ErrMalformed},
		{"not riff", append([]byte("OggS"), make([]byte, 40)...), ErrMalformed},
		{"not wave", append([]byte("RIFF\x04\x00\x00\x00AVI "), good...), ErrMalformed},
		{"rifx", append([]byte("RIFX\x04\x00\x00\x00WAVE"), good...), ErrUnsupported},
		{"rf64", append([]byte("RF64\xff\xff\xff\xffWAVE"), good...), ErrUnsupported},
		{"no data chunk", riff(good), ErrMalformed},
		{"data before fmt", riff(data, good), ErrMalformed},
		{"two fmt chunks", riff(good, good, data), ErrMalformed},
		{"fmt too short", riff(chunk("fmt ", fmtBody(1, 1, 16000, 16)[:14]), data), ErrMalformed},
		{"fmt huge", riff(chunk("fmt ", make([]byte, 4096)), data), ErrMalformed},
		{"float", riff(chunk("fmt ", fmtBody(3, 1, 16000, 32)), data), ErrUnsupported},
		{"mu-law tag", riff(chunk("fmt ", fmtBody(7, 1, 8000, 8)), data), ErrUnsupported},
		{"8-bit", riff(chunk("fmt ", fmtBody(1, 1, 16000, 8)), data), ErrUnsupported},
		{"24-bit", riff(chunk("fmt ", fmtBody(1, 1, 16000, 24)), data), ErrUnsupported},
		{"6 channels", riff(chunk("fmt ", fmtBody(1, 6, 16000, 16)), data), ErrUnsupported},
		{"zero channels", riff(chunk("fmt ", fmtBody(1, 0, 16000, 16)), data), ErrMalformed},
		{"zero rate", riff(chunk("fmt ", fmtBody(1, 1, 0, 16)), data), ErrMalformed},
		{"absurd rate", riff(chunk("fmt ", fmtBody(1, 1, 4000000, 16)), data), ErrUnsupported},
		{"bad block align", riff(chunk("fmt ", append(fmtBody(1, 1, 16000, 16)[:12], 4, 0, 16, 0)), data), ErrMalformed},
		{"extensible too short", riff(chunk("fmt ", extBody(1, 16000, 16, 16, 1)[:30]), data), ErrMalformed},
		{"extensible float", riff(chunk("fmt ", extBody(1, 16000, 32, 32, 3)), data), ErrUnsupported},
		{"extensible foreign guid", riff(chunk("fmt ", wrongSub), data), ErrUnsupported},
		{"extensible valid bits > bits", riff(chunk("fmt ", extBody(1, 16000, 16, 20, 1)), data), ErrMalformed},
		{"truncated data", truncated, ErrMalformed},
		{"odd data", riff(good, chunk("data", []byte{1, 2, 3})), ErrMalformed},
		{"stereo data not whole frames", riff(chunk("fmt ", fmtBody(1, 2, 16000, 16)), data), ErrMalformed},
		{"truncated unknown chunk", append(riff(good), []byte("LIST\x10\x00\x00\x00abc")...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Read error = %v, want %v", err, tt.want)
			}
			t.Log(err)
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestReadPassesReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	_, err := Read(failingReader{boom})
	if !errors.Is(err, boom) || errors.Is(err, ErrMalformed) {
		t.Fatalf("Read error = %v, want the reader's error", err)
	}
	in := riff(chunk("fmt ", fmtBody(1, 1, 16000, 16)))
	_, err = Read(io.MultiReader(bytes.NewReader(in), bytes.NewReader([]byte("data\x04\x00\x00\x00")), failingReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("Read error = %v, want the reader's error", err)
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []pcm.Frame{
		{Samples: []int16{}, Format: pcm.Mono8k},
		{Samples: []int16{-32768, 0, 32767}, Format: pcm.Mono16k},
		{Samples: []int16{1, -1, 2, -2}, Format: pcm.Format{Rate: 22050, Channels: 2}},
		{Samples: make([]int16, 40000), Format: pcm.Mono48k}, // several write blocks
	}
	for i := range tests[3].Samples {
		tests[3].Samples[i] = int16(i * 7)
	}
	for _, fr := range tests {
		var buf bytes.Buffer
		if err := Write(&buf, fr); err != nil {
			t.Fatalf("Write(%v): %v", fr.Format, err)
		}
		if want := 44 + 2*len(fr.Samples); buf.Len() != want {
			t.Fatalf("Write(%v) wrote %d bytes, want %d", fr.Format, buf.Len(), want)
		}
		got, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if got.Format != fr.Format || !slices.Equal(got.Samples, fr.Samples) {
			t.Fatalf("round trip of %v changed the frame", fr.Format)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name string
		fr   pcm.Frame
	}{
		{"zero rate", pcm.Frame{Samples: []int16{1}, Format: pcm.Format{Rate: 0, Channels: 1}}},
		{"3 channels", pcm.Frame{Samples: []int16{1, 2, 3}, Format: pcm.Format{Rate: 8000, Channels: 3}}},
		{"half a stereo frame", pcm.Frame{Samples: []int16{1, 2, 3}, Format: pcm.Format{Rate: 8000, Channels: 2}}},
	}
	for _, tt := range tests {
		if err := Write(io.Discard, tt.fr); !errors.Is(err, pcm.ErrFormat) {
			t.Errorf("%s: Write error = %v, want pcm.ErrFormat", tt.name, err)
		}
	}
}

func TestFiles(t *testing.T) {
	fr, err := ReadFile(filepath.Join("..", "..", "testdata", "speech", "stop_slt.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Format != pcm.Mono16k || fr.Duration() < 500_000_000 {
		t.Fatalf("stop_slt.wav: %v, %v", fr.Format, fr.Duration())
	}
	path := filepath.Join(t.TempDir(), "copy.wav")
	if err := WriteFile(path, fr); err != nil {
		t.Fatal(err)
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.Format != fr.Format || !slices.Equal(back.Samples, fr.Samples) {
		t.Fatal("file round trip changed the samples")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Fatal("ReadFile of a missing file succeeded")
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir.wav"), fr); err == nil {
		t.Fatal("WriteFile into a missing directory succeeded")
	}
}

func FuzzWAV(f *testing.F) {
	samples := dataBody(0, 1, -1, 32767, -32768, 300, 400, -500)
	f.Add(riff(chunk("fmt ", fmtBody(1, 1, 16000, 16)), chunk("data", samples)))
	f.Add(riff(chunk("fmt ", fmtBody(1, 2, 48000, 16)), chunk("data", samples)))
	f.Add(riff(chunk("fmt ", extBody(2, 8000, 16, 16, 1)), chunk("LIST", []byte("odd")), chunk("data", samples)))
	f.Add(riff(chunk("fmt ", fmtBody(3, 1, 16000, 32)), chunk("data", samples)))
	f.Add(append(riff(chunk("fmt ", fmtBody(1, 1, 16000, 16))), []byte("data\xff\xff\xff\xff\x01\x02")...))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEdata"))
	f.Add([]byte("garbage that is not a wav file at all"))
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := Read(bytes.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, fr); err != nil {
			t.Fatalf("Write of accepted input: %v", err)
		}
		back, err := Read(&buf)
		if err != nil {
			t.Fatalf("Read of written file: %v", err)
		}
		if back.Format != fr.Format || !slices.Equal(back.Samples, fr.Samples) {
			t.Fatal("round trip changed the frame")
		}
	})
}

// TestRepositoryClips reads every shared speech and scenario clip.
func TestRepositoryClips(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "speech", "*.wav"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "clips", "*.wav"))
	paths = append(paths, more...)
	if len(paths) < 10 {
		t.Fatalf("found only %d clips", len(paths))
	}
	for _, p := range paths {
		fr, err := ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(fr.Samples) == 0 {
			t.Errorf("%s: no samples", p)
		}
	}
}
