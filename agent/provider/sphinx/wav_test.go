package sphinx_test

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/harkvoice/hark/codecs/pcm"
)

// readWAV reads a 16-bit PCM WAV file of the shared test clips.
func readWAV(t testing.TB, path string) pcm.Frame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fr pcm.Frame
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(len(b), off+8+size)]
		switch id {
		case "fmt ":
			fr.Format = pcm.Format{Channels: int(binary.LittleEndian.Uint16(body[2:])), Rate: int(binary.LittleEndian.Uint32(body[4:]))}
		case "data":
			for i := 0; i+1 < len(body); i += 2 {
				fr.Samples = append(fr.Samples, int16(binary.LittleEndian.Uint16(body[i:])))
			}
		}
		off += 8 + size + size%2
	}
	if fr.Format.Rate == 0 || len(fr.Samples) == 0 {
		t.Fatalf("%s: not a PCM WAV file", path)
	}
	return fr
}
