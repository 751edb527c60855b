package energy

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/harkvoice/hark/vad"
)

// ErrSample reports a NaN or infinite input sample.
var ErrSample = errors.New("energy: non-finite sample")

// Defaults.
const (
	DefaultWindow   = 20 * time.Millisecond
	DefaultMargin   = 9.0   // dB above the noise floor that reads as p = 0.5
	DefaultMinLevel = -50.0 // dBFS below which a window is silence
	DefaultMemory   = 3 * time.Second
)

const (
	slope  = 2.0  // dB per unit of logit: p goes 0.12 -> 0.88 over ±4 dB
	lowest = -100 // dBFS: digital silence
)

// Option configures a Model.
type Option func(*Model) error

// WithWindow sets the window length (default 20 ms, between 5 and 100 ms).
func WithWindow(d time.Duration) Option {
	return func(m *Model) error {
		if d < 5*time.Millisecond || d > 100*time.Millisecond {
			return fmt.Errorf("%w: energy window %v outside [5ms, 100ms]", vad.ErrParams, d)
		}
		m.window = int(int64(m.rate) * int64(d) / int64(time.Second))
		return nil
	}
}

// WithMargin sets how many dB above the noise floor a window must be to
// score 0.5 (default 9).
func WithMargin(db float64) Option {
	return func(m *Model) error {
		if !(db > 0 && db < 60) {
			return fmt.Errorf("%w: energy margin %v dB outside (0, 60)", vad.ErrParams, db)
		}
		m.margin = db
		return nil
	}
}

// WithMinLevel sets the level in dBFS below which every window is silence
// (default -50).
func WithMinLevel(dbfs float64) Option {
	return func(m *Model) error {
		if !(dbfs >= lowest && dbfs < 0) {
			return fmt.Errorf("%w: energy minimum level %v dBFS outside [-100, 0)", vad.ErrParams, dbfs)
		}
		m.minLevel = dbfs
		return nil
	}
}

// WithMemory sets how long the noise floor remembers the quietest window
// (default 3 s, between 0.5 and 30 s): the floor is the lowest window level
// over that span, so it follows louder background noise after that long and
// quieter noise at once.
func WithMemory(d time.Duration) Option {
	return func(m *Model) error {
		if d < 500*time.Millisecond || d > 30*time.Second {
			return fmt.Errorf("%w: energy memory %v outside [0.5s, 30s]", vad.ErrParams, d)
		}
		m.memory = d
		return nil
	}
}

// Model is one stream of the energy detector; it implements vad.Model and
// is not safe for concurrent use.
type Model struct {
	rate, window int
	margin       float64
	minLevel     float64
	memory       time.Duration

	levels []float32 // ring of recent window levels in dBFS
	next   int       // next slot of levels to write
	filled bool      // levels has wrapped at least once
	floor  float64
}

var _ vad.Model = (*Model)(nil)

// New returns a detector for mono audio at rate Hz (8000 to 48000).
func New(rate int, opts ...Option) (*Model, error) {
	if rate < 8000 || rate > 48000 {
		return nil, fmt.Errorf("%w: energy detector needs 8000..48000 Hz, got %d", vad.ErrRate, rate)
	}
	m := &Model{rate: rate, margin: DefaultMargin, minLevel: DefaultMinLevel, memory: DefaultMemory}
	m.window = int(int64(rate) * int64(DefaultWindow) / int64(time.Second))
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	windows := int64(m.memory) * int64(m.rate) / int64(time.Second) / int64(m.window)
	m.levels = make([]float32, max(windows, 1))
	return m, nil
}

// Rate returns the sample rate.
func (m *Model) Rate() int { return m.rate }

// String names the model and its rate, as in "energy(16000Hz)".
func (m *Model) String() string { return fmt.Sprintf("energy(%dHz)", m.rate) }

// WindowSize returns the samples per window.
func (m *Model) WindowSize() int { return m.window }

// NoiseFloor returns the current noise floor estimate in dBFS.
func (m *Model) NoiseFloor() float64 { return m.floor }

// Reset forgets the noise floor.
func (m *Model) Reset() { m.next, m.filled, m.floor = 0, false, 0 }

// Probability scores one window of samples in [-1, 1) and updates the noise
// floor. A window of the wrong length returns an error wrapping
// vad.ErrWindowSize, and one with NaN or infinite samples ErrSample.
func (m *Model) Probability(window []float32) (float32, error) {
	if len(window) != m.window {
		return 0, fmt.Errorf("%w: energy detector takes %d samples, got %d", vad.ErrWindowSize, m.window, len(window))
	}
	var sum float64
	for i, v := range window {
		if v-v != 0 {
			return 0, fmt.Errorf("%w: sample %d is %v", ErrSample, i, v)
		}
		sum += float64(v) * float64(v)
	}
	level := max(10*math.Log10(sum/float64(len(window))+1e-12), lowest)
	m.levels[m.next] = float32(level)
	m.next++
	if m.next == len(m.levels) {
		m.next, m.filled = 0, true
	}
	recent := m.levels[:m.next]
	if m.filled {
		recent = m.levels
	}
	floor := recent[0]
	for _, l := range recent[1:] {
		floor = min(floor, l)
	}
	m.floor = float64(floor)
	if level < m.minLevel {
		return 0, nil
	}
	return float32(1 / (1 + math.Exp(-(level-m.floor-m.margin)/slope))), nil
}
