package g711

import "math/bits"

// Code bytes for silence (a decoded zero).
const (
	UlawSilence byte = 0xFF
	AlawSilence byte = 0xD5
)

// ulawTable and alawTable map each code to its 16-bit value.
var (
	ulawTable = decodeTable(ulawValue)
	alawTable = decodeTable(alawValue)
)

func decodeTable(value func(byte) int16) (t [256]int16) {
	for c := range t {
		t[c] = value(byte(c))
	}
	return t
}

// ulawValue decodes one μ-law code. Codes are stored inverted; the low
// nibble is the step within the segment, bits 4..6 the segment, bit 7 the
// sign (set for positive values).
func ulawValue(code byte) int16 {
	c := ^code
	seg := (c >> 4) & 7
	// In 14-bit units the segment starts at (33 << seg) - 33 and its steps
	// are 2 << seg wide; the value is the middle of the step.
	mag := ((int32(c&0x0F)<<1 + 33) << seg) - 33
	mag <<= 2
	if c&0x80 != 0 {
		return int16(-mag)
	}
	return int16(mag)
}

// alawValue decodes one A-law code. Codes are stored with the even bits
// inverted (XOR 0x55); bit 7 is the sign (set for positive values).
func alawValue(code byte) int16 {
	c := code ^ 0x55
	seg := (c >> 4) & 7
	q := int32(c & 0x0F)
	// In 13-bit units segments 0 and 1 have steps of 2, segment s > 1
	// steps of 2^s starting at 2^(s+4); the value is the middle of the step.
	var mag int32
	if seg == 0 {
		mag = q<<1 + 1
	} else {
		mag = (q<<1 + 33) << (seg - 1)
	}
	mag <<= 3
	if c&0x80 != 0 {
		return int16(mag)
	}
	return int16(-mag)
}

// EncodeUlaw appends the μ-law code of each sample in src to dst.
func EncodeUlaw(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, ulawCode(s))
	}
	return dst
}

// DecodeUlaw appends the 16-bit value of each μ-law code in src to dst.
func DecodeUlaw(dst []int16, src []byte) []int16 {
	for _, c := range src {
		dst = append(dst, ulawTable[c])
	}
	return dst
}

// EncodeAlaw appends the A-law code of each sample in src to dst.
func EncodeAlaw(dst []byte, src []int16) []byte {
	for _, s := range src {
		dst = append(dst, alawCode(s))
	}
	return dst
}

// DecodeAlaw appends the 16-bit value of each A-law code in src to dst.
func DecodeAlaw(dst []int16, src []byte) []int16 {
	for _, c := range src {
		dst = append(dst, alawTable[c])
	}
	return dst
}

// ulawCode encodes one sample.
func ulawCode(s int16) byte {
	v := min((int32(s)+2)>>2, 8191) // round to 14 bits
	inv := byte(0xFF)               // positive codes have the sign bit set once inverted
	if v < 0 {
		v, inv = -v, 0x7F
	}
	// Bias by 33 so that segment s spans [2^(s+5), 2^(s+6)).
	v = min(v, 8158) + 33
	seg := bits.Len32(uint32(v)) - 6
	step := (v >> (seg + 1)) & 0x0F
	return byte(seg<<4|int(step)) ^ inv
}

// alawCode encodes one sample.
func alawCode(s int16) byte {
	v := min((int32(s)+4)>>3, 4095) // round to 13 bits
	inv := byte(0xD5)
	if v < 0 {
		v, inv = -v-1, 0x55
	}
	// Segment 0 covers [0, 32), segment s > 0 covers [2^(s+4), 2^(s+5)).
	seg := max(bits.Len32(uint32(v))-5, 0)
	shift := max(seg, 1)
	step := (v >> shift) & 0x0F
	return byte(seg<<4|int(step)) ^ inv
}
