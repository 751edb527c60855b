//go:build ignore

// Command gen writes the golden G.711 tables in this directory using sox
// (https://sox.sourceforge.net) as an independent reference implementation:
//
//	cd codecs/g711/testdata && go run gen.go
//
// For each law it encodes all 65536 16-bit inputs (without dither) and
// decodes all 256 codes. Encoding tables are stored as runs: one line per
// change of code, "first-input code".
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
)

func sox(in []byte, from, to []string) []byte {
	args := append(append([]string{"-D", "-t", "raw", "-r", "8000", "-c", "1"}, from...), "-")
	args = append(append(append(args, "-t", "raw"), to...), "-")
	cmd := exec.Command("sox", args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		log.Fatalf("sox %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func main() {
	linear := make([]byte, 0, 2*65536)
	for v := -32768; v < 32768; v++ {
		linear = binary.LittleEndian.AppendUint16(linear, uint16(int16(v)))
	}
	codes := make([]byte, 256)
	for i := range codes {
		codes[i] = byte(i)
	}
	pcm16 := []string{"-e", "signed", "-b", "16", "-L"}
	for _, law := range []string{"u", "a"} {
		enc := []string{"-e", law + "-law", "-b", "8"}
		encoded := sox(linear, pcm16, enc)
		if len(encoded) != 65536 {
			log.Fatalf("%s-law: %d codes from sox, want 65536", law, len(encoded))
		}
		var runs strings.Builder
		fmt.Fprintf(&runs, "# %s-law encoding by sox: first 16-bit input of each run, code (hex)\n", law)
		for i, c := range encoded {
			if i == 0 || encoded[i-1] != c {
				fmt.Fprintf(&runs, "%d %02x\n", i-32768, c)
			}
		}
		write(law+"law_encode.txt", runs.String())

		decoded := sox(codes, enc, pcm16)
		if len(decoded) != 512 {
			log.Fatalf("%s-law: %d bytes decoded by sox, want 512", law, len(decoded))
		}
		var dec strings.Builder
		fmt.Fprintf(&dec, "# %s-law decoding by sox: 16-bit value of codes 0x00..0xff\n", law)
		for i := range 256 {
			fmt.Fprintf(&dec, "%d\n", int16(binary.LittleEndian.Uint16(decoded[2*i:])))
		}
		write(law+"law_decode.txt", dec.String())
	}
}

func write(name, s string) {
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", name)
}
