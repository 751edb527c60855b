package agent

import (
	"cmp"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent/language"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/prosody"
)

// voiceStopAfter is how long the VAD must hear silence inside speech before
// the voice counts as stopped (voiceStopped): a little more than one window,
// so that the dip between two syllables does not count.
const voiceStopAfter = 60 * time.Millisecond

// maxTurnAudio bounds the audio kept for one user turn.
const maxTurnAudio = 16000 * 120

// maxPooledAudio bounds the storage of a turn's audio kept for later
// turns (15 s at 16 kHz): a rare long turn's is left to the collector.
const maxPooledAudio = 16000 * 15

// turnAudio is storage for user turns' audio, shared by the sessions of a
// process: a turn takes one when it starts and gives it back when it ends,
// so that a steady conversation does not regrow (and copy) its audio
// buffer sample by sample every turn, and a call that is not being spoken
// to holds none.
var turnAudio = sync.Pool{New: func() any { return new(audioBuf) }}

// audioBuf boxes a turn's audio storage for turnAudio.
type audioBuf struct{ s []int16 }

// userTurn is the user's turn being captured: its audio, its recognition
// and its end.
type userTurn struct {
	active     bool
	speaking   bool
	audio      []int16   // from audioStart
	buf        *audioBuf // audio's storage, from turnAudio
	audioStart int64
	speechEnd  int64 // stream position where speech last ended
	endWall    time.Time
	stream     pipeline.STTStream
	// streamed is how much of audio the stream has been given; committed:
	// the stream was asked for the words so far (the user stopped), and
	// takes no more audio until the user speaks again.
	streamed  int
	committed bool
	partial   string // the last partial text reported
	// levels are the frame levels of the turn's speech, for the level
	// gate once the turn is the user's.
	levels []float64
	heard  heard // what poll last gave the interrupt machine
	// Transcription of audio[:target]: seq of the request in flight or
	// answered, and the answer once it came.
	target   int
	seq      uint64
	result   *pipeline.Transcript
	resultN  int
	err      error
	final    bool // result is a final transcript, not a partial one
	closing  bool // a streaming recogniser is producing its final result
	retried  bool // a second recognition was asked for
	sttFinal time.Time
	// The endpointer's wait for the words of waitText, in waitLang, once
	// waitSet (see wait).
	waitText, waitLang string
	waitFor            time.Duration
	waitSet            bool
}

// wait returns e.wait for text in lang, asking e only when the words
// changed: the end of the turn is checked on every frame of the silence
// after them.
func (u *userTurn) wait(e *endpointer, text, lang string) time.Duration {
	if !u.waitSet || u.waitText != text || u.waitLang != lang {
		u.waitText, u.waitLang, u.waitFor, u.waitSet = text, lang, e.wait(text, lang), true
	}
	return u.waitFor
}

func (l *loop) onMic(ctx context.Context, m micMsg) {
	l.micPos = m.pos
	l.echo = m.echo
	l.level.echo = silentLevel
	if m.echo.live {
		l.level.echo = m.echo.ceiling
	}
	if m.echo.echo && l.rep != nil {
		l.rep.echo += int64(len(m.samples))
	}
	first := m.pos - int64(len(m.samples))
	l.remember(m.samples)
	started := false
	for _, ev := range m.events {
		switch ev.Type {
		case vad.SpeechStart:
			l.inSpeech, l.quiet, l.vadQuiet, started = true, false, false, true
			l.onSpeechStart(ctx, ev, m)
		case vad.SpeechEnd:
			l.inSpeech, l.quiet, l.vadQuiet = false, false, false
			l.onSpeechEnd(ctx, ev, m)
		case vad.SpeechPending:
			l.feed(ctx, speechPending{faint: !l.loudOnset(ev, m)})
		case vad.SpeechDropped:
			l.feed(ctx, speechDropped{})
		}
	}
	var fell bool
	if l.inSpeech && !started {
		fell = l.levels(ctx, m)
		l.judgeSound(ctx, m.samples)
	}
	l.quietSince = since(l.quietSince, m.quiet && l.inSpeech, first)
	l.fellSince = since(l.fellSince, fell && l.inSpeech, first)
	vadQuiet := l.quietSince >= 0 && l.samplesDur(m.pos-l.quietSince) >= voiceStopAfter
	quiet := vadQuiet || l.fellSince >= 0 && l.samplesDur(m.pos-l.fellSince) >= voiceStopAfter
	if l.inSpeech && (quiet != l.quiet || vadQuiet && !l.vadQuiet) {
		l.quiet, l.vadQuiet = quiet, vadQuiet
		l.onVoice(ctx)
	}
	l.vadQuiet = l.vadQuiet && vadQuiet
	u := &l.user
	if u.active && !u.closing {
		from := max(first, u.audioStart+int64(len(u.audio)))
		if from < m.pos && len(u.audio) < maxTurnAudio {
			u.audio = pcm.Append(u.audio, m.samples[from-first:])
		}
		l.stream()
	}
	if u.active && u.stream != nil {
		l.poll(ctx)
	}
	if l.timer != 0 && l.micPos >= l.timer {
		l.timer = 0
		l.feed(ctx, timerFired{})
	}
	l.checkEndOfTurn(ctx)
}

// stream gives the streaming recogniser the turn's audio it has not had,
// unless it was committed and the user has not spoken since.
func (l *loop) stream() {
	u := &l.user
	if u.stream == nil || u.committed || u.streamed >= len(u.audio) {
		return
	}
	if err := u.stream.Write(u.audio[u.streamed:]); err != nil {
		l.emitError("stt", err)
		l.closeStream()
		return
	}
	u.streamed = len(u.audio)
}

// since returns the stream position a condition has held since: -1 while
// it does not hold, first when it begins to.
func since(pos int64, holds bool, first int64) int64 {
	switch {
	case !holds:
		return -1
	case pos < 0:
		return first
	}
	return pos
}

// onVoice handles the voice stopping inside the user's speech (by its
// level, then by the VAD), or coming back before the VAD confirmed the
// end. Over a paused reply, a stream that has given no words yet is
// committed when the VAD hears the voice stop, so that the words of a
// short interruption ("uh-huh") come before the VAD confirms its end.
func (l *loop) onVoice(ctx context.Context) {
	u := &l.user
	if !l.quiet {
		u.committed = false // the recogniser gets the pause and what follows
		l.feed(ctx, voiceReturned{})
		return
	}
	l.feed(ctx, voiceStopped{faded: !l.vadQuiet})
	// A recogniser that has given no words yet gives them on a commit (the
	// Realtime API does); one whose partial results flow decides on them,
	// and its final search runs on the whole speech at its end. Not on the
	// level's fall alone: a stop consonant's release may follow it.
	if !l.vadQuiet {
		return
	}
	if c, ok := u.stream.(pipeline.StreamCommitter); ok && u.active && u.partial == "" && l.barge.paused() {
		c.Commit()
		u.committed = true
	}
}

// heard is what poll last gave the interrupt machine.
type heard struct {
	text           string
	covered, whole bool
	seq            uint64
}

// poll reads a streaming recogniser's partial result on every frame: it
// feeds user_partial events, and a stop word or enough words settle a
// paused reply before the user has finished. Once a committed stream's
// result covers all of the speech, it is final: the turn's final transcript
// once the speech has ended.
func (l *loop) poll(ctx context.Context) {
	u := &l.user
	tr := u.stream.Partial()
	if tr.Text != "" && tr.Text != u.partial {
		u.partial = tr.Text
		l.emit(Event{Type: EventUserPartial, Text: tr.Text, Language: tr.Language})
	}
	covered := tr.Final && u.committed
	h := heard{text: tr.Text, covered: covered, whole: tr.Whole, seq: u.seq}
	if h == u.heard || (tr.Text == "" && !covered) {
		return
	}
	u.heard = h
	lang := cmp.Or(tr.Language, l.lang)
	switch {
	case covered && u.seq != 0:
		l.onSTT(ctx, sttMsg{seq: u.seq, n: u.target, tr: tr, final: true, at: time.Now()})
	case covered:
		// Committed when the voice stopped: the words of all the speech
		// so far.
		l.feed(ctx, wordsHeard{text: tr.Text, lang: lang, final: true, complete: true})
	default:
		// After the end of speech, a newer partial result is a better one
		// for the same speech.
		n := -1
		if !u.speaking && u.seq != 0 {
			n = u.target
		}
		u.result, u.resultN, u.err, u.final = &tr, n, nil, false
		l.feed(ctx, wordsHeard{text: tr.Text, lang: lang, complete: n >= 0})
	}
}

// remember keeps the latest pre-roll of microphone audio, for a turn that
// starts inside speech (voiceLoud).
func (l *loop) remember(samples []int16) {
	keep := l.rate * int(vad.DefaultPreRoll/time.Millisecond) / 1000
	if l.recent == nil {
		// At its working size at once: grown by append, every new call
		// would allocate several times that.
		l.recent = make([]int16, 0, 2*keep+len(samples))
	}
	if len(l.recent)+len(samples) > 2*keep {
		n := copy(l.recent, l.recent[max(0, len(l.recent)-keep):])
		l.recent = l.recent[:n]
	}
	l.recent = append(l.recent, samples...)
}

// levels judges one frame inside speech by its level: a faint speech
// (another voice in the room) that reaches the user's level is the user
// talking over it. The turn of the faint speech may have been dropped (the
// reply played on over it); the user's turn starts here, with the
// pre-roll before. fell reports whether every frame's level has fallen
// voiceFallDB below the speech's loudest: silence inside the speech.
func (l *loop) levels(ctx context.Context, m micMsg) (fell bool) {
	u := &l.user
	block := l.rate / 50
	var loud bool
	fell = len(m.samples) > 0
	for i := 0; i < len(m.samples); i += block {
		lv := frameLevel(m.samples[i:min(len(m.samples), i+block)])
		if u.active && len(u.levels) < maxTurnAudio/block {
			u.levels = append(u.levels, lv)
		}
		loud = l.level.frame(lv) || loud
		fell = l.voice.fell(lv) && fell
	}
	if !l.faint || !loud {
		return fell
	}
	l.faint = false
	l.abandonPreempt() // the user talks
	if !u.active || u.closing {
		pre := l.recent[max(0, len(l.recent)-l.rate*int(vad.DefaultPreRoll/time.Millisecond)/1000):]
		l.startTurn(ctx, pre, m.pos-int64(len(pre)))
	}
	l.confirmed.at, l.confirmed.lead = m.at, loudFrames*pipeline.FrameDuration
	l.feed(ctx, voiceLoud{})
	return fell
}

// startTurn begins capturing a user turn whose audio so far is audio, from
// stream position start.
func (l *loop) startTurn(ctx context.Context, audio []int16, start int64) {
	l.closeStream()
	u := &l.user
	u.release()
	b := turnAudio.Get().(*audioBuf)
	*u = userTurn{active: true, speaking: true, buf: b, audio: append(b.s[:0], audio...), audioStart: start}
	if l.cfg.sstt != nil {
		st, err := l.cfg.sstt.StartStream(ctx, pcm.Format{Rate: l.rate, Channels: 1}, l.lang)
		if err != nil {
			l.emitError("stt", err)
		} else {
			u.stream = st
			l.stream()
		}
	}
}

// release gives the turn's audio storage back to turnAudio; the audio
// must not be used after.
func (u *userTurn) release() {
	if u.buf == nil {
		return
	}
	u.buf.s = u.audio
	putAudio(u.buf)
	u.buf, u.audio = nil, nil
}

// putAudio gives b back to turnAudio, without storage too large to keep.
func putAudio(b *audioBuf) {
	b.s = b.s[:0]
	if cap(b.s) > maxPooledAudio {
		b.s = nil
	}
	turnAudio.Put(b)
}

// loudOnset reports whether the window of a possible start of speech
// (SpeechPending) is loud enough to be the user's voice: loudFrames
// consecutive 20 ms blocks at the user's level (see levelGate), so that
// neither another voice in the room nor a click holds the reply.
func (l *loop) loudOnset(ev vad.Event, m micMsg) bool {
	// The window ends m.pos-ev.At samples before the end of recent.
	end := int64(len(l.recent)) - (m.pos - ev.At)
	begin := end - (ev.At - ev.Start)
	if begin < 0 || end > int64(len(l.recent)) || begin >= end {
		return false
	}
	w := l.recent[begin:end]
	block := l.rate / 50
	run := 0
	for i := 0; i+block/2 <= len(w); i += block {
		if frameLevel(w[i:min(len(w), i+block)]) < l.level.bar() {
			run = 0
			continue
		}
		if run++; run >= loudFrames {
			return true
		}
	}
	return false
}

func (l *loop) onSpeechStart(ctx context.Context, ev vad.Event, m micMsg) {
	u := &l.user
	u.speaking = true
	if !u.active || u.closing {
		l.startTurn(ctx, ev.Audio, ev.At-int64(len(ev.Audio)))
	}
	// The level of the onset: faint speech is not the user's.
	block := l.rate / 50
	onset := ev.Audio[max(0, int64(len(ev.Audio))-(ev.At-ev.Start)):]
	var levels []float64
	for i := 0; i < len(onset); i += block {
		levels = append(levels, frameLevel(onset[i:min(len(onset), i+block)]))
	}
	l.voice.start(levels)
	l.faint = !l.level.start(levels)
	u.levels = append(u.levels, levels...)
	if l.sound != nil {
		l.sound.Reset()
		l.nonLexical = false
	}
	// The user goes on: the recogniser gets the pause and the new speech,
	// and a reply prepared on the words before it is dropped.
	l.abandonPreempt()
	u.committed = false
	// Audio grows again: an answer for the shorter audio no longer decides.
	u.seq = 0
	l.confirmed.at, l.confirmed.lead = m.at, l.samplesDur(m.pos-ev.Start)
	follows := l.spokeUntil >= 0 && l.samplesDur(ev.Start-l.spokeUntil) <= followOnGap
	l.feed(ctx, speechStarted{lead: l.confirmed.lead, faint: l.faint, follows: follows})
	l.judgeSound(ctx, onset)
	l.setState(StateUserSpeaking)
}

// judgeSound gives the non-lexical judge the next audio of the speech the
// VAD is inside, while there is a reply to keep, and tells the interrupt
// machine when its verdict changes. A laugh stays a laugh until the judge
// hears what only words have: its last bursts, slower and weaker, no longer
// make a laugh of their own.
func (l *loop) judgeSound(ctx context.Context, samples []int16) {
	if l.sound == nil || l.barge.phase == phaseIdle {
		return
	}
	s := l.sound.Write(samples)
	if nl := s.NonLexical() || l.nonLexical && s != prosody.SoundLexical; nl != l.nonLexical {
		l.nonLexical = nl
		l.feed(ctx, soundJudged{nonLexical: nl})
	}
}

func (l *loop) onSpeechEnd(ctx context.Context, ev vad.Event, m micMsg) {
	l.endSpeech(ctx, ev.End, m.at)
}

// endSpeech ends the user's speech at stream position end and asks for its
// words.
func (l *loop) endSpeech(ctx context.Context, end int64, at time.Time) {
	u := &l.user
	u.speaking = false
	l.spokeUntil = end
	l.feed(ctx, speechEnded{})
	if !u.active {
		return
	}
	u.speechEnd = end
	u.endWall = at
	// Transcribe up to the end of speech plus a little silence.
	u.target = min(len(u.audio), int(end-u.audioStart)+l.rate/5)
	if u.target < 0 {
		u.target = len(u.audio)
	}
	l.transcribe(ctx)
}

// endInput winds the conversation down when the transport's input has
// ended (the client has gone): a reply in progress stops, its history cut
// to what was heard, and the user's turn in progress ends there; it is
// recognised and recorded, not answered.
func (l *loop) endInput(ctx context.Context) {
	l.abandonPreempt()
	l.feed(ctx, replyStopped{reason: "input ended"})
	if l.user.active && l.user.speaking {
		l.endSpeech(ctx, l.micPos, time.Now())
	}
	l.checkEndOfTurn(ctx)
}

// settled reports whether nothing is left to do once the input has ended:
// no user turn being captured and no reply running.
func (l *loop) settled() bool { return !l.user.active && l.rep == nil }

// transcribe asks for a transcript of the turn so far: the streaming
// recogniser's partial result, or a batch recognition in the background.
func (l *loop) transcribe(ctx context.Context) {
	u := &l.user
	l.sttSeq++
	u.seq = l.sttSeq
	if c, ok := u.stream.(pipeline.StreamCommitter); ok {
		// The final words come while the end of the turn is awaited.
		c.Commit()
		u.committed = true
		l.poll(ctx)
		return
	}
	if u.stream != nil {
		tr := u.stream.Partial()
		if tr.Text != "" && tr.Text != u.partial {
			u.partial = tr.Text
			l.emit(Event{Type: EventUserPartial, Text: tr.Text, Language: tr.Language})
		}
		l.onSTT(ctx, sttMsg{seq: u.seq, n: u.target, tr: tr, at: time.Now()})
		return
	}
	if l.cfg.stt != nil {
		l.recognise(ctx, l.cfg.stt)
	}
}

// batchSTT returns a recogniser of whole utterances: the configured one, or
// the streaming one when it can also do that.
func (l *loop) batchSTT() pipeline.STT {
	if l.cfg.stt != nil {
		return l.cfg.stt
	}
	stt, _ := l.cfg.sstt.(pipeline.STT)
	return stt
}

// recognise transcribes the turn so far with stt in the background.
func (l *loop) recognise(ctx context.Context, stt pipeline.STT) {
	u := &l.user
	// A copy, in pooled storage the recogniser gives back (pipeline.STT
	// keeps no audio once Transcribe returns): the turn's audio may grow
	// meanwhile.
	b := turnAudio.Get().(*audioBuf)
	b.s = append(b.s[:0], u.audio[:u.target]...)
	audio := pcm.Frame{Samples: b.s, Format: pcm.Format{Rate: l.rate, Channels: 1}}
	seq, n, lang, timeout := u.seq, u.target, l.lang, l.cfg.providerTimeout
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
		defer cancel()
		tr, err := stt.Transcribe(sctx, audio, lang)
		putAudio(b)
		if err != nil && ctx.Err() != nil {
			return
		}
		l.in.put(false, sttMsg{seq: seq, n: n, tr: tr, err: err, final: true, at: time.Now()})
	}()
}

// closeStream abandons the streaming recognition of the current turn:
// aborted when the stream can be, else closed in the background.
func (l *loop) closeStream() {
	st := l.user.stream
	if st == nil {
		return
	}
	l.user.stream = nil
	if a, ok := st.(pipeline.StreamAborter); ok {
		a.Abort()
		return
	}
	l.releaseStream(st)
}

// releaseStream closes a stream whose result is no longer needed, in the
// background.
func (l *loop) releaseStream(st pipeline.STTStream) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_, _ = st.Close()
	}()
}

func (l *loop) onSTT(ctx context.Context, m sttMsg) {
	u := &l.user
	if !u.active || m.seq != u.seq || m.seq == 0 {
		return
	}
	tr := m.tr
	u.result, u.resultN, u.err, u.final = &tr, m.n, m.err, m.final
	if m.final {
		u.sttFinal = m.at
	}
	if tag, err := language.Parse(tr.Language); m.err == nil && err == nil {
		l.lang = tag // a recogniser's odd tag never reaches the prompt
	}
	if u.closing {
		if m.err == nil && strings.TrimSpace(tr.Text) == "" && l.barge.paused() && !u.retried {
			// The streaming recogniser heard nothing in speech that paused
			// a reply: ask again on the whole utterance, when possible.
			if stt := l.batchSTT(); stt != nil {
				u.retried = true
				l.sttSeq++
				u.seq = l.sttSeq
				l.recognise(ctx, stt)
				return
			}
		}
		l.commit(ctx)
		return
	}
	l.feed(ctx, wordsHeard{text: tr.Text, lang: cmp.Or(tr.Language, l.lang), final: m.final, complete: m.n == u.target, failed: m.err != nil})
	l.checkEndOfTurn(ctx)
}

// checkEndOfTurn commits the user's turn once the silence after it is long
// enough for how its words end (see endpointer).
func (l *loop) checkEndOfTurn(ctx context.Context) {
	u := &l.user
	if !u.active || u.speaking || u.closing || u.seq == 0 {
		return
	}
	// Speech that paused a reply is settled as soon as it ends: the reply
	// resumes sooner, and words that follow start a turn of their own. Once
	// the input has ended, no more words can come.
	paused := l.barge.paused() || l.barge.settling || l.inputEnded
	silence := l.samplesDur(l.micPos - u.speechEnd)
	committed := u.stream != nil && u.committed
	if u.result == nil || u.resultN != u.target {
		// Wait for the transcript: how it ends says how long to wait. A
		// committed stream whose words are late is closed for them once
		// the longest wait has passed, or the input has ended.
		if committed && (paused || silence >= l.cfg.endpoint.open) {
			l.closeForFinal()
		}
		return
	}
	// The silence that ends the turn: less after words that may end it,
	// more after an unfinished phrase, none after a complete code.
	var hold time.Duration
	if !paused && u.err == nil {
		hold = u.wait(&l.cfg.endpoint, u.result.Text, cmp.Or(u.result.Language, l.lang))
	}
	// While the end of the turn or its final words are awaited, a reply to
	// the words so far may be prepared (see preemptor), once they are the
	// words of all the speech: a committed stream's words are once final,
	// or whole; otherwise they are the beginning of its transcript, still
	// coming.
	var words string
	if u.err == nil && (u.final || !committed || u.result.Whole) {
		words = u.result.Text
	}
	if silence < hold {
		l.preempt(ctx, words)
		return
	}
	switch {
	case committed && u.final:
		// The committed stream's words cover all of the speech.
		st := u.stream
		u.stream = nil
		l.releaseStream(st)
	case u.stream != nil:
		l.preempt(ctx, words)
		l.closeForFinal()
		return
	}
	l.commit(ctx)
}

// closeForFinal closes the turn's stream for its final words, which end the
// turn when they come.
func (l *loop) closeForFinal() {
	u := &l.user
	u.closing = true
	st := u.stream
	u.stream = nil
	l.sttSeq++
	u.seq = l.sttSeq
	seq, n := u.seq, u.target
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		tr, err := st.Close()
		l.in.put(false, sttMsg{seq: seq, n: n, tr: tr, err: err, final: true, at: time.Now()})
	}()
}

// commit ends the user's turn with its transcript and hands it to the
// interrupt machine, which answers it, holds it or resumes the reply it
// paused.
func (l *loop) commit(ctx context.Context) {
	u := l.user
	l.user = userTurn{}
	var tr pipeline.Transcript
	if u.result != nil {
		tr = *u.result
		tr.Text = strings.TrimSpace(tr.Text)
	}
	if u.err != nil {
		l.emitError("stt", u.err)
		tr = pipeline.Transcript{}
	}
	l.cfg.log.Debug("user turn ended", "text", tr.Text, "language", tr.Language, "interrupting", l.barge.paused())
	w := userWords{tr: tr, lang: cmp.Or(tr.Language, l.lang), failed: u.err != nil, endWall: u.endWall, sttFinal: u.sttFinal, levels: u.levels}
	if l.esc != nil {
		n := u.target
		if n <= 0 || n > len(u.audio) {
			n = len(u.audio)
		}
		if v, ok := measureVoice(u.audio[:n], l.rate); ok {
			w.voice = &v
		}
	}
	u.release()
	l.feed(ctx, turnEnded{turn: w})
	l.abandonPreempt() // the turn was not answered with the words it was prepared on
	l.afterUser()
}

// userTurn takes up a finished user turn: into the history, and answered
// unless answer is false, it is only a stop word, or the input has ended.
func (l *loop) userTurn(ctx context.Context, w userWords, answer bool) {
	tr := w.tr
	l.emit(Event{Type: EventUserFinal, Text: tr.Text, Language: tr.Language})
	if !answer || l.inputEnded || l.cfg.stopWords.only(tr.Text, tr.Language) {
		// "Stop." alone: the reply is cancelled, nothing to answer.
		l.appendHistory(pipeline.Message{Role: pipeline.RoleUser, Content: tr.Text})
		return
	}
	var tm TurnMetrics
	if !w.sttFinal.IsZero() && !w.endWall.IsZero() {
		tm.STTFinal = max(w.sttFinal.Sub(w.endWall), time.Nanosecond)
	}
	l.startReply(ctx, tr.Text, w.endWall, tm, l.escalate(tr.Text, w.lang, w.voice))
}

func (l *loop) onText(ctx context.Context, m textCmd) {
	text := strings.TrimSpace(m.text)
	if text == "" {
		return
	}
	l.feed(ctx, replyStopped{reason: "text"})
	l.emit(Event{Type: EventUserFinal, Text: text, Language: l.lang})
	l.startReply(ctx, text, m.at, TurnMetrics{}, l.escalate(text, l.lang, nil))
}
