package opus

import (
	"errors"
	"testing"
)

func TestPacketDurationErrors(t *testing.T) {
	tests := []struct {
		packet []byte
		want   error
	}{
		{nil, ErrEmpty},
		{[]byte{0x03}, ErrCorrupt},
		{[]byte{0x03, 0x40}, ErrCorrupt}, // count bits zero (0x40 is the padding flag)
		{[]byte{0x1b, 3}, ErrCorrupt},    // 3 x 60 ms
	}
	for _, tt := range tests {
		if _, err := PacketDuration(tt.packet); !errors.Is(err, tt.want) {
			t.Errorf("PacketDuration(% x) error = %v, want %v", tt.packet, err, tt.want)
		}
	}
}
