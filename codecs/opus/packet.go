package opus

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Errors returned by this package; returned errors wrap one of them (or
// pcm.ErrFormat) with detail.
var (
	// ErrEmpty reports a packet of zero bytes (RTP padding, a DTX gap).
	ErrEmpty = errors.New("opus: empty packet")
	// ErrCorrupt reports a packet that is not valid Opus.
	ErrCorrupt = errors.New("opus: corrupt packet")
	// ErrFrameSize reports PCM input that is not one Opus frame
	// (2.5, 5, 10, 20, 40 or 60 ms at the encoder's format).
	ErrFrameSize = errors.New("opus: invalid frame size")
	// ErrConfig reports an option value out of range.
	ErrConfig = errors.New("opus: invalid configuration")
	// ErrUnavailable reports a build without cgo, hence without libopus.
	ErrUnavailable = errors.New("opus: not available (built without cgo)")
)

// Rates lists the sample rates Opus encodes and decodes, in Hz.
var Rates = []int{8000, 12000, 16000, 24000, 48000}

// FrameDuration is the frame length Hark uses.
const FrameDuration = 20 * time.Millisecond

// maxPacketDuration is the longest audio one packet may carry.
const maxPacketDuration = 120 * time.Millisecond

// checkFormat reports whether Opus can work at rate and channels.
func checkFormat(rate, channels int) (pcm.Format, error) {
	f := pcm.Format{Rate: rate, Channels: channels}
	if !slices.Contains(Rates, rate) || channels < 1 || channels > 2 {
		return f, fmt.Errorf("opus: %w: %v (rates %v, 1 or 2 channels)", pcm.ErrFormat, f, Rates)
	}
	return f, nil
}

// frameDurations are the frame lengths selected by the TOC configuration
// number (RFC 6716, section 3.1), in units of 2.5 ms.
var frameDurations = [32]int{
	4, 8, 16, 24, 4, 8, 16, 24, 4, 8, 16, 24, // SILK-only NB, MB, WB: 10, 20, 40, 60 ms
	4, 8, 4, 8, // hybrid SWB, FB: 10, 20 ms
	1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 8, // CELT-only: 2.5, 5, 10, 20 ms
}

// PacketDuration returns how much audio an Opus packet carries, read from
// its table-of-contents byte (and frame count byte). It does not decode the
// packet, so a packet it accepts may still fail to decode.
func PacketDuration(packet []byte) (time.Duration, error) {
	if len(packet) == 0 {
		return 0, ErrEmpty
	}
	toc := packet[0]
	per := time.Duration(frameDurations[toc>>3]) * 2500 * time.Microsecond
	var frames int
	switch toc & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	default:
		if len(packet) < 2 {
			return 0, fmt.Errorf("%w: code 3 packet without a frame count byte", ErrCorrupt)
		}
		frames = int(packet[1] & 0x3F)
		if frames == 0 {
			return 0, fmt.Errorf("%w: code 3 packet with zero frames", ErrCorrupt)
		}
	}
	if d := time.Duration(frames) * per; d <= maxPacketDuration {
		return d, nil
	}
	return 0, fmt.Errorf("%w: %d frames of %v exceed %v", ErrCorrupt, frames, per, maxPacketDuration)
}
