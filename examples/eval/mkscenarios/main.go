// Command mkscenarios synthesises the clips of the turn-taking scenario sets
// in testdata/scenarios: rooms, background voices, laughter, street noise,
// phone-band speech and hesitations. Everything is made here from flite
// speech (the flite program, Debian package flite) and the clips already in
// the set, with fixed seeds, so the output is the same on every run.
//
//	go run ./examples/eval/mkscenarios [-out testdata/scenarios/clips]
//
// With -real DIR it writes instead a scenario set of real human speech to
// DIR (not for the repository): the recordings of a human voice that the
// Debian package alsa-utils installs in /usr/share/sounds/alsa, over the
// reply, over a room's echo, under a television and on a phone line. With
// -languages SPEECHDIR as well, it writes DIR/real_languages.json too: the
// telephone prompts of Asterisk's Spanish, French, Italian and Russian
// sound packages (SPEECHDIR/asterisk-es and so on, as make deps fetches
// them) as interruptions, and as another voice in the room that must not
// interrupt.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

func main() {
	out := flag.String("out", filepath.Join("testdata", "scenarios", "clips"), "clip directory (it must hold agent_reply.wav)")
	real := flag.String("real", "", "write the real-speech scenario set to this directory instead")
	voices := flag.String("voices", "/usr/share/sounds/alsa", "with -real: the recordings of alsa-utils")
	languages := flag.String("languages", "", "with -real: also write real_languages.json from the Asterisk prompts in this directory's asterisk-es, -fr, -it and -ru")
	flag.Parse()
	err := func() error {
		if *real != "" {
			if err := runReal(*real, *voices, *out); err != nil || *languages == "" {
				return err
			}
			return runLanguages(*real, *languages, *out)
		}
		return run(*out)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkscenarios:", err)
		os.Exit(1)
	}
}

const sr = 16000

// signal is mono audio at 16 kHz scaled to [-1, 1].
type signal []float64

func run(dir string) error {
	g := &gen{dir: dir, speech: filepath.Join(dir, "..", "..", "speech")}
	reply, err := g.read(filepath.Join(dir, "agent_reply.wav"))
	if err != nil {
		return err
	}
	steps := []func() error{
		func() error { return g.rooms(reply) },
		g.voices,
		g.laughter,
		g.nonlexical,
		g.street,
		g.phone,
		g.hesitations,
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return g.err
}

type gen struct {
	dir, speech string
	err         error
}

// read loads a 16 kHz mono WAV.
func (g *gen) read(path string) (signal, error) {
	fr, err := wav.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fr, err = resample.Frame(fr, pcm.Mono16k)
	if err != nil {
		return nil, err
	}
	x := make(signal, len(fr.Samples))
	for i, s := range fr.Samples {
		x[i] = float64(s) / 32768
	}
	return x, nil
}

// say synthesises text with a flite voice.
func (g *gen) say(voice, text string) signal {
	if g.err != nil {
		return nil
	}
	tmp, err := os.CreateTemp("", "mkscenarios-*.wav")
	if err != nil {
		g.err = err
		return nil
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	var stderr bytes.Buffer
	cmd := exec.Command("flite", "-voice", voice, "-t", text, "-o", tmp.Name())
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		g.err = fmt.Errorf("flite %s %q: %v: %s (install the Debian package flite)", voice, text, err, stderr.String())
		return nil
	}
	x, err := g.read(tmp.Name())
	if err != nil {
		g.err = err
	}
	return trim(x)
}

// clip loads one of the flite clips of testdata/speech.
func (g *gen) clip(name string) signal {
	if g.err != nil {
		return nil
	}
	x, err := g.read(filepath.Join(g.speech, name))
	g.err = err
	return x
}

// write stores x at rate (16000 or 8000; 8000 for band-limited audio), as
// μ-law-quantised samples when ulaw is set.
func (g *gen) write(name string, x signal, rate int, ulaw bool) {
	if g.err != nil {
		return
	}
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = int16(max(-32768, min(32767, math.Round(v*32768))))
	}
	if rate != sr {
		r, err := resample.New(sr, rate)
		if err != nil {
			g.err = err
			return
		}
		skip := int(r.Delay().Seconds() * float64(rate))
		out := r.Process(nil, append(s, make([]int16, sr/50)...))
		s = out[skip : skip+len(s)*rate/sr]
	}
	if ulaw {
		s = g711.DecodeUlaw(nil, g711.EncodeUlaw(nil, s))
	}
	g.err = wav.WriteFile(filepath.Join(g.dir, name), pcm.Frame{Samples: s, Format: pcm.Format{Rate: rate, Channels: 1}})
}

// rooms: the agent's reply played by a speakerphone into two rooms and
// picked up by its microphone: band-limited to 300-3400 Hz, an exponential
// reverberation tail (RT60 0.35 s and 0.6 s) over a few early reflections,
// 70 and 140 ms late, 14 and 18 dB below the reply; as recorded clips and
// as the rooms' impulse responses.
func (g *gen) rooms(reply signal) error {
	for _, r := range []struct {
		name, ir      string
		rt60, delay   float64
		belowDB       float64
		seed          uint64
		reflectionsMs []float64
	}{
		{"echo_room_small.wav", "room_small_ir.wav", 0.35, 0.07, 14, 1, []float64{4, 9, 13, 21}},
		{"echo_room_large.wav", "room_large_ir.wav", 0.6, 0.14, 18, 2, []float64{7, 16, 23, 37, 52}},
	} {
		rng := rand.New(rand.NewPCG(r.seed, 11))
		ir := roomResponse(rng, r.rt60, r.reflectionsMs)
		y := bandpass(convolve(reply, ir), 300, 3400)
		y = append(make(signal, int(r.delay*sr)), y...)
		y = y[:len(reply)+int(0.4*sr)]
		db := rmsDB(reply) - r.belowDB - rmsDB(y)
		g.write(r.name, gain(y, db), 8000, false)
		// The same path as an impulse response, for scenarios whose echo
		// follows what the session actually plays: at 8 kHz, where each
		// tap stands for two of 16 kHz (+6 dB).
		h := bandpass(append(ir, make(signal, sr/20)...), 300, 3400)
		h = append(make(signal, int(r.delay*sr)), h...)
		g.write(r.ir, gain(h, db+20*math.Log10(2)), 8000, false)
	}
	return g.err
}

// roomResponse returns an impulse response: the direct sound, discrete early
// reflections, and a diffuse tail of decaying noise reaching -60 dB at rt60.
func roomResponse(rng *rand.Rand, rt60 float64, reflectionsMs []float64) signal {
	n := int(rt60 * sr)
	ir := make(signal, n)
	ir[0] = 1
	for i, ms := range reflectionsMs {
		ir[int(ms*sr/1000)] += 0.7 * math.Pow(0.8, float64(i)) * sign(rng)
	}
	tau := rt60 / math.Log(1000) // amplitude time constant for -60 dB
	start := int(0.02 * sr)
	for i := start; i < n; i++ {
		ir[i] += 0.25 * rng.NormFloat64() * math.Exp(-float64(i)/(tau*sr))
	}
	return ir
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// voices: a television in the room (one voice with a soft music bed, as if
// from a speaker across the room) and the babble of four other people, each
// 5 s, at -44 dBFS RMS: 18-24 dB below the user clips (-20 to -26 dBFS).
func (g *gen) voices() error {
	rng := rand.New(rand.NewPCG(3, 3))
	tv := concat(g.say("awb", "And now the weather for the weekend. Heavy rain is expected in the north, with sunny spells in the south by Sunday afternoon."), 5)
	for i := range tv {
		t := float64(i) / sr
		tv[i] += 0.02 * (math.Sin(2*math.Pi*220*t) + 0.6*math.Sin(2*math.Pi*277*t)) * (0.6 + 0.4*math.Sin(2*math.Pi*0.5*t))
	}
	ir := roomResponse(rng, 0.4, []float64{5, 12, 19})
	tv = bandpass(convolve(tv, ir), 120, 7000)[:5*sr]
	g.write("tv.wav", gain(tv, -44-rmsDB(tv)), sr, false)

	babble := make(signal, 5*sr)
	for i, v := range []struct{ voice, text string }{
		{"slt", "Did you see the game last night? It went to extra time."},
		{"rms", "I think we should leave before the traffic gets bad."},
		{"kal16", "She told me the meeting was moved to Thursday."},
		{"awb", "Can you pass me the salt, please? Thanks."},
	} {
		s := concat(g.say(v.voice, v.text), 5)
		s = s[int(float64(i)*0.37*sr):]
		add(babble, gain(s, -float64(rng.IntN(5))))
	}
	babble = bandpass(convolve(babble, roomResponse(rng, 0.5, []float64{6, 14})), 120, 7000)[:5*sr]
	g.write("babble.wav", gain(babble, -44-rmsDB(babble)), sr, false)
	return g.err
}

// laughter: two laughs, "ha ha ha" bursts of a glottal pulse train through
// the formants of an open vowel with breathy onsets, F0 falling within each
// syllable, the syllables getting softer.
func (g *gen) laughter() error {
	for _, l := range []struct {
		name      string
		f0        float64
		syllables int
		seed      uint64
	}{{"laugh_low.wav", 130, 6, 5}, {"laugh_high.wav", 260, 8, 6}} {
		rng := rand.New(rand.NewPCG(l.seed, 5))
		var x signal
		at := 0.05 * sr
		for k := range l.syllables {
			dur := 0.09 + 0.05*rng.Float64()
			n := int(dur * sr)
			src := make(signal, n)
			phase := 0.0
			for i := range src {
				t := float64(i) / sr
				f0 := l.f0 * (1.1 - 0.2*t/dur) * (1 + 0.03*rng.NormFloat64())
				phase += f0 / sr
				if phase >= 1 {
					phase--
					src[i] = 1 // a glottal pulse
				}
				src[i] += 0.15 * rng.NormFloat64() * math.Exp(-t/0.03) // breathy onset
			}
			y := add(add(resonate(src, 800, 120), gain(resonate(src, 1250, 150), -4)), gain(resonate(src, 2700, 250), -12))
			env := make(signal, n)
			for i := range env {
				t := float64(i) / sr
				env[i] = math.Min(1, t/0.015) * math.Min(1, (dur-t)/0.03) * math.Pow(0.85, float64(k))
			}
			x = place(x, mul(y, env), int(at))
			at += (dur + 0.06 + 0.04*rng.Float64()) * sr
		}
		x = append(x, make(signal, int(0.2*sr))...)
		g.write(l.name, gain(x, -22-rmsDB(x)), sr, false)
	}
	return g.err
}

// vowel is the first three formants of a vowel, in Hz.
type vowel [3]float64

var (
	vowelA = vowel{800, 1250, 2700}
	vowelE = vowel{550, 1800, 2550}
	vowelO = vowel{500, 900, 2500}
	vowelU = vowel{350, 1000, 2300} // a schwa-like "huh"
)

// nonlexical: laughs of other voices, rhythms and vowels, hums and sighs,
// for the non-lexical set (nonlexical.json).
func (g *gen) nonlexical() error {
	for _, l := range []struct {
		name      string
		f0, rate  float64 // Hz, bursts per second
		syllables int
		v         vowel
		breath    float64 // aspiration between bursts, relative
		seed      uint64
	}{
		{"laugh_giggle.wav", 330, 6.5, 7, vowelE, 0.4, 21},
		{"laugh_chuckle.wav", 110, 4.2, 4, vowelU, 0.8, 22},
		{"laugh_ho.wav", 180, 4.8, 5, vowelO, 0.6, 23},
		{"laugh_hearty.wav", 220, 5.5, 10, vowelA, 1.0, 24},
	} {
		rng := rand.New(rand.NewPCG(l.seed, 11))
		x := laugh(rng, l.f0, l.rate, l.syllables, l.v, l.breath)
		g.write(l.name, gain(x, -24-rmsDB(x)), sr, false)
	}
	for _, h := range []struct {
		name  string
		notes []float64 // Hz, 0.3 s each
		seed  uint64
	}{
		{"hum_tune.wav", []float64{196, 220, 247, 220, 196, 165}, 31},
		{"hum_hmm.wav", []float64{140, 135, 125}, 32},
		{"hum_high.wav", []float64{262, 294, 330, 294}, 33},
	} {
		rng := rand.New(rand.NewPCG(h.seed, 12))
		x := hum(rng, h.notes)
		g.write(h.name, gain(x, -26-rmsDB(x)), sr, false)
	}
	for _, s := range []struct {
		name string
		dur  float64
		v    vowel
		seed uint64
	}{
		{"sigh_long.wav", 1.2, vowelA, 41},
		{"sigh_short.wav", 0.7, vowelU, 42},
	} {
		rng := rand.New(rand.NewPCG(s.seed, 13))
		x := sigh(rng, s.dur, s.v)
		g.write(s.name, gain(x, -30-rmsDB(x)), sr, false)
	}
	return g.err
}

// glottal is a pulse train at f0(t) Hz with jitter, n samples long.
func glottal(rng *rand.Rand, n int, f0 func(t float64) float64) signal {
	src := make(signal, n)
	phase := 0.0
	for i := range src {
		phase += f0(float64(i)/sr) * (1 + 0.02*rng.NormFloat64()) / sr
		if phase >= 1 {
			phase--
			src[i] = 1
		}
	}
	return src
}

// formants filters x through the formants of v, the higher ones softer.
func formants(x signal, v vowel) signal {
	return add(add(resonate(x, v[0], 110), gain(resonate(x, v[1], 140), -5)), gain(resonate(x, v[2], 220), -14))
}

// laugh: bursts of voice on one vowel at rate per second, each started by
// an aspiration, the pitch falling within each and the bursts softer.
func laugh(rng *rand.Rand, f0, rate float64, syllables int, v vowel, breath float64) signal {
	var x signal
	at := 0.05 * sr
	for k := range syllables {
		period := (1 / rate) * (1 + 0.12*rng.NormFloat64())
		dur := period * (0.5 + 0.15*rng.Float64())
		n := int(dur * sr)
		top := f0 * (1 + 0.08*rng.NormFloat64())
		voiced := formants(glottal(rng, n, func(t float64) float64 { return top * (1.08 - 0.2*t/dur) }), v)
		asp := mul(formants(noise(rng, n), v), decay(n, 0.025))
		y := add(voiced, gain(asp, 20*math.Log10(0.05+breath)-6))
		env := make(signal, n)
		for i := range env {
			t := float64(i) / sr
			env[i] = math.Min(1, t/0.012) * math.Min(1, (dur-t)/0.025) * math.Pow(0.9, float64(k))
		}
		x = place(x, mul(y, env), int(at))
		at += period * sr
	}
	return append(x, make(signal, int(0.2*sr))...)
}

// hum: a nasal murmur (lips closed: one low resonance, the others far
// down) gliding through notes of 0.3 s.
func hum(rng *rand.Rand, notes []float64) signal {
	n := int(0.3 * sr * float64(len(notes)))
	src := glottal(rng, n, func(t float64) float64 {
		k := min(len(notes)-1, int(t/0.3))
		f := notes[k]
		if k > 0 {
			if into := t - float64(k)*0.3; into < 0.05 {
				f = notes[k-1] + (f-notes[k-1])*into/0.05
			}
		}
		return f
	})
	y := add(add(resonate(src, 250, 80), gain(resonate(src, 1100, 200), -26)), gain(resonate(src, 2300, 300), -34))
	for i := range y {
		t := float64(i) / sr
		y[i] *= math.Min(1, t/0.06) * math.Min(1, (float64(n)/sr-t)/0.08)
	}
	return append(append(make(signal, int(0.05*sr)), y...), make(signal, int(0.2*sr))...)
}

// sigh: breath noise through a vowel's tract, swelling for a fifth of dur
// and fading for the rest.
func sigh(rng *rand.Rand, dur float64, v vowel) signal {
	n := int(dur * sr)
	y := bandpass(formants(noise(rng, n), vowel{v[0], v[1], v[2]}), 200, 5000)
	for i := range y {
		t := float64(i) / sr
		rise := math.Min(1, t/(0.2*dur))
		y[i] *= rise * rise * math.Exp(-2.5*math.Max(0, t-0.2*dur)/dur)
	}
	return append(append(make(signal, int(0.05*sr)), y...), make(signal, int(0.2*sr))...)
}

// street: traffic rumble, a car passing, footsteps and a distant horn, 6 s
// at -38 dBFS RMS.
func (g *gen) street() error {
	rng := rand.New(rand.NewPCG(7, 7))
	n := 6 * sr
	x := make(signal, n)
	var brown float64
	for i := range x {
		brown = 0.995*brown + 0.05*rng.NormFloat64()
		x[i] = brown
	}
	car := bandpass(noise(rng, n), 200, 2500)
	for i := range car {
		t := float64(i)/sr - 3.5
		car[i] *= 2.5 / (1 + t*t)
	}
	add(x, car)
	for k := range 8 {
		step := mul(bandpass(noise(rng, sr/20), 100, 1500), decay(sr/20, 0.01))
		place(x, gain(step, -12), int((0.4+0.55*float64(k))*sr))
	}
	horn := make(signal, int(0.35*sr))
	for i := range horn {
		t := float64(i) / sr
		horn[i] = 0.3 * (math.Sin(2*math.Pi*415*t) + math.Sin(2*math.Pi*523*t)) * math.Min(1, t/0.02) * math.Min(1, (0.35-t)/0.05)
	}
	place(x, horn, int(4.6*sr))
	g.write("street.wav", gain(x, -38-rmsDB(x)), sr, false)
	return g.err
}

// phone: user clips as a phone line delivers them, 8 kHz μ-law.
func (g *gen) phone() error {
	for _, c := range []struct{ name, src, voice, text string }{
		{name: "phone_stop.wav", src: "stop_slt.wav"},
		{name: "phone_wait.wav", src: "wait_rms.wav"},
		{name: "phone_uhhuh.wav", src: "uhhuh_awb.wav"},
		{name: "phone_okay.wav", src: "okay_rms.wav"},
		{name: "phone_mmhmm.wav", voice: "slt", text: "Mm hmm."},
		{name: "phone_yeah.wav", voice: "kal16", text: "Yeah."},
		{name: "phone_right.wav", voice: "rms", text: "Right."},
	} {
		var x signal
		if c.src != "" {
			x = g.clip(c.src)
		} else {
			x = pad(g.say(c.voice, c.text))
		}
		g.write(c.name, bandpass(x, 300, 3400), 8000, true)
	}
	return g.err
}

// hesitations: parts of sentences a user pauses inside; the scenario file
// places them with gaps of 600-900 ms.
func (g *gen) hesitations() error {
	for _, c := range []struct{ name, voice, text string }{
		{"hes_order_a.wav", "slt", "I would like to order a"},
		{"hes_large_pizza.wav", "slt", "large pizza with mushrooms."},
		{"hes_send_it_to.wav", "rms", "Can you send it to the"},
		{"hes_office.wav", "rms", "office on Main Street?"},
		{"hes_i_need_um.wav", "awb", "I need to, um,"},
		{"hes_change_address.wav", "awb", "change my delivery address."},
		{"hes_order_is.wav", "kal16", "My order number is"},
		{"spell_a_b.wav", "kal16", "A, B,"},
		{"spell_7_4.wav", "kal16", "seven, four,"},
		{"spell_2_9.wav", "kal16", "two, nine."},
		{"email_is_john.wav", "slt", "My email is john"},
		{"email_dot_smith.wav", "slt", "dot smith"},
		{"email_at_example.wav", "slt", "at example dot com."},
	} {
		g.write(c.name, pad(g.say(c.voice, c.text)), sr, false)
	}
	return g.err
}

// --- signal helpers ---------------------------------------------------------

func trim(x signal) signal {
	const th = 1e-3
	a, b := 0, len(x)
	for a < b && math.Abs(x[a]) < th {
		a++
	}
	for b > a && math.Abs(x[b-1]) < th {
		b--
	}
	return x[a:b]
}

// pad puts 150 ms of silence around x.
func pad(x signal) signal {
	out := make(signal, 0, len(x)+int(0.3*sr))
	out = append(out, make(signal, int(0.15*sr))...)
	out = append(out, x...)
	return append(out, make(signal, int(0.15*sr))...)
}

// concat repeats x until it lasts at least seconds.
func concat(x signal, seconds int) signal {
	if len(x) == 0 {
		return make(signal, seconds*sr)
	}
	var out signal
	for len(out) < seconds*sr {
		out = append(out, x...)
		out = append(out, make(signal, int(0.25*sr))...)
	}
	return out
}

func convolve(x, h signal) signal {
	y := make(signal, len(x)+len(h)-1)
	var taps []int
	for j, v := range h {
		if v != 0 {
			taps = append(taps, j)
		}
	}
	for i, v := range x {
		if v == 0 {
			continue
		}
		for _, j := range taps {
			y[i+j] += v * h[j]
		}
	}
	return y
}

// bandpass keeps lo..hi Hz with two second-order sections each way.
func bandpass(x signal, lo, hi float64) signal {
	y := biquad(x, lo, true)
	y = biquad(y, lo, true)
	y = biquad(y, hi, false)
	return biquad(y, hi, false)
}

// biquad is a Butterworth (Q 0.707) high-pass or low-pass at f Hz.
func biquad(x signal, f float64, high bool) signal {
	w := 2 * math.Pi * f / sr
	alpha := math.Sin(w) / (2 * math.Sqrt2 / 2)
	cw := math.Cos(w)
	var b0, b1, b2 float64
	if high {
		b0, b1, b2 = (1+cw)/2, -(1 + cw), (1+cw)/2
	} else {
		b0, b1, b2 = (1-cw)/2, 1-cw, (1-cw)/2
	}
	a0, a1, a2 := 1+alpha, -2*cw, 1-alpha
	y := make(signal, len(x))
	var x1, x2, y1, y2 float64
	for i, v := range x {
		y[i] = (b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2) / a0
		x2, x1, y2, y1 = x1, v, y1, y[i]
	}
	return y
}

// resonate is a two-pole resonator at f Hz with bandwidth bw Hz.
func resonate(x signal, f, bw float64) signal {
	r := math.Exp(-math.Pi * bw / sr)
	a1, a2, g := 2*r*math.Cos(2*math.Pi*f/sr), -r*r, 1-r
	y := make(signal, len(x))
	var y1, y2 float64
	for i, v := range x {
		y[i] = g*v + a1*y1 + a2*y2
		y1, y2 = y[i], y1
	}
	return y
}

func noise(rng *rand.Rand, n int) signal {
	x := make(signal, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	return x
}

func decay(n int, tau float64) signal {
	e := make(signal, n)
	for i := range e {
		e[i] = math.Exp(-float64(i) / (tau * sr))
	}
	return e
}

func add(a, b signal) signal {
	for i := range min(len(a), len(b)) {
		a[i] += b[i]
	}
	return a
}

func mul(a, b signal) signal {
	for i := range min(len(a), len(b)) {
		a[i] *= b[i]
	}
	return a
}

func place(dst, src signal, at int) signal {
	if n := at + len(src); n > len(dst) {
		dst = append(dst, make(signal, n-len(dst))...)
	}
	add(dst[at:], src)
	return dst
}

func gain(x signal, db float64) signal {
	g := math.Pow(10, db/20)
	out := make(signal, len(x))
	for i, v := range x {
		out[i] = v * g
	}
	return out
}

// rmsDB is the RMS level of the part of x within 40 dB of its loudest
// 10 ms block, in dBFS: the active level, not diluted by pauses.
func rmsDB(x signal) float64 {
	const b = sr / 100
	var levels []float64
	for i := 0; i+b <= len(x); i += b {
		var p float64
		for _, v := range x[i : i+b] {
			p += v * v
		}
		levels = append(levels, p/b)
	}
	var peak float64
	for _, l := range levels {
		peak = max(peak, l)
	}
	var sum float64
	var n int
	for _, l := range levels {
		if l > peak*1e-4 {
			sum += l
			n++
		}
	}
	if n == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(sum/float64(n))
}

// runReal writes DIR/real_voice.json: the alsa-utils recordings as
// interruptions, in the clear, over a room's echo, under a television and
// as a phone line delivers them. Clips of the committed set are referred
// to by absolute path.
func runReal(dir, voices, clips string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	clips, err := filepath.Abs(clips)
	if err != nil {
		return err
	}
	g := &gen{dir: dir}
	voice := func(name string) string { return filepath.Join(voices, name+".wav") }
	for _, n := range []string{"Front_Left", "Front_Right", "Rear_Center"} {
		if _, err := os.Stat(voice(n)); err != nil {
			return fmt.Errorf("%w (install the Debian package alsa-utils, or run make deps)", err)
		}
	}
	x, err := g.read(voice("Front_Right"))
	if err != nil {
		return err
	}
	g.write("phone_front_right.wav", bandpass(x, 300, 3400), 8000, true)
	if g.err != nil {
		return g.err
	}
	c := func(path string, at float64) clip { return clip{path, at} }
	return writeSet(filepath.Join(dir, "real_voice.json"), scenarioSet{
		About:        "A real human voice (the recordings of alsa-utils) interrupting the reply: in the clear, over a room's echo, under a television and on a phone line.",
		AgentDefault: filepath.Join(clips, "agent_reply.wav"),
		Scenarios: []scenario{
			{Name: "real-front-left", User: []clip{c(voice("Front_Left"), 2.1)}, Expect: "bargein"},
			{Name: "real-rear-right", User: []clip{c(voice("Rear_Right"), 3.4)}, Expect: "bargein"},
			{Name: "real-side-left", User: []clip{c(voice("Side_Left"), 1.6)}, Expect: "bargein"},
			{Name: "real-front-center-over-room-echo", Echo: filepath.Join(clips, "room_small_ir.wav"), User: []clip{c(voice("Front_Center"), 3.0)}, Expect: "bargein"},
			{Name: "real-rear-left-under-tv", User: []clip{c(filepath.Join(clips, "tv.wav"), 0.5), c(voice("Rear_Left"), 2.7)}, Expect: "bargein"},
			{Name: "real-phone-front-right", User: []clip{c("phone_front_right.wav", 2.4)}, Expect: "bargein", Line: "phone"},
		},
	})
}

// A scenario set as examples/eval reads it.
type (
	clip struct {
		Clip   string  `json:"clip"`
		StartS float64 `json:"start_s"`
	}
	scenario struct {
		Name   string `json:"name"`
		Echo   string `json:"echo,omitempty"` // the room's impulse response: the reply's echo
		User   []clip `json:"user"`
		Expect string `json:"expect"`
		Line   string `json:"line,omitempty"` // "phone": heard at 8 kHz, μ-law
	}
	scenarioSet struct {
		About        string     `json:"about"`
		AgentDefault string     `json:"agent_default"`
		Scenarios    []scenario `json:"scenarios"`
	}
)

func writeSet(path string, set scenarioSet) error {
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// runLanguages writes DIR/real_languages.json: for each of four languages,
// one speaker's telephone prompts (real speech, 8 kHz) as interruptions in
// the clear, over the large room's echo and μ-law coded on a phone line,
// and the same voice 20 dB down through a room, another person talking
// across it, which must not cancel the reply.
func runLanguages(dir, speech, clips string) error {
	clips, err := filepath.Abs(clips)
	if err != nil {
		return err
	}
	g := &gen{dir: dir}
	var set []scenario
	for i, lang := range []string{"es", "fr", "it", "ru"} {
		prompt := func(name string) signal {
			if g.err != nil {
				return nil
			}
			x, err := g.read(filepath.Join(speech, "asterisk-"+lang, name+".wav"))
			if err != nil {
				g.err = fmt.Errorf("%w (make deps fetches the Asterisk prompts)", err)
				return nil
			}
			return pad(trim(x))
		}
		// Prompts that say several things: "that is not a valid conference
		// number, please try again", "you are currently the only person in
		// this conference", "please enter your password followed by the
		// pound key", "the conference will begin when the leader arrives".
		user := func(x signal) signal { return gain(x, -23-rmsDB(x)) }
		name := func(what string) string { return lang + "_" + what + ".wav" }
		g.write(name("clear"), user(prompt("conf-invalid")), sr, false)
		g.write(name("over_echo"), user(prompt("conf-onlyperson")), sr, false)
		g.write(name("phone"), bandpass(user(prompt("agent-pass")), 300, 3400), 8000, true)
		rng := rand.New(rand.NewPCG(uint64(20+i), 7))
		other := prompt("conf-waitforleader")
		other = bandpass(convolve(other, roomResponse(rng, 0.4, []float64{5, 12, 19})), 120, 7000)
		g.write(name("across_room"), gain(other, -43-rmsDB(other)), sr, false)
		set = append(set,
			scenario{Name: lang + "-clear", User: []clip{{name("clear"), 2.0}}, Expect: "bargein"},
			scenario{Name: lang + "-over-room-large-echo", Echo: filepath.Join(clips, "room_large_ir.wav"), User: []clip{{name("over_echo"), 2.6}}, Expect: "bargein"},
			scenario{Name: lang + "-phone", User: []clip{{name("phone"), 2.3}}, Expect: "bargein", Line: "phone"},
			scenario{Name: lang + "-voice-across-the-room", User: []clip{{name("across_room"), 1.2}}, Expect: "no_bargein"},
		)
	}
	if g.err != nil {
		return g.err
	}
	return writeSet(filepath.Join(dir, "real_languages.json"), scenarioSet{
		About:        "Real speech in Spanish, French, Italian and Russian (Asterisk's telephone prompts): interruptions in the clear, over a large room's echo and on a phone line; the same voice 20 dB down across a room must not interrupt.",
		AgentDefault: filepath.Join(clips, "agent_reply.wav"),
		Scenarios:    set,
	})
}
