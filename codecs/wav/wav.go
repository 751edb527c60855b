package wav

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Errors returned by Read; the returned error wraps one of them with detail.
var (
	// ErrMalformed reports bytes that are not a well-formed WAV file:
	// a missing or truncated header, chunk or sample block.
	ErrMalformed = errors.New("wav: malformed file")
	// ErrUnsupported reports a well-formed WAV file in an encoding this
	// package does not handle (not 16-bit integer PCM, more than two
	// channels, RIFX/RF64 containers, files over 4 GiB).
	ErrUnsupported = errors.New("wav: unsupported encoding")
)

const (
	tagPCM        = 0x0001
	tagExtensible = 0xFFFE

	// maxFmtSize bounds the fmt chunk; real ones are 16, 18 or 40 bytes.
	maxFmtSize = 1 << 10
	// streamingSize is the data size that streaming writers put in the
	// header when they do not know the length: read until the end.
	streamingSize = math.MaxUint32
)

// pcmSubFormat is bytes 2..15 of KSDATAFORMAT_SUBTYPE_PCM; bytes 0..1 hold
// the format code (1) in little-endian order.
var pcmSubFormat = []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// readFull reads len(buf) bytes; running out of input is a malformed file,
// any other failure is the reader's own error.
func readFull(r io.Reader, buf []byte, what string) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return malformed("truncated %s", what)
		}
		return fmt.Errorf("wav: reading %s: %w", what, err)
	}
	return nil
}

// Read decodes a whole WAV stream into one frame (Timestamp 0). Chunks after
// the data chunk are not read.
func Read(r io.Reader) (pcm.Frame, error) {
	var hdr [12]byte
	if err := readFull(r, hdr[:], "RIFF header"); err != nil {
		return pcm.Frame{}, err
	}
	switch string(hdr[0:4]) {
	case "RIFF":
	case "RIFX", "RF64", "BW64":
		return pcm.Frame{}, unsupported("%q container", hdr[0:4])
	default:
		return pcm.Frame{}, malformed("no RIFF header (starts with %q)", hdr[0:4])
	}
	if string(hdr[8:12]) != "WAVE" {
		return pcm.Frame{}, malformed("RIFF form %q, want \"WAVE\"", hdr[8:12])
	}

	var (
		format  pcm.Format
		haveFmt bool
		chunk   [8]byte
	)
	for {
		if err := readFull(r, chunk[:], "chunk header (no data chunk)"); err != nil {
			return pcm.Frame{}, err
		}
		id := string(chunk[0:4])
		size := binary.LittleEndian.Uint32(chunk[4:8])
		switch id {
		case "fmt ":
			if haveFmt {
				return pcm.Frame{}, malformed("second fmt chunk")
			}
			f, err := readFmt(r, size)
			if err != nil {
				return pcm.Frame{}, err
			}
			format, haveFmt = f, true
		case "data":
			if !haveFmt {
				return pcm.Frame{}, malformed("data chunk before fmt chunk")
			}
			samples, err := readData(r, size, format.Channels)
			if err != nil {
				return pcm.Frame{}, err
			}
			return pcm.Frame{Samples: samples, Format: format}, nil
		default:
			skip := int64(size) + int64(size&1)
			n, err := io.CopyN(io.Discard, r, skip)
			if err != nil && !errors.Is(err, io.EOF) {
				return pcm.Frame{}, fmt.Errorf("wav: skipping %q chunk: %w", id, err)
			}
			if n < int64(size) {
				return pcm.Frame{}, malformed("truncated %q chunk: %d of %d bytes", id, n, size)
			}
		}
	}
}

func readFmt(r io.Reader, size uint32) (pcm.Format, error) {
	if size < 16 {
		return pcm.Format{}, malformed("fmt chunk of %d bytes, want at least 16", size)
	}
	if size > maxFmtSize {
		return pcm.Format{}, malformed("fmt chunk of %d bytes", size)
	}
	buf := make([]byte, size+size&1)
	if err := readFull(r, buf[:size], "fmt chunk"); err != nil {
		return pcm.Format{}, err
	}
	if size&1 == 1 {
		// The pad byte may be missing only if nothing follows, and then
		// the missing data chunk is reported instead.
		_, _ = io.ReadFull(r, buf[size:])
	}
	le := binary.LittleEndian
	tag := le.Uint16(buf[0:2])
	channels := int(le.Uint16(buf[2:4]))
	rate := le.Uint32(buf[4:8])
	blockAlign := int(le.Uint16(buf[12:14]))
	bits := int(le.Uint16(buf[14:16]))

	if tag == tagExtensible {
		if size < 40 {
			return pcm.Format{}, malformed("WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", size)
		}
		if cb := le.Uint16(buf[16:18]); cb < 22 {
			return pcm.Format{}, malformed("WAVE_FORMAT_EXTENSIBLE extension of %d bytes, want 22", cb)
		}
		valid := int(le.Uint16(buf[18:20]))
		sub := buf[24:40]
		if !bytes.Equal(sub[2:], pcmSubFormat) {
			return pcm.Format{}, unsupported("WAVE_FORMAT_EXTENSIBLE sub-format % x", sub)
		}
		tag = le.Uint16(sub[0:2])
		if valid > bits {
			return pcm.Format{}, malformed("%d valid bits in %d-bit samples", valid, bits)
		}
	}
	switch {
	case tag != tagPCM:
		return pcm.Format{}, unsupported("format tag %#04x, want 1 (PCM)", tag)
	case channels == 0:
		return pcm.Format{}, malformed("zero channels")
	case rate == 0:
		return pcm.Format{}, malformed("zero sample rate")
	case bits != 16:
		return pcm.Format{}, unsupported("%d-bit samples, want 16", bits)
	case channels > 2:
		return pcm.Format{}, unsupported("%d channels, want 1 or 2", channels)
	case blockAlign != 2*channels:
		return pcm.Format{}, malformed("block align %d for %d channels of 16 bits", blockAlign, channels)
	}
	f := pcm.Format{Rate: int(min(rate, math.MaxInt32)), Channels: channels}
	if err := f.Validate(); err != nil {
		return pcm.Format{}, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return f, nil
}

func readData(r io.Reader, size uint32, channels int) ([]int16, error) {
	var (
		raw []byte
		err error
	)
	if size == streamingSize {
		raw, err = io.ReadAll(r)
	} else {
		raw, err = io.ReadAll(io.LimitReader(r, int64(size)))
	}
	if err != nil {
		return nil, fmt.Errorf("wav: reading data chunk: %w", err)
	}
	if size != streamingSize && len(raw) < int(size) {
		return nil, malformed("truncated data chunk: %d of %d bytes", len(raw), size)
	}
	if block := 2 * channels; len(raw)%block != 0 {
		return nil, malformed("data chunk of %d bytes is not a whole number of %d-byte sample blocks", len(raw), block)
	}
	samples := make([]int16, len(raw)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return samples, nil
}

// Write encodes fr as a canonical 16-bit PCM WAV stream (a 44-byte header,
// then the samples). It fails on an invalid format, a sample count that is
// not a multiple of the channel count, or more than 4 GiB of samples.
func Write(w io.Writer, fr pcm.Frame) error {
	if err := fr.Format.Validate(); err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	if len(fr.Samples)%fr.Format.Channels != 0 {
		return fmt.Errorf("wav: %w: %d samples for %d channels", pcm.ErrFormat, len(fr.Samples), fr.Format.Channels)
	}
	dataSize := 2 * uint64(len(fr.Samples))
	if dataSize > math.MaxUint32-36 {
		return unsupported("%d bytes of samples exceed the 4 GiB RIFF limit", dataSize)
	}
	block := 2 * fr.Format.Channels
	buf := make([]byte, 44, 44+min(len(fr.Samples)*2, 1<<15))
	le := binary.LittleEndian
	copy(buf[0:], "RIFF")
	le.PutUint32(buf[4:], uint32(36+dataSize))
	copy(buf[8:], "WAVEfmt ")
	le.PutUint32(buf[16:], 16)
	le.PutUint16(buf[20:], tagPCM)
	le.PutUint16(buf[22:], uint16(fr.Format.Channels))
	le.PutUint32(buf[24:], uint32(fr.Format.Rate))
	le.PutUint32(buf[28:], uint32(fr.Format.Rate*block))
	le.PutUint16(buf[32:], uint16(block))
	le.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	le.PutUint32(buf[40:], uint32(dataSize))

	samples := fr.Samples
	for {
		n := min(len(samples), (cap(buf)-len(buf))/2)
		for _, s := range samples[:n] {
			buf = le.AppendUint16(buf, uint16(s))
		}
		samples = samples[n:]
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("wav: %w", err)
		}
		if len(samples) == 0 {
			return nil
		}
		buf = buf[:0]
	}
}

// ReadFile reads the WAV file at path.
func ReadFile(path string) (pcm.Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return pcm.Frame{}, fmt.Errorf("wav: %w", err)
	}
	defer f.Close()
	fr, err := Read(bufio.NewReader(f))
	if err != nil {
		return pcm.Frame{}, fmt.Errorf("%s: %w", path, err)
	}
	return fr, nil
}

// WriteFile writes fr to path as a WAV file, replacing any existing file.
func WriteFile(path string, fr pcm.Frame) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	bw := bufio.NewWriter(f)
	err = Write(bw, fr)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("wav: %w", cerr)
	}
	return err
}
