package agent

import (
	"math"
	"slices"
)

// The level gate tells the user's own voice from other voices in the room
// (a television, people talking, a call centre behind a caller): those
// reach the microphone much quieter than the speaker in front of it. It
// learns the user's level from the user's committed turns, as a running
// percentile of the levels of their speech frames, starting from a prior
// before the first turn, and judges the speech the VAD hears against it:
// speech whose level stays faintMargin below the user's is faint. The
// interrupt machine never cancels a reply on faint speech (speechStarted's
// faint, voiceLoud).
type levelGate struct {
	// levels holds the frame levels (dBFS) of the user's recent speech, a
	// ring of up to levelFrames entries; next is where the next one goes.
	levels []float64
	next   int
	// sorted is level's scratch space.
	sorted []float64
	// threshold is the level below which speech is faint.
	threshold float64
	// echo is the agent's echo's ceiling (see echoStats; silentLevel
	// without an echo canceller): speech below it is faint too.
	echo float64
	// run counts consecutive frames at or above the threshold.
	run int
}

const (
	// priorLevel is the user's speech level before the first turn: the
	// 80th percentile of frame levels of speech at a close microphone (a
	// browser's or phone's gain control puts speech peaks near -15 to
	// -20 dBFS).
	priorLevel = -18.0
	// faintMargin is how far below the user's level speech is faint:
	// other voices in a room arrive 18-24 dB below the speaker's; the
	// user's own soft words stay within about 10 dB of their level.
	faintMargin = 16.0
	// levelPercentile is the percentile of speech-frame levels taken as
	// the user's level (the pauses between words inside speech sit
	// lower).
	levelPercentile = 0.8
	// levelFrames is how many speech frames the gate remembers (about
	// 15 s of speech in 20 ms frames); minLevelFrames, how many it needs
	// before it trusts them over the prior.
	levelFrames    = 750
	minLevelFrames = 15
	// loudFrames is how many consecutive frames at the user's level make
	// faint speech loud: a knock or a click lasts one.
	loudFrames = 2
	// silentLevel is the level of digital silence.
	silentLevel = -120.0
)

func newLevelGate() levelGate {
	return levelGate{threshold: priorLevel - faintMargin, echo: silentLevel}
}

// bar returns the level below which speech is faint: the user's level
// less faintMargin, or the echo's ceiling while it is higher.
func (g *levelGate) bar() float64 { return max(g.threshold, g.echo) }

// voiceFallDB is how far below the loudest frame of the speech so far a
// frame's level must fall to count as silence inside it, whatever the VAD
// says: the VAD's probability stays high for 60-100 ms after a voice ends,
// while the level falls at once. The pause between two words stays within
// about 30 dB of a voice's peak, and a room's or a line's noise floor less
// than this far below the speech leaves the VAD alone to judge.
const voiceFallDB = 35.0

// voiceLevel follows the loudest frame of the speech the VAD is inside and
// tells when the voice has fallen silent inside it (see voiceFallDB).
type voiceLevel struct{ peak float64 }

// start begins a new speech whose onset frames have levels.
func (v *voiceLevel) start(levels []float64) {
	v.peak = silentLevel
	for _, lv := range levels {
		v.peak = max(v.peak, lv)
	}
}

// fell takes the next frame's level and reports whether it is voiceFallDB
// or more below the loudest so far.
func (v *voiceLevel) fell(lv float64) bool {
	v.peak = max(v.peak, lv)
	return lv <= v.peak-voiceFallDB
}

// frameLevel returns the RMS level of samples in dBFS.
func frameLevel(samples []int16) float64 {
	if len(samples) == 0 {
		return silentLevel
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	if sum == 0 {
		return silentLevel
	}
	return max(silentLevel, 10*math.Log10(sum/float64(len(samples))/(32768*32768)))
}

// learn adds the frame levels of one of the user's turns.
func (g *levelGate) learn(levels []float64) {
	for _, l := range levels {
		if len(g.levels) < levelFrames {
			g.levels = append(g.levels, l)
			continue
		}
		g.levels[g.next] = l
		g.next = (g.next + 1) % levelFrames
	}
	g.threshold = g.level() - faintMargin
}

// level returns the user's speech level in dBFS: the prior until enough of
// their speech was heard.
func (g *levelGate) level() float64 {
	if len(g.levels) < minLevelFrames {
		return priorLevel
	}
	s := append(g.sorted[:0], g.levels...)
	slices.Sort(s)
	g.sorted = s
	return s[int(levelPercentile*float64(len(s)-1))]
}

// start judges the onset of speech from its frame levels: it is loud once
// loudFrames consecutive frames reach the threshold. It resets the gate's
// count for the frames that follow (see frame).
func (g *levelGate) start(levels []float64) (loud bool) {
	g.run = 0
	for _, l := range levels {
		if g.frame(l) {
			loud = true
		}
	}
	return loud
}

// frame counts one more frame of speech and reports whether the speech is
// loud as of it.
func (g *levelGate) frame(level float64) bool {
	if level < g.bar() {
		g.run = 0
		return false
	}
	g.run++
	return g.run >= loudFrames
}
