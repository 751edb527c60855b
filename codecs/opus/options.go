package opus

import "fmt"

// Application tunes the encoder for a kind of signal.
type Application int

// Applications, as defined by libopus.
const (
	// AppVoIP favours speech intelligibility (the default).
	AppVoIP Application = iota
	// AppAudio favours fidelity for music and mixed content.
	AppAudio
	// AppLowDelay disables the speech modes to save 2.5 ms of delay.
	AppLowDelay
)

// encoderConfig collects the encoder settings; zero values mean "libopus
// default" except where defaults are applied.
type encoderConfig struct {
	app        Application
	complexity int
	bitrate    int // bits per second; 0 lets libopus choose
	fec        bool
	lossPerc   int
	dtx        bool
}

// EncoderOption configures an Encoder.
type EncoderOption func(*encoderConfig) error

// DefaultComplexity is the encoder complexity unless WithComplexity says
// otherwise: about half the CPU of libopus's default (9) for speech that is
// hard to tell apart.
const DefaultComplexity = 5

// SpeechComplexity is the complexity for speech at 16 kHz, such as a voice
// agent's synthesised replies: measured on four voices, its decoded
// speech's log-spectral distance is within a few tenths of a dB of
// complexity 9's (as DefaultComplexity's is), for about two thirds of
// DefaultComplexity's CPU. At 48 kHz it saves little.
const SpeechComplexity = 2

// WithApplication selects the libopus application mode.
func WithApplication(app Application) EncoderOption {
	return func(c *encoderConfig) error {
		if app < AppVoIP || app > AppLowDelay {
			return fmt.Errorf("%w: application %d", ErrConfig, app)
		}
		c.app = app
		return nil
	}
}

// WithComplexity sets the encoder's computational complexity, 0 (cheapest)
// to 10 (best quality).
func WithComplexity(n int) EncoderOption {
	return func(c *encoderConfig) error {
		if n < 0 || n > 10 {
			return fmt.Errorf("%w: complexity %d, want 0..10", ErrConfig, n)
		}
		c.complexity = n
		return nil
	}
}

// WithBitrate sets the target bitrate in bits per second (6000..510000).
func WithBitrate(bps int) EncoderOption {
	return func(c *encoderConfig) error {
		if bps < 6000 || bps > 510000 {
			return fmt.Errorf("%w: bitrate %d bit/s, want 6000..510000", ErrConfig, bps)
		}
		c.bitrate = bps
		return nil
	}
}

// WithFEC turns on in-band forward error correction, sized for the expected
// packet loss in percent (1..100). A decoder that misses a packet rebuilds it
// from the next one with DecodeFEC. FEC applies to the SILK (speech) modes.
func WithFEC(lossPercent int) EncoderOption {
	return func(c *encoderConfig) error {
		if lossPercent < 1 || lossPercent > 100 {
			return fmt.Errorf("%w: expected loss %d%%, want 1..100", ErrConfig, lossPercent)
		}
		c.fec, c.lossPerc = true, lossPercent
		return nil
	}
}

// WithDTX turns on discontinuous transmission: during silence Encode returns
// packets of at most 2 bytes, which need not be sent (the decoder conceals
// the gap with comfort noise).
func WithDTX() EncoderOption {
	return func(c *encoderConfig) error {
		c.dtx = true
		return nil
	}
}
