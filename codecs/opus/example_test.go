//go:build cgo

package opus_test

import (
	"errors"
	"fmt"

	"github.com/harkvoice/hark/codecs/opus"
)

func Example() {
	enc, err := opus.NewEncoder(48000, 1, opus.WithBitrate(24000), opus.WithFEC(10))
	if err != nil {
		fmt.Println(err)
		return
	}
	dec, err := opus.NewDecoder(48000, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(enc, "->", dec)

	frame := make([]int16, 960) // 20 ms at 48 kHz
	packet, err := enc.Encode(frame, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := opus.PacketDuration(packet)
	out, err := dec.Decode(packet, nil)
	fmt.Println(d, len(out), err)

	// A lost packet: conceal it.
	out, err = dec.Conceal(out[:0])
	fmt.Println(len(out), err)

	// Bad input returns typed errors.
	_, err = dec.Decode(nil, nil)
	fmt.Println(errors.Is(err, opus.ErrEmpty))
	_, err = dec.Decode([]byte{0x03, 0x00}, nil)
	fmt.Println(errors.Is(err, opus.ErrCorrupt))
	// Output:
	// opus(encode 48000Hz/1ch) -> opus(decode 48000Hz/1ch)
	// 20ms 960 <nil>
	// 960 <nil>
	// true
	// true
}
