package g711_test

import (
	"fmt"

	"github.com/harkvoice/hark/codecs/g711"
)

func Example() {
	samples := []int16{0, 1000, -1000, 32767}
	ulaw := g711.EncodeUlaw(nil, samples)
	fmt.Printf("% x\n", ulaw)
	fmt.Println(g711.DecodeUlaw(nil, ulaw))

	alaw := g711.EncodeAlaw(nil, samples)
	fmt.Printf("% x\n", alaw)
	fmt.Println(g711.DecodeAlaw(nil, alaw))
	// Output:
	// ff ce 4e 80
	// [0 988 -988 32124]
	// d5 fa 7a aa
	// [8 1008 -1008 32256]
}
