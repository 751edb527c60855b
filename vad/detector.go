package vad

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
)

// Default detector parameters, chosen for unseen voices, languages and noise:
// a start needs 64 ms of speech (two Silero windows), an utterance ends
// after 300 ms of silence, and 300 ms of audio before the start reach the
// recogniser. The thresholds are Silero's own recommendation (0.5, with a
// 0.15 hysteresis).
const (
	DefaultActivation   float32 = 0.5
	DefaultDeactivation float32 = 0.35
	DefaultMinSpeech            = 64 * time.Millisecond
	DefaultMinSilence           = 300 * time.Millisecond
	DefaultPreRoll              = 300 * time.Millisecond
)

// The tail rule. A model with temporal context keeps scoring the dying tail
// of a sound that has stopped (a knock, a click, a slammed door) as speech
// for a window or two after the sound itself, so a tail can neither start
// nor confirm speech. A window is a tail when it lies more than tailDrop dB
// below the loudest window of the last tailSpan, or more than tailFade dB
// below it and back within floorRise dB of the background floor (the
// quietest window of the last floorSpan). Speech onsets rise or hold; the
// closures inside words (the /t/ of "stop") stay above the floor.
const (
	tailDrop  = 20 // dB
	tailFade  = 12 // dB
	floorRise = 6  // dB
	tailSpan  = 128 * time.Millisecond
	floorSpan = 2 * time.Second
)

// ErrProbability reports a model that returned a probability outside [0, 1].
var ErrProbability = errors.New("vad: model returned an invalid probability")

// FrameError reports a frame whose format does not match the model.
type FrameError struct {
	Got  pcm.Format // the frame's format
	Want pcm.Format // what the detector needs
	Err  error      // ErrRate or pcm.ErrFormat
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("%v: got %v, want %v", e.Err, e.Got, e.Want)
}

// Unwrap returns the sentinel error.
func (e *FrameError) Unwrap() error { return e.Err }

// DefaultParams returns the parameters a Detector uses for zero fields.
func DefaultParams() Params {
	return Params{
		Activation:   DefaultActivation,
		Deactivation: DefaultDeactivation,
		MinSpeech:    DefaultMinSpeech,
		MinSilence:   DefaultMinSilence,
		PreRoll:      DefaultPreRoll,
	}
}

// withDefaults fills zero fields and validates the result.
func (p Params) withDefaults() (Params, error) {
	d := DefaultParams()
	if p.Activation == 0 {
		p.Activation = d.Activation
	}
	if p.Deactivation == 0 {
		p.Deactivation = min(d.Deactivation, p.Activation)
	}
	if p.MinSpeech == 0 {
		p.MinSpeech = d.MinSpeech
	}
	if p.MinSilence == 0 {
		p.MinSilence = d.MinSilence
	}
	if p.PreRoll == 0 {
		p.PreRoll = d.PreRoll
	}
	switch {
	case !(p.Activation > 0 && p.Activation <= 1):
		return p, fmt.Errorf("%w: activation %v outside (0, 1]", ErrParams, p.Activation)
	case !(p.Deactivation > 0 && p.Deactivation <= p.Activation):
		return p, fmt.Errorf("%w: deactivation %v outside (0, activation %v]", ErrParams, p.Deactivation, p.Activation)
	case p.MinSpeech < 0 || p.MinSilence < 0 || p.PreRoll < 0:
		return p, fmt.Errorf("%w: negative duration in %+v", ErrParams, p)
	case p.MinSpeech > time.Minute || p.MinSilence > time.Hour || p.PreRoll > time.Minute:
		return p, fmt.Errorf("%w: duration too long in %+v", ErrParams, p)
	}
	return p, nil
}

// state of the detector's state machine.
type state int

const (
	stateSilence state = iota // no speech
	statePending              // above activation, not yet confirmed
	stateSpeech               // confirmed speech (possibly in a pause)
)

// Detector runs the speech state machine over one stream. It is not safe for
// concurrent use.
type Detector struct {
	model  Model
	params Params
	window int

	minSpeech  int64 // in samples
	minSilence int64
	preRoll    int64

	pending []int16   // samples of the next, incomplete window
	win     []float32 // the window handed to the model
	history []int16   // recent samples, for pre-roll
	histPos int64     // stream position of history[0]

	pos      int64 // samples scored so far (a multiple of window)
	state    state
	start    int64 // start of the current (pending or confirmed) speech
	silStart int64 // start of the current pause in speech, or -1
	prob     float32

	levels  []float64 // levels of the last windows in dB, a ring (the tail rule)
	nextLvl int       // next slot of levels
	nLvl    int       // levels filled
	span    int       // windows in tailSpan
}

// NewDetector returns a detector driving m with p; zero fields of p take the
// defaults (see DefaultParams).
func NewDetector(m Model, p Params) (*Detector, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrParams)
	}
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	rate, w := m.Rate(), m.WindowSize()
	if rate <= 0 {
		return nil, fmt.Errorf("%w: model rate %d", ErrRate, rate)
	}
	if w <= 0 || w > rate {
		return nil, fmt.Errorf("%w: model window %d at %d Hz", ErrWindowSize, w, rate)
	}
	f := pcm.Format{Rate: rate, Channels: 1}
	d := &Detector{
		model:      m,
		params:     p,
		window:     w,
		minSpeech:  int64(f.SamplesPerChannel(p.MinSpeech)),
		minSilence: int64(f.SamplesPerChannel(p.MinSilence)),
		preRoll:    int64(f.SamplesPerChannel(p.PreRoll)),
		pending:    make([]int16, 0, w),
		win:        make([]float32, w),
		silStart:   -1,
		levels:     make([]float64, max(1, (f.SamplesPerChannel(floorSpan)+w-1)/w)),
		span:       max(1, (f.SamplesPerChannel(tailSpan)+w-1)/w),
	}
	// The history covers the pre-roll plus the longest possible confirmation.
	d.history = make([]int16, 0, 2*(int(d.preRoll+d.minSpeech)+2*w))
	return d, nil
}

// Params returns the effective parameters (defaults filled in).
func (d *Detector) Params() Params { return d.params }

// Rate returns the sample rate Write expects.
func (d *Detector) Rate() int { return d.model.Rate() }

// Speaking reports whether the detector is inside confirmed speech.
func (d *Detector) Speaking() bool { return d.state == stateSpeech }

// Probability returns the model's score for the latest complete window.
func (d *Detector) Probability() float32 { return d.prob }

// Position returns how many samples have been written since the start or the
// last Reset.
func (d *Detector) Position() int64 { return d.pos + int64(len(d.pending)) }

// Reset forgets the stream: positions restart at zero and the model's state
// is cleared.
func (d *Detector) Reset() {
	d.model.Reset()
	d.pending = d.pending[:0]
	d.history = d.history[:0]
	d.histPos = 0
	d.pos = 0
	d.state = stateSilence
	d.start = 0
	d.silStart = -1
	d.prob = 0
	d.clearLevels()
}

// clearLevels forgets the recent window levels.
func (d *Detector) clearLevels() { d.nextLvl, d.nLvl = 0, 0 }

// silentDB is the level of a window of digital silence.
const silentDB = -120

// tail records the level of window w and reports whether it is the tail of
// a sound that has stopped (see tailDrop).
func (d *Detector) tail(w []float32) bool {
	var sum float64
	for _, v := range w {
		sum += float64(v) * float64(v)
	}
	level := float64(silentDB)
	if sum > 0 {
		level = max(silentDB, 10*math.Log10(sum/float64(len(w))))
	}
	n := len(d.levels)
	d.levels[d.nextLvl] = level
	d.nextLvl = (d.nextLvl + 1) % n
	d.nLvl = min(d.nLvl+1, n)
	peak, floor := level, level
	for i := 1; i < d.nLvl; i++ {
		l := d.levels[(d.nextLvl-1-i+n)%n]
		if i < d.span {
			peak = max(peak, l)
		}
		floor = min(floor, l)
	}
	return level < peak-tailDrop || (level < peak-tailFade && level < floor+floorRise)
}

// WriteFrame checks that fr is mono at the model's rate and writes its
// samples; a mismatch returns a *FrameError.
func (d *Detector) WriteFrame(fr pcm.Frame) ([]Event, error) {
	want := pcm.Format{Rate: d.model.Rate(), Channels: 1}
	if fr.Format != want {
		err := pcm.ErrFormat
		if fr.Format.Rate != want.Rate {
			err = ErrRate
		}
		return nil, &FrameError{Got: fr.Format, Want: want, Err: err}
	}
	return d.Write(fr.Samples)
}

// Write feeds mono samples at the model's rate, of any length; samples that
// do not fill a window wait for the next call. It returns the events
// confirmed by the complete windows, in order (nil when there are none).
// If the model fails on a window (or returns a probability outside [0, 1]),
// Write returns the events so far and the error; that window and the rest
// of samples are dropped and not counted in positions.
func (d *Detector) Write(samples []int16) ([]Event, error) {
	var events []Event
	for len(samples) > 0 {
		n := min(d.window-len(d.pending), len(samples))
		d.pending = append(d.pending, samples[:n]...)
		samples = samples[n:]
		if len(d.pending) < d.window {
			break
		}
		var err error
		events, err = d.score(d.pending, events)
		d.pending = d.pending[:0]
		if err != nil {
			return events, err
		}
	}
	return events, nil
}

// score runs the model over one full window, steps the state machine and
// appends the events it completes to events.
func (d *Detector) score(w []int16, events []Event) ([]Event, error) {
	for i, s := range w {
		d.win[i] = float32(s) / 32768
	}
	p, err := d.model.Probability(d.win)
	if err != nil {
		return events, err
	}
	if !(p >= 0 && p <= 1) || math.IsNaN(float64(p)) {
		return events, fmt.Errorf("%w: %v", ErrProbability, p)
	}
	d.remember(w)
	d.prob = p
	tail := d.tail(d.win)
	begin := d.pos
	d.pos += int64(len(w))
	end := d.pos

	switch d.state {
	case stateSilence, statePending:
		// Every window of a start is at or above the activation
		// threshold and none is the tail of a sound that has stopped.
		if p < d.params.Activation || tail {
			if d.state == statePending && d.params.Tentative {
				events = append(events, Event{Type: SpeechDropped, Start: d.start, At: end})
			}
			d.state = stateSilence
			return events, nil
		}
		if d.state == stateSilence {
			d.start, d.state = begin, statePending
			if d.params.Tentative {
				events = append(events, Event{Type: SpeechPending, Start: begin, At: end})
			}
		}
		return d.confirm(end, events), nil
	default: // stateSpeech
		if p >= d.params.Deactivation {
			d.silStart = -1
			return events, nil
		}
		if d.silStart < 0 {
			d.silStart = begin
		}
		if end-d.silStart < d.minSilence {
			return events, nil
		}
		events = append(events, Event{Type: SpeechEnd, Start: d.start, End: d.silStart, At: end})
		d.state = stateSilence
		d.silStart = -1
		return events, nil
	}
}

// confirm turns pending speech into a SpeechStart once it is long enough.
func (d *Detector) confirm(end int64, events []Event) []Event {
	if end-d.start < d.minSpeech {
		return events
	}
	d.state = stateSpeech
	d.silStart = -1
	from := max(d.start-d.preRoll, d.histPos)
	audio := make([]int16, end-from)
	copy(audio, d.history[from-d.histPos:])
	return append(events, Event{Type: SpeechStart, Start: d.start, At: end, Audio: audio})
}

// remember appends a scored window to the pre-roll history, dropping the
// oldest samples when the buffer is full (amortised: one copy per half
// buffer).
func (d *Detector) remember(w []int16) {
	if len(d.history)+len(w) > cap(d.history) {
		keep := cap(d.history) / 2
		drop := len(d.history) - keep
		if drop > 0 {
			copy(d.history, d.history[drop:])
			d.history = d.history[:keep]
			d.histPos += int64(drop)
		}
	}
	d.history = append(d.history, w...)
}
