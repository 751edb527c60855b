package aec

import (
	"fmt"
	"math"
	"time"
)

// config is the canceller's settings.
type config struct {
	filterLen          time.Duration
	minDelay, maxDelay time.Duration
	fixedDelay         time.Duration
	fixed              bool
	frame              time.Duration
	suppress           bool
	simd               bool // vector kernels
}

// Option configures a Canceller.
type Option func(*config) error

// WithFilterLength sets how much of the echo path after the bulk delay the
// adaptive filter models (default 256 ms, at most 1 s): the room's
// reverberation, rounded up to whole 8 ms partitions. Its cost grows in
// proportion.
func WithFilterLength(d time.Duration) Option {
	return func(c *config) error {
		if d < 16*time.Millisecond || d > time.Second {
			return fmt.Errorf("%w: filter length %v (16 ms to 1 s)", ErrOption, d)
		}
		c.filterLen = d
		return nil
	}
}

// WithDelayRange sets the bulk delays the delay estimator searches (default
// 0 to 1 s): how much later than its playout position the reference can
// reach the microphone. A negative minimum allows for a microphone clock
// that runs ahead of the playout clock.
func WithDelayRange(lo, hi time.Duration) Option {
	return func(c *config) error {
		if lo < -time.Second || hi > 5*time.Second || hi-lo < 50*time.Millisecond {
			return fmt.Errorf("%w: delay range %v to %v (-1 s to 5 s, at least 50 ms wide)", ErrOption, lo, hi)
		}
		c.minDelay, c.maxDelay = lo, hi
		return nil
	}
}

// WithFixedDelay turns the delay estimator off and places the filter at a
// known bulk delay.
func WithFixedDelay(d time.Duration) Option {
	return func(c *config) error {
		if d < -time.Second || d > 5*time.Second {
			return fmt.Errorf("%w: fixed delay %v (-1 s to 5 s)", ErrOption, d)
		}
		c.fixedDelay, c.fixed = d, true
		return nil
	}
}

// WithFrame sets the frame length Process takes (default 10 ms): every
// call's microphone buffer must be a whole number of frames. The frame
// length sets the latency (see Canceller.Latency).
func WithFrame(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond || d > 100*time.Millisecond {
			return fmt.Errorf("%w: frame %v (1 to 100 ms)", ErrOption, d)
		}
		c.frame = d
		return nil
	}
}

// WithSuppressor turns the residual echo suppressor on (the default) or
// off; off, the output is the adaptive filter's alone.
func WithSuppressor(on bool) Option {
	return func(c *config) error {
		c.suppress = on
		return nil
	}
}

// Canceller removes the echo of a reference signal (what the agent played)
// from a microphone signal. Process and Stats belong to the capture side;
// Play may be called from another goroutine.
type Canceller struct {
	rate, b  int // sample rate, block
	frameLen int
	minLag   int // bulk delay range, in blocks
	maxLag   int
	fixed    bool
	suppress bool

	ref  *refRing
	plan *fftPlan
	f    *filter
	sup  *suppressor
	det  *delayEstimator
	dtd  talkDetector

	lag      int // bulk delay in blocks
	estLag   int // the delay estimate the lag was last set from
	refineIn int // blocks with echo until the next alignment check
	onset    int // the filter's onset partition at the last check, or -1
	// The filter's match: the microphone's projection on the echo
	// estimate over the estimate's energy, smoothed over blocks with echo.
	health, hyh, hhh float32
	lost             int   // blocks with echo the filter has been lost for
	micPos           int64 // position of the next microphone block's first sample

	in   []float32 // microphone samples of the block being filled
	fill int
	xbuf []float32 // reference window, 2b
	yhat []float32 // echo estimate, b
	e    []float32 // filter output, b
	out  []float32 // suppressor output, b
	fifo []int16   // output not yet returned

	dr, di []float32 // delay estimator's spectra
	energy []float32 // filter energy per partition

	stats   Stats
	erle    erleMeter
	fy, fe  float32 // microphone and filter output energy, smoothed over blocks with echo
	learnt  bool    // the filter has cancelled 10 dB of echo since it last started over
	prevEy  float32
	prevFar bool
}

// New returns a canceller for mono 16-bit audio at rate (8000 or 16000
// Hz).
func New(rate int, opts ...Option) (*Canceller, error) {
	cfg := config{
		filterLen: 256 * time.Millisecond,
		maxDelay:  time.Second,
		frame:     10 * time.Millisecond,
		suppress:  true,
		simd:      haveSIMD,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if rate != 8000 && rate != 16000 {
		return nil, fmt.Errorf("%w: %d Hz", ErrRate, rate)
	}
	b := rate / 125 // 8 ms blocks
	samples := func(d time.Duration) int { return int(int64(d) * int64(rate) / int64(time.Second)) }
	parts := (samples(cfg.filterLen) + b - 1) / b
	frameLen := samples(cfg.frame)
	if frameLen < 1 {
		return nil, fmt.Errorf("%w: frame %v", ErrOption, cfg.frame)
	}
	c := &Canceller{
		onset: -1,
		rate:  rate, b: b, frameLen: frameLen,
		minLag:   floorDiv(samples(cfg.minDelay), b),
		maxLag:   floorDiv(samples(cfg.maxDelay), b),
		fixed:    cfg.fixed,
		suppress: cfg.suppress,
		in:       make([]float32, b),
		xbuf:     make([]float32, 2*b),
		yhat:     make([]float32, b),
		e:        make([]float32, b),
		out:      make([]float32, b),
		dr:       make([]float32, padBins(b)),
		energy:   make([]float32, parts),
		di:       make([]float32, padBins(b)),
	}
	var err error
	if c.plan, err = newFFTPlan(2*b, kernels(cfg.simd)); err != nil {
		return nil, err
	}
	if cfg.fixed {
		c.lag = floorDiv(samples(cfg.fixedDelay), b)
		c.minLag, c.maxLag = c.lag, c.lag
	} else {
		c.lag = c.minLag
		c.det = newDelayEstimator(b, rate, c.minLag, c.maxLag)
	}
	// The ring holds the reference from the oldest partition at the
	// longest delay up to half a second ahead of the microphone.
	c.ref = newRefRing((c.maxLag+parts+2)*b+rate/2, rate)
	c.f = newFilter(b, parts, c.plan)
	if !cfg.fixed {
		c.f.setPrior(false) // the echo may start anywhere until found
	}
	c.sup = newSuppressor(b, c.plan)
	c.dtd = newTalkDetector()
	// Output lags input by one block (the suppressor's overlap) plus what
	// frames and blocks leave over: frames of F samples end at most
	// b - gcd(F, b) samples past a block boundary.
	c.fifo = make([]int16, b-gcd(frameLen, b), 4*b+frameLen)
	c.stats.Delay = c.delay()
	return c, nil
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Rate returns the canceller's sample rate.
func (c *Canceller) Rate() int { return c.rate }

// Latency returns how much later than its input the output of Process
// comes out: one 8 ms block for the suppressor's overlap plus what the
// frame length leaves over (14 ms for 10 ms frames, 12 ms for 20 ms).
func (c *Canceller) Latency() time.Duration {
	n := c.b + c.b - gcd(c.frameLen, c.b)
	return time.Duration(n) * time.Second / time.Duration(c.rate)
}

// Tail returns how long after the reference's last sample its echo can
// still reach the microphone, as far as the canceller knows: the bulk
// delay the filter sits at plus the filter's length once the delay is
// found (or fixed), the longest delay searched plus the filter's length
// before. After that long a silent reference leaves nothing to cancel.
func (c *Canceller) Tail() time.Duration {
	lag := c.maxLag
	if c.fixed || c.stats.DelayFound {
		lag = c.lag
	}
	return c.blocks(max(lag+c.f.parts, 0))
}

// String describes the canceller's configuration.
func (c *Canceller) String() string {
	supp := "on"
	if !c.suppress {
		supp = "off"
	}
	delay := fmt.Sprintf("delay %v-%v", c.blocks(c.minLag), c.blocks(c.maxLag))
	if c.fixed {
		delay = fmt.Sprintf("delay %v fixed", c.blocks(c.lag))
	}
	return fmt.Sprintf("aec(%dk, filter %v, %s, suppressor %s)", c.rate/1000, c.blocks(c.f.parts), delay, supp)
}

// blocks returns the duration of n blocks.
func (c *Canceller) blocks(n int) time.Duration {
	return time.Duration(n*c.b) * time.Second / time.Duration(c.rate)
}

func (c *Canceller) delay() time.Duration { return c.blocks(c.lag) }

// maxPosition bounds reference positions (about 550 years at 16 kHz), so
// that position arithmetic cannot overflow.
const maxPosition = 1 << 48

// Play records reference audio: samples the agent sent, starting at
// sample position pos of the playout clock (at the canceller's rate).
// Positions skipped since the last call are silence. Play may run
// concurrently with Process.
func (c *Canceller) Play(pos int64, samples []int16) error {
	if pos < 0 || pos > maxPosition {
		return fmt.Errorf("%w: %d", ErrPosition, pos)
	}
	c.ref.write(pos, samples)
	return nil
}

// Process cancels the echo in mic (a whole number of frames) and appends
// as many output samples to dst, Latency behind the input. The k-th
// microphone sample ever processed is taken to share position k with the
// playout clock of Play (the echo of the reference at position p arrives
// at microphone position p plus the echo delay).
func (c *Canceller) Process(dst, mic []int16) ([]int16, error) {
	if len(mic)%c.frameLen != 0 {
		return dst, fmt.Errorf("%w: %d samples, frames of %d", ErrFrameSize, len(mic), c.frameLen)
	}
	total := len(mic)
	for len(mic) > 0 {
		n := min(len(mic), c.b-c.fill)
		for i, v := range mic[:n] {
			c.in[c.fill+i] = float32(v)
		}
		c.fill += n
		mic = mic[n:]
		if c.fill == c.b {
			c.block()
			c.fill = 0
		}
	}
	// Whole frames in, whole frames out: the FIFO always holds enough.
	dst = append(dst, c.fifo[:total]...)
	c.fifo = c.fifo[:copy(c.fifo, c.fifo[total:])]
	return dst, nil
}

// block processes one complete microphone block.
func (c *Canceller) block() {
	b := c.b
	pos := c.micPos
	c.micPos += int64(b)
	// The filter's reference: the window ending lag blocks before this one.
	c.ref.read(c.xbuf, pos-int64(c.lag*b)-int64(b))
	c.f.pushRef(c.xbuf)
	c.f.estimate(c.yhat)
	var ey, ee float32
	for i, y := range c.in {
		e := y - c.yhat[i]
		c.e[i] = e
		ey += y * y
		ee += e * e
	}
	c.f.adapt(c.e, ey)
	c.sup.analyse(c.e, c.yhat)

	// Who is talking: echo is expected when the reference in the filter's
	// span, through the measured coupling, stands above the noise; the
	// user when the output holds more than the residual echo and noise.
	var noise float32
	for _, v := range c.f.nf[:b+1] {
		noise += v
	}
	far := c.f.expectedEcho() > 4*noise
	c.sup.estimate(far, c.f.rexp, c.f.nf)
	near := c.sup.near > 4*(supOver*c.sup.residual+noise)
	talk := c.dtd.step(far, near)
	user := float32(b)*ey > 4*c.f.expectedEcho() // well over the echo the coupling allows
	if c.det != nil {
		c.track(pos, far, user) // before the suppressor's gains touch its spectra
	}
	if far && !user && !c.learnt {
		// Until the filter first removes 10 dB of an echo without the
		// user, its error variances may have started from a coupling
		// measured before the echo arrived (or all of it had): while it
		// removes less than 6 dB, start them over from a coupling grown
		// since.
		const keep = 0.97 // about 0.25 s
		c.fy = keep*c.fy + ey
		c.fe = keep*c.fe + ee
		switch {
		case c.fy > 10*c.fe:
			c.learnt = true
		case c.fy < 4*c.fe:
			c.f.reseed()
		}
	}
	c.sup.synthesise(c.out, c.suppress)
	var eo float32
	for _, v := range c.out {
		eo += v * v
		c.fifo = append(c.fifo, clip16(v))
	}
	c.meter(talk, ey, ee, eo)
	if far {
		// How much of the echo estimate the microphone holds: about one
		// while the filter matches the echo path, about zero once the
		// path has moved away from it. The user's voice is uncorrelated
		// with the estimate and leaves it alone.
		var yh, hh float32
		for i, y := range c.in {
			yh += y * c.yhat[i]
			hh += c.yhat[i] * c.yhat[i]
		}
		const keep = 0.98 // about 0.4 s of blocks with echo
		c.hyh = keep*c.hyh + yh
		c.hhh = keep*c.hhh + hh
		if c.hhh > 0 {
			c.health = c.hyh / c.hhh
		}
		// Lost for a second of echo (the room changed: the speaker was
		// moved): the filter's error variances start over, so it learns
		// the new path as fast as it learnt the first.
		if c.health < healthLost && c.f.ready {
			if c.lost++; c.lost >= lostBlocks {
				c.f.setPrior(c.stats.DelayFound || c.fixed)
				c.lost, c.learnt = 0, false
			}
		} else {
			c.lost = 0
		}
	}
}

// track feeds the delay estimator and moves the filter when the echo's
// bulk delay changes.
func (c *Canceller) track(pos int64, far, user bool) {
	b := c.b
	// The reference block that lines up with this microphone block at
	// the shortest lag, windowed like the microphone's spectrum.
	c.ref.read(c.xbuf, pos-int64(c.minLag*b)-int64(b))
	for i, w := range c.sup.win {
		c.xbuf[i] *= w
	}
	c.plan.forward(c.dr, c.di, c.xbuf)
	c.det.addRef(c.dr, c.di)
	// The microphone's spectrum: filter output plus echo estimate.
	for k := range b + 1 {
		c.dr[k] = c.sup.er[k] + c.sup.yr[k]
		c.di[k] = c.sup.ei[k] + c.sup.yi[k]
	}
	// Skip blocks where the user is loud: the microphone holds well over
	// the echo the coupling allows. (Not the double-talk detector's word:
	// echo the filter has not learnt, or no longer matches after the path
	// moved, looks like the user to it.)
	user = user && c.stats.DelayFound
	est, ok := c.det.update(c.dr, c.di, (far || c.f.refActive()) && !user, c.health < healthLost)
	switch {
	case ok && !c.stats.DelayFound:
		c.stats.DelayFound = true
		c.estLag = est
		c.moveTo(pos, est-preLag, true)
		c.f.setPrior(true)
	case ok && iabs(est-c.estLag) >= estMove && c.health < healthLost:
		// The estimate moved and the filter no longer cancels: the echo
		// path moved (a jitter buffer grew or shrank). The room's response
		// moves with it, so the filter keeps its partitions. (While the
		// filter cancels well, a moving estimate is the estimator's error.)
		c.moveTo(pos, c.lag+est-c.estLag, false)
		c.estLag = est
		c.f.setPrior(true) // and learns it afresh
	case c.stats.DelayFound && far && !user && c.health >= healthGood:
		c.refine(pos)
	}
}

// Health thresholds: the filter's match below which it is lost, and above
// which its impulse response is worth aligning by.
const (
	healthLost = 0.3
	healthGood = 0.7
	lostBlocks = 125 // 1 s
)

// estMove is how far (in blocks) the delay estimate must move before the
// filter follows it; smaller moves are the filter's to absorb, and refine
// aligns it.
const estMove = 3

// refine aligns the filter with the echo's onset every 64 blocks of echo:
// once the filter shows a clear impulse response, its first strong
// partition should be partition preLag-1 (one block of margin before the
// direct sound: a filter that starts after it cannot cancel it).
func (c *Canceller) refine(pos int64) {
	if c.refineIn--; c.refineIn > 0 {
		return
	}
	c.refineIn = refineEvery
	c.f.energy(c.energy)
	top, onset := float32(0), -1
	for _, e := range c.energy {
		top = max(top, e)
	}
	var below int
	for p, e := range c.energy {
		if onset < 0 && e >= top/4 {
			onset = p
		}
		if e < top/16 {
			below++
		}
	}
	// A clear response (most partitions far below the strongest), and the
	// same onset twice running.
	if onset < 0 || below < 3*len(c.energy)/4 {
		c.onset = -1
		return
	}
	last := c.onset
	c.onset = onset
	if d := onset - (preLag - 1); d != 0 && onset == last {
		c.moveTo(pos, c.lag+d, true)
		c.onset = -1
	}
}

// refineEvery is how often (in blocks with echo) refine looks.
const refineEvery = 64

// moveTo moves the filter to bulk delay lag (blocks, clamped to the
// range). With keep, each partition of the echo path keeps its delay from
// the playout (the filter's window moves over an echo path that stays
// put); without, the partitions move with the bulk delay (the echo path
// moved).
func (c *Canceller) moveTo(pos int64, lag int, keep bool) {
	lag = min(max(lag, c.minLag), c.maxLag)
	if lag == c.lag {
		return
	}
	b := c.b
	if keep { // partition p keeps its delay from the playout, lag+p blocks
		c.f.shift(c.lag - lag)
	}
	c.lag = lag
	for p := 1; p < c.f.parts; p++ {
		// After the next block's push, partition p holds the window
		// ending p-1 blocks before the next block.
		c.ref.read(c.xbuf, pos+int64(b)-int64((lag+p)*b)-int64(b))
		c.f.setRef(p, c.xbuf)
	}
	c.stats.Delay = c.delay()
}

// preLag is how many blocks of the filter sit before the estimated echo
// delay: the envelope correlation peaks on the strongest early energy,
// which can come a little after the direct sound.
const preLag = 2

// meter updates the ERLE figures from blocks with echo only.
func (c *Canceller) meter(talk Talk, ey, ee, eo float32) {
	c.stats.Talk = talk
	// The suppressor's output lags one block: pair it with the previous
	// block's microphone energy and state.
	prevY, prevFar := c.prevEy, c.prevFar
	c.prevEy, c.prevFar = ey, talk == FarEnd
	const keep = 0.996 // about 2 s of echo-only blocks
	if talk == FarEnd {
		c.erle.y = keep*c.erle.y + float64(ey)
		c.erle.e = keep*c.erle.e + float64(ee)
		c.erle.n++
	}
	if prevFar {
		c.erle.yo = keep*c.erle.yo + float64(prevY)
		c.erle.o = keep*c.erle.o + float64(eo)
	}
	if c.erle.n >= erleMinBlocks {
		c.stats.ERLE = ratioDB(c.erle.y, c.erle.e)
		c.stats.ERLESuppressed = ratioDB(c.erle.yo, c.erle.o)
	}
}

// erleMinBlocks is how many echo-only blocks the ERLE figures wait for
// (0.4 s).
const erleMinBlocks = 50

// erleMeter accumulates energies of echo-only blocks.
type erleMeter struct {
	y, e, yo, o float64
	n           int
}

// ratioDB returns 10·log10(a/b), capped at 100 dB.
func ratioDB(a, b float64) float64 {
	if a <= 0 {
		return 0
	}
	if b <= a*1e-10 {
		return 100
	}
	return 10 * math.Log10(a/b)
}

// Stats describes what the canceller is doing.
type Stats struct {
	// ERLE is the echo return loss enhancement of the adaptive filter in
	// dB: microphone energy over the filter's output energy, on blocks of
	// echo without the user, over the last few seconds of them. Zero until
	// 0.4 s of such blocks.
	ERLE float64
	// ERLESuppressed is the same after the residual echo suppressor.
	ERLESuppressed float64
	// Delay is the bulk delay the filter starts at; DelayFound reports
	// whether the delay estimator has found the echo (always false with
	// WithFixedDelay).
	Delay      time.Duration
	DelayFound bool
	// Talk is who is speaking in the latest block.
	Talk Talk
}

// Stats returns the canceller's figures.
func (c *Canceller) Stats() Stats { return c.stats }

// clip16 rounds v to the nearest int16, saturating.
func clip16(v float32) int16 {
	switch {
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	case v >= 0:
		return int16(v + 0.5)
	default:
		return int16(v - 0.5)
	}
}
