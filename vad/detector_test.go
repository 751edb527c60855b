package vad_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/vad"
)

// scripted is a fake Model that returns preset probabilities, one per window,
// and records the windows it saw.
type scripted struct {
	rate, window int
	probs        []float32
	calls        int
	resets       int
	firstSample  []float32
	ProbFn       func(i int) (float32, error) // optional override
}

func (m *scripted) Rate() int       { return m.rate }
func (m *scripted) WindowSize() int { return m.window }
func (m *scripted) Reset()          { m.resets++; m.calls = 0 }

func (m *scripted) Probability(w []float32) (float32, error) {
	if len(w) != m.window {
		return 0, vad.ErrWindowSize
	}
	m.firstSample = append(m.firstSample, w[0])
	i := m.calls
	m.calls++
	if m.ProbFn != nil {
		return m.ProbFn(i)
	}
	if i < len(m.probs) {
		return m.probs[i], nil
	}
	return 0, nil
}

// ramp returns n samples whose value is their stream position modulo 30000,
// so tests can check which samples an event carries.
func ramp(from, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16((from + i) % 30000)
	}
	return s
}

func TestDetectorStateMachine(t *testing.T) {
	const w = 100 // 100 samples at 1 kHz: one window is 100 ms
	ms := time.Millisecond
	params := vad.Params{Activation: 0.5, Deactivation: 0.3, MinSpeech: 200 * ms, MinSilence: 300 * ms, PreRoll: 150 * ms}
	tests := []struct {
		name   string
		probs  []float32
		params vad.Params
		want   []vad.Event // Audio checked by length only
		audio  []int       // expected len(Audio) per SpeechStart
	}{
		{
			name:  "silence",
			probs: []float32{0, 0.1, 0.2, 0.49, 0},
		},
		{
			name:  "start and end",
			probs: []float32{0, 0, 0.9, 0.8, 0.9, 0.1, 0.1, 0.1, 0},
			want: []vad.Event{
				{Type: vad.SpeechStart, Start: 200, At: 400},
				{Type: vad.SpeechEnd, Start: 200, End: 500, At: 800},
			},
			audio: []int{350}, // 150 pre-roll + 200 speech
		},
		{
			name:  "blip shorter than min speech is ignored",
			probs: []float32{0.9, 0.1, 0, 0.95, 0.2, 0},
		},
		{
			name:  "every window of a start reaches activation",
			probs: []float32{0.6, 0.4, 0.6, 0.5, 0.1},
			want:  []vad.Event{{Type: vad.SpeechStart, Start: 200, At: 400}},
			audio: []int{350},
		},
		{
			name:  "pre-roll clamped at the stream start",
			probs: []float32{0.6, 0.6, 0.1},
			want:  []vad.Event{{Type: vad.SpeechStart, Start: 0, At: 200}},
			audio: []int{200},
		},
		{
			name:  "hysteresis keeps speech between thresholds",
			probs: []float32{0.9, 0.9, 0.4, 0.35, 0.31, 0.4, 0.2, 0.2, 0.2},
			want: []vad.Event{
				{Type: vad.SpeechStart, Start: 0, At: 200},
				{Type: vad.SpeechEnd, Start: 0, End: 600, At: 900},
			},
			audio: []int{200},
		},
		{
			name:  "short pause does not end speech",
			probs: []float32{0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1},
			want: []vad.Event{
				{Type: vad.SpeechStart, Start: 0, At: 200},
				{Type: vad.SpeechEnd, Start: 0, End: 500, At: 800},
			},
			audio: []int{200},
		},
		{
			name:  "two utterances",
			probs: []float32{0.9, 0.9, 0, 0, 0, 0, 0.7, 0.7, 0.7, 0, 0, 0},
			want: []vad.Event{
				{Type: vad.SpeechStart, Start: 0, At: 200},
				{Type: vad.SpeechEnd, Start: 0, End: 200, At: 500},
				{Type: vad.SpeechStart, Start: 600, At: 800},
				{Type: vad.SpeechEnd, Start: 600, End: 900, At: 1200},
			},
			audio: []int{200, 350},
		},
		{
			name:   "defaults: activation 0.5 inclusive",
			params: vad.Params{MinSpeech: 100 * ms, MinSilence: 100 * ms, PreRoll: 100 * ms},
			probs:  []float32{0.49, 0.5, 0.34, 0},
			want: []vad.Event{
				{Type: vad.SpeechStart, Start: 100, At: 200},
				{Type: vad.SpeechEnd, Start: 100, End: 200, At: 300},
			},
			audio: []int{200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params
			if tt.params != (vad.Params{}) {
				p = tt.params
			}
			m := &scripted{rate: 1000, window: w, probs: tt.probs}
			d, err := vad.NewDetector(m, p)
			if err != nil {
				t.Fatal(err)
			}
			var got []vad.Event
			// Feed in odd-sized chunks to exercise buffering.
			all := ramp(0, len(tt.probs)*w)
			for i := 0; i < len(all); i += 37 {
				ev, err := d.Write(all[i:min(i+37, len(all))])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events %+v, want %d", len(got), got, len(tt.want))
			}
			starts := 0
			for i, ev := range got {
				audio := ev.Audio
				if ev.Type != tt.want[i].Type || ev.Start != tt.want[i].Start || ev.End != tt.want[i].End || ev.At != tt.want[i].At {
					t.Errorf("event %d = %+v, want %+v", i, ev, tt.want[i])
				}
				if ev.Type != vad.SpeechStart {
					if audio != nil {
						t.Errorf("event %d: %v carries audio", i, ev.Type)
					}
					continue
				}
				if len(audio) != tt.audio[starts] {
					t.Errorf("event %d: %d samples of audio, want %d", i, len(audio), tt.audio[starts])
				}
				// The audio ends at At and is the stream's own samples.
				first := int(ev.At) - len(audio)
				if len(audio) > 0 && (audio[0] != int16(first) || audio[len(audio)-1] != int16(ev.At-1)) {
					t.Errorf("event %d: audio spans %d..%d, want %d..%d", i, audio[0], audio[len(audio)-1], first, ev.At-1)
				}
				starts++
			}
		})
	}
}

func TestDetectorSpeakingAndReset(t *testing.T) {
	m := &scripted{rate: 1000, window: 10, probs: []float32{0.6, 0.6, 0.6, 0.6}}
	d, err := vad.NewDetector(m, vad.Params{MinSpeech: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write(make([]int16, 15)); err != nil {
		t.Fatal(err)
	}
	if d.Speaking() || d.Position() != 15 || d.Probability() != 0.6 {
		t.Fatalf("after 15 samples: speaking %v position %d probability %v", d.Speaking(), d.Position(), d.Probability())
	}
	ev, err := d.Write(make([]int16, 5))
	if err != nil || len(ev) != 1 || !d.Speaking() {
		t.Fatalf("after 20 samples: events %+v, err %v, speaking %v", ev, err, d.Speaking())
	}
	d.Reset()
	if d.Speaking() || d.Position() != 0 || m.resets != 1 || d.Probability() != 0 {
		t.Fatalf("after Reset: speaking %v position %d resets %d", d.Speaking(), d.Position(), m.resets)
	}
	ev, err = d.Write(make([]int16, 20))
	if err != nil || len(ev) != 1 || ev[0].Start != 0 || ev[0].At != 20 {
		t.Fatalf("after Reset: events %+v, err %v", ev, err)
	}
}

func TestDetectorScalesSamples(t *testing.T) {
	m := &scripted{rate: 1000, window: 2}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write([]int16{-32768, 0, 16384, 0}); err != nil {
		t.Fatal(err)
	}
	if len(m.firstSample) != 2 || m.firstSample[0] != -1 || m.firstSample[1] != 0.5 {
		t.Fatalf("model saw %v, want [-1 0.5]", m.firstSample)
	}
}

func TestDetectorErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		prob func(int) (float32, error)
		want error
	}{
		{"model error", func(int) (float32, error) { return 0, boom }, boom},
		{"NaN", func(int) (float32, error) { return float32(math.NaN()), nil }, vad.ErrProbability},
		{"above one", func(int) (float32, error) { return 1.5, nil }, vad.ErrProbability},
		{"negative", func(int) (float32, error) { return -0.1, nil }, vad.ErrProbability},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := vad.NewDetector(&scripted{rate: 1000, window: 10, ProbFn: tt.prob}, vad.Params{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Write(make([]int16, 10)); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDetectorWriteFrame(t *testing.T) {
	d, err := vad.NewDetector(&scripted{rate: 16000, window: 512}, vad.Params{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    pcm.Format
		want error
	}{
		{"ok", pcm.Mono16k, nil},
		{"rate", pcm.Mono8k, vad.ErrRate},
		{"stereo", pcm.Format{Rate: 16000, Channels: 2}, pcm.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.WriteFrame(pcm.Frame{Samples: make([]int16, 320), Format: tt.f})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var fe *vad.FrameError
			if tt.want != nil && (!errors.As(err, &fe) || fe.Got != tt.f) {
				t.Fatalf("err = %#v, want a *FrameError", err)
			}
		})
	}
}

func TestNewDetectorParams(t *testing.T) {
	ok := &scripted{rate: 16000, window: 512}
	tests := []struct {
		name string
		m    vad.Model
		p    vad.Params
		want error
	}{
		{"defaults", ok, vad.Params{}, nil},
		{"nil model", nil, vad.Params{}, vad.ErrParams},
		{"activation above one", ok, vad.Params{Activation: 1.1}, vad.ErrParams},
		{"negative activation", ok, vad.Params{Activation: -0.1}, vad.ErrParams},
		{"deactivation above activation", ok, vad.Params{Activation: 0.5, Deactivation: 0.6}, vad.ErrParams},
		{"NaN", ok, vad.Params{Activation: float32(math.NaN())}, vad.ErrParams},
		{"negative duration", ok, vad.Params{MinSilence: -time.Millisecond}, vad.ErrParams},
		{"huge duration", ok, vad.Params{PreRoll: time.Hour}, vad.ErrParams},
		{"zero rate", &scripted{rate: 0, window: 512}, vad.Params{}, vad.ErrRate},
		{"zero window", &scripted{rate: 16000, window: 0}, vad.Params{}, vad.ErrWindowSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := vad.NewDetector(tt.m, tt.p)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	d, err := vad.NewDetector(ok, vad.Params{Activation: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if p := d.Params(); p.Deactivation != 0.2 || p.MinSilence != vad.DefaultMinSilence {
		t.Fatalf("effective params %+v: want deactivation clamped to activation and default min silence", p)
	}
	if d.Params() == vad.DefaultParams() || vad.DefaultParams().Activation != vad.DefaultActivation {
		t.Fatal("DefaultParams inconsistent")
	}
}

// The tail of a sound that has stopped cannot start or confirm speech,
// however high the model scores it.
func TestDetectorTailRule(t *testing.T) {
	const w = 32 // 32 ms windows at 1 kHz, as Silero's
	level := func(db float64) []int16 {
		s := make([]int16, w)
		a := int16(32768 * math.Pow(10, db/20))
		for i := range s {
			s[i] = a
			if i%2 == 1 {
				s[i] = -a
			}
		}
		return s
	}
	tests := []struct {
		name   string
		levels []float64 // dBFS per window
		probs  []float32
		starts []int64 // Start of each SpeechStart
	}{
		{
			name:   "knock: a burst, then its decay scored as speech",
			levels: []float64{-90, -20, -36, -52, -68, -84, -90, -90},
			probs:  []float32{0, 0.4, 0.8, 0.9, 0.8, 0.6, 0.2, 0},
		},
		{
			name:   "speech: rising and holding",
			levels: []float64{-90, -40, -30, -20, -22, -25, -90, -90},
			probs:  []float32{0, 0.6, 0.6, 0.9, 0.9, 0.9, 0.2, 0},
			starts: []int64{32},
		},
		{
			name:   "a closure inside a word pauses pending speech, the vowel confirms it",
			levels: []float64{-90, -20, -50, -24, -22, -90, -90, -90},
			probs:  []float32{0, 0.6, 0.6, 0.6, 0.6, 0.2, 0, 0},
			starts: []int64{96},
		},
		{
			name:   "a sound back at the noise floor is a tail",
			levels: []float64{-50, -50, -50, -50, -30, -40, -45, -46, -50, -50},
			probs:  []float32{0, 0, 0, 0, 0.3, 0.6, 0.9, 0.8, 0.4, 0},
		},
		{
			name:   "a drop within the limit confirms",
			levels: []float64{-90, -20, -38, -30, -90, -90, -90, -90},
			probs:  []float32{0, 0.6, 0.6, 0.1, 0, 0, 0, 0},
			starts: []int64{32},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &scripted{rate: 1000, window: w, probs: tt.probs}
			d, err := vad.NewDetector(m, vad.Params{})
			if err != nil {
				t.Fatal(err)
			}
			var starts []int64
			for _, db := range tt.levels {
				ev, err := d.Write(level(db))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ev {
					if e.Type == vad.SpeechStart {
						starts = append(starts, e.Start)
					}
				}
			}
			if !slices.Equal(starts, tt.starts) {
				t.Fatalf("speech starts at %v, want %v", starts, tt.starts)
			}
		})
	}
}

// A long stream must keep the pre-roll correct after the history buffer wraps.
func TestDetectorPreRollAfterLongStream(t *testing.T) {
	const w = 160
	probs := make([]float32, 1000)
	probs[900], probs[901] = 0.9, 0.9
	m := &scripted{rate: 16000, window: w, probs: probs}
	d, err := vad.NewDetector(m, vad.Params{MinSpeech: 20 * time.Millisecond, PreRoll: 30 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := d.Write(ramp(0, len(probs)*w))
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 2 || ev[0].Start != 900*w || ev[0].At != 902*w || ev[1].End != 902*w {
		t.Fatalf("%d events, first %v at %d", len(ev), ev[0].Type, ev[0].At)
	}
	a := ev[0].Audio
	if len(a) != 480+2*w || a[0] != int16((900*w-480)%30000) {
		t.Fatalf("pre-roll: %d samples starting at %d", len(a), a[0])
	}
}

func BenchmarkDetectorWrite(b *testing.B) {
	m := &scripted{rate: 16000, window: 512, ProbFn: func(i int) (float32, error) { return float32(i%40) / 40, nil }}
	d, err := vad.NewDetector(m, vad.Params{})
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]int16, 320)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Write(frame); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDetector feeds scripted probabilities in arbitrary chunk sizes and
// checks the invariants every consumer relies on: events alternate start,
// end; positions are ordered and window-aligned; a start's audio ends at At
// and holds at most PreRoll before Start; chunking does not change events.
func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 200, 200, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255}, uint16(37))
	f.Add([]byte{255, 100, 90, 255, 0, 255, 0, 0, 130, 120}, uint16(1))
	f.Fuzz(func(t *testing.T, script []byte, chunk uint16) {
		const w = 160
		probs := make([]float32, len(script))
		for i, b := range script {
			probs[i] = float32(b) / 255
		}
		params := vad.Params{MinSpeech: 20 * time.Millisecond, MinSilence: 50 * time.Millisecond, PreRoll: 30 * time.Millisecond}
		run := func(step int) []vad.Event {
			d, err := vad.NewDetector(&scripted{rate: 16000, window: w, probs: probs}, params)
			if err != nil {
				t.Fatal(err)
			}
			all := ramp(0, len(probs)*w)
			var got []vad.Event
			for i := 0; i < len(all); i += step {
				ev, err := d.Write(all[i:min(i+step, len(all))])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ev...)
			}
			return got
		}
		whole := run(len(probs)*w + 1)
		chunked := run(int(chunk)%2000 + 1)
		if len(whole) != len(chunked) {
			t.Fatalf("%d events in one write, %d in chunks", len(whole), len(chunked))
		}
		var last int64
		for i, ev := range chunked {
			if ev.Type != whole[i].Type || ev.Start != whole[i].Start || ev.End != whole[i].End || ev.At != whole[i].At {
				t.Fatalf("event %d differs by chunking: %+v vs %+v", i, ev, whole[i])
			}
			want := vad.SpeechStart
			if i%2 == 1 {
				want = vad.SpeechEnd
			}
			if ev.Type != want || ev.At < last || ev.At%w != 0 || ev.Start%w != 0 || ev.Start > ev.At {
				t.Fatalf("event %d out of order: %+v", i, ev)
			}
			last = ev.At
			switch ev.Type {
			case vad.SpeechStart:
				from := max(ev.Start-480, 0)
				if int64(len(ev.Audio)) != ev.At-from || (len(ev.Audio) > 0 && ev.Audio[0] != int16(from%30000)) {
					t.Fatalf("start %d: %d samples of audio from %d", i, len(ev.Audio), ev.Audio[0])
				}
			case vad.SpeechEnd:
				if ev.Start != chunked[i-1].Start || ev.End <= ev.Start || ev.End > ev.At {
					t.Fatalf("end %d: %+v after %+v", i, ev, chunked[i-1])
				}
			}
		}
	})
}

// With Tentative, a possible start is reported at its first window and
// either confirmed or dropped.
func TestDetectorTentative(t *testing.T) {
	const w = 100 // 100 ms windows at 1 kHz
	ms := time.Millisecond
	probs := []float32{0, 0.6, 0.1, 0.7, 0.8, 0.9, 0.1, 0.1, 0.1, 0}
	m := &scripted{rate: 1000, window: w, probs: probs}
	d, err := vad.NewDetector(m, vad.Params{Tentative: true, MinSpeech: 200 * ms, MinSilence: 300 * ms})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := d.Write(ramp(0, len(probs)*w))
	if err != nil {
		t.Fatal(err)
	}
	want := []vad.Event{
		{Type: vad.SpeechPending, Start: 100, At: 200},
		{Type: vad.SpeechDropped, Start: 100, At: 300},
		{Type: vad.SpeechPending, Start: 300, At: 400},
		{Type: vad.SpeechStart, Start: 300, At: 500},
		{Type: vad.SpeechEnd, Start: 300, End: 600, At: 900},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %v, want %v", evs, want)
	}
	for i, ev := range evs {
		if ev.Type != want[i].Type || ev.Start != want[i].Start || ev.End != want[i].End || ev.At != want[i].At {
			t.Errorf("event %d = %v %d..%d at %d, want %+v", i, ev.Type, ev.Start, ev.End, ev.At, want[i])
		}
	}
	// One window of MinSpeech: pending and confirmed by the same window.
	m = &scripted{rate: 1000, window: w, probs: []float32{0.9}}
	d, err = vad.NewDetector(m, vad.Params{Tentative: true, MinSpeech: 100 * ms})
	if err != nil {
		t.Fatal(err)
	}
	if evs, _ := d.Write(ramp(0, w)); len(evs) != 2 || evs[0].Type != vad.SpeechPending || evs[1].Type != vad.SpeechStart {
		t.Fatalf("events %v", evs)
	}
}
