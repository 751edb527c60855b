package agent

import (
	"cmp"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

// maxRecognitionWait is how much longer than the policy window a paused
// reply waits for the words of the speech that paused it.
const maxRecognitionWait = 4 * time.Second

// partialExtraWords is how many more words than the policy minimum a
// partial transcript needs to cancel a paused reply on its own.
const partialExtraWords = 2

// maxTurnAudio bounds the audio kept for one user turn.
const maxTurnAudio = 16000 * 120

// loop is the state of one Run, owned by the session loop goroutine.
type loop struct {
	s    *Session
	in   *inbox
	play *pipeline.Playout
	gens pipeline.Generations
	wg   sync.WaitGroup
	rate int // VAD sample rate

	lang   string
	images []pipeline.Image
	micPos int64
	user   userTurn
	rep    *reply
	barge  *barge
	sttSeq uint64
	// pending is a user turn that ended during an uninterruptible chunk; it
	// is taken up when the chunk has played.
	pending *pipeline.Transcript
}

// userTurn is the user's turn being captured.
type userTurn struct {
	active     bool
	speaking   bool
	audio      []int16 // from audioStart
	audioStart int64
	speechEnd  int64 // stream position where speech last ended
	endWall    time.Time
	stream     pipeline.STTStream
	// Transcription of audio[:target]: seq of the request in flight or
	// answered, and the answer once it came.
	target   int
	seq      uint64
	result   *pipeline.Transcript
	resultN  int
	err      error
	final    bool // result is a final transcript, not a partial one
	closing  bool // a streaming recogniser is producing its final result
	polled   int  // len(audio) at the last partial result
	retried  bool // a second recognition was asked for
	sttFinal time.Time
	barge    bool // the turn began by talking over a reply
}

// barge is a reply paused because the user talked over it.
type barge struct {
	gen      uint64
	start    int64 // stream position of the interrupting speech
	info     Interruption
	resolved bool
}

// sttMsg is a recogniser's answer for a user turn.
type sttMsg struct {
	seq   uint64
	n     int
	tr    pipeline.Transcript
	err   error
	final bool
	at    time.Time
}

func (l *loop) onMic(ctx context.Context, m micMsg) {
	l.micPos = m.pos
	first := m.pos - int64(len(m.samples))
	for _, ev := range m.events {
		switch ev.Type {
		case vad.SpeechStart:
			l.onSpeechStart(ctx, ev, m)
		case vad.SpeechEnd:
			l.onSpeechEnd(ctx, ev, m)
		}
	}
	u := &l.user
	if u.active && !u.closing {
		from := max(first, u.audioStart+int64(len(u.audio)))
		if from < m.pos && len(u.audio) < maxTurnAudio {
			add := m.samples[from-first:]
			u.audio = append(u.audio, add...)
			if u.stream != nil {
				if err := u.stream.Write(add); err != nil {
					l.emitError("stt", err)
					l.closeStream()
				}
			}
		}
	}
	if u.active && u.speaking && u.stream != nil && len(u.audio)-u.polled >= l.rate*3/10 {
		l.poll(ctx)
	}
	l.checkBarge(ctx)
	l.checkEndOfTurn(ctx)
}

// poll reads a streaming recogniser's partial result while the user
// speaks: it feeds user_partial events, and a stop word or enough words
// settle a paused reply before the user has finished.
func (l *loop) poll(ctx context.Context) {
	u := &l.user
	u.polled = len(u.audio)
	tr := u.stream.Partial()
	if tr.Text == "" || (u.result != nil && tr.Text == u.result.Text) {
		return
	}
	u.result, u.resultN, u.err, u.final = &tr, -1, nil, false
	l.emit(Event{Type: EventUserPartial, Text: tr.Text, Language: tr.Language})
	l.decideBarge(ctx)
}

func (l *loop) onSpeechStart(ctx context.Context, ev vad.Event, m micMsg) {
	u := &l.user
	u.speaking = true
	if !u.active || u.closing {
		l.closeStream()
		*u = userTurn{active: true, speaking: true, audio: append([]int16(nil), ev.Audio...), audioStart: ev.At - int64(len(ev.Audio))}
		if l.s.sstt != nil {
			st, err := l.s.sstt.StartStream(ctx, pcm.Format{Rate: l.rate, Channels: 1}, l.lang)
			if err != nil {
				l.emitError("stt", err)
			} else {
				u.stream = st
				if err := st.Write(u.audio); err != nil {
					l.emitError("stt", err)
					l.closeStream()
				}
			}
		}
	}
	// Audio grows again: an answer for the shorter audio no longer decides.
	u.seq = 0
	if l.barge == nil && (l.rep != nil) {
		l.bargeIn(ctx, ev, m)
	}
	l.setState(StateUserSpeaking)
}

func (l *loop) onSpeechEnd(ctx context.Context, ev vad.Event, m micMsg) {
	u := &l.user
	if !u.active {
		return
	}
	u.speaking = false
	u.speechEnd = ev.End
	u.endWall = m.at
	// Transcribe up to the end of speech plus a little silence.
	u.target = min(len(u.audio), int(ev.End-u.audioStart)+l.rate/5)
	if u.target < 0 {
		u.target = len(u.audio)
	}
	l.transcribe(ctx)
}

// transcribe asks for a transcript of the turn so far: the streaming
// recogniser's partial result, or a batch recognition in the background.
func (l *loop) transcribe(ctx context.Context) {
	u := &l.user
	l.sttSeq++
	u.seq = l.sttSeq
	if u.stream != nil {
		tr := u.stream.Partial()
		if tr.Text != "" {
			l.emit(Event{Type: EventUserPartial, Text: tr.Text, Language: tr.Language})
		}
		l.onSTT(ctx, sttMsg{seq: u.seq, n: u.target, tr: tr, at: time.Now()})
		return
	}
	if l.s.stt != nil {
		l.recognise(ctx, l.s.stt)
	}
}

// batchSTT returns a recogniser of whole utterances: the configured one, or
// the streaming one when it can also do that.
func (l *loop) batchSTT() pipeline.STT {
	if l.s.stt != nil {
		return l.s.stt
	}
	stt, _ := l.s.sstt.(pipeline.STT)
	return stt
}

// recognise transcribes the turn so far with stt in the background.
func (l *loop) recognise(ctx context.Context, stt pipeline.STT) {
	u := &l.user
	audio := pcm.Frame{Samples: append([]int16(nil), u.audio[:u.target]...), Format: pcm.Format{Rate: l.rate, Channels: 1}}
	seq, n, lang, timeout := u.seq, u.target, l.lang, l.s.providerTimeout
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sctx, cancel := context.WithTimeoutCause(ctx, timeout, ErrTimeout)
		defer cancel()
		tr, err := stt.Transcribe(sctx, audio, lang)
		if err != nil && ctx.Err() != nil {
			return
		}
		l.in.put(false, sttMsg{seq: seq, n: n, tr: tr, err: err, final: true, at: time.Now()})
	}()
}

// closeStream abandons the streaming recognition of the current turn.
func (l *loop) closeStream() {
	if st := l.user.stream; st != nil {
		l.user.stream = nil
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			_, _ = st.Close()
		}()
	}
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
	if m.err == nil && tr.Language != "" {
		l.lang = tr.Language
	}
	if u.closing {
		if m.err == nil && strings.TrimSpace(tr.Text) == "" && u.barge && l.barge != nil && !u.retried {
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
	l.decideBarge(ctx)
	l.checkEndOfTurn(ctx)
}

// checkEndOfTurn commits the user's turn once the silence after it is long
// enough: the end-of-turn time, plus the number hold when the words so far
// end in a digit, a spelled letter or a word that leaves the sentence open.
func (l *loop) checkEndOfTurn(ctx context.Context) {
	u := &l.user
	if !u.active || u.speaking || u.closing || u.seq == 0 {
		return
	}
	// Speech that paused a reply is settled as soon as it ends: the reply
	// resumes sooner, and words that follow start a turn of their own.
	paused := u.barge && l.barge != nil
	eot := l.s.endOfTurn
	if paused {
		eot = 0
	}
	silence := l.samplesDur(l.micPos - u.speechEnd)
	if silence < eot {
		return
	}
	if u.result == nil || u.resultN != u.target {
		return // wait for the transcript: it may end in a number
	}
	hold := eot
	if lang := u.result.Language; !paused && u.err == nil && (endsInNumber(u.result.Text) || endsOpen(u.result.Text, cmp.Or(lang, l.lang))) {
		hold += l.s.numberHold
	}
	if silence < hold {
		return
	}
	if u.stream != nil {
		// The streaming recogniser gives its final result on Close.
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
		return
	}
	l.commit(ctx)
}

// commit ends the user's turn with its transcript.
func (l *loop) commit(ctx context.Context) {
	u := l.user
	l.user = userTurn{}
	text := ""
	var tr pipeline.Transcript
	if u.result != nil {
		tr = *u.result
		text = strings.TrimSpace(tr.Text)
	}
	if u.err != nil {
		l.emitError("stt", u.err)
		if u.barge && l.barge != nil {
			l.resume(ctx)
			return
		}
		l.afterUser()
		l.startSay(ctx, l.s.fallback, false)
		return
	}
	l.s.log.Debug("user turn ended", "text", text, "language", tr.Language, "interrupting", u.barge && l.barge != nil)
	if u.barge && l.barge != nil && !l.barge.resolved {
		if !l.realInterruption(text, tr.Language) {
			l.resume(ctx)
			return
		}
		l.cancelReply(ctx, "speech")
	}
	if text == "" {
		l.afterUser()
		return
	}
	tr.Text = text
	if l.play.Uninterruptible() {
		l.pending = &tr
		return
	}
	l.userTurn(ctx, tr, u.endWall, u.sttFinal)
}

// userTurn starts the reply to a finished user turn.
func (l *loop) userTurn(ctx context.Context, tr pipeline.Transcript, endWall, sttFinal time.Time) {
	if l.rep != nil {
		l.cancelReply(ctx, "turn")
	}
	l.barge = nil
	l.emit(Event{Type: EventUserFinal, Text: tr.Text, Language: tr.Language})
	if l.s.stopWords.only(tr.Text, tr.Language) {
		// "Stop." alone: the reply is cancelled, nothing to answer.
		l.appendHistory(pipeline.Message{Role: pipeline.RoleUser, Content: tr.Text})
		l.afterUser()
		return
	}
	var tm TurnMetrics
	if !sttFinal.IsZero() && !endWall.IsZero() {
		tm.STTFinal = max(sttFinal.Sub(endWall), time.Nanosecond)
	}
	l.startReply(ctx, tr.Text, endWall, tm)
}

// afterUser returns to listening (or to speaking, when a reply plays on).
func (l *loop) afterUser() {
	switch {
	case l.user.active && l.user.speaking:
		l.setState(StateUserSpeaking)
	case l.rep != nil && l.rep.audible:
		l.setState(StateSpeaking)
	case l.rep != nil:
		l.setState(StateThinking)
	default:
		l.setState(StateListening)
	}
}

func (l *loop) onText(ctx context.Context, m textCmd) {
	text := strings.TrimSpace(m.text)
	if text == "" {
		return
	}
	if l.rep != nil {
		l.cancelReply(ctx, "text")
	}
	l.barge = nil
	l.emit(Event{Type: EventUserFinal, Text: text, Language: l.lang})
	l.startReply(ctx, text, m.at, TurnMetrics{})
}

// bargeIn handles speech confirmed while a reply is thinking or speaking:
// playout goes silent at once and the transport drops its buffer; then the
// reply is cancelled or, in pause-then-decide mode, held until the words
// are known.
func (l *loop) bargeIn(ctx context.Context, ev vad.Event, m micMsg) {
	if l.play.Uninterruptible() {
		return
	}
	lastAudible := l.play.Pause()
	l.flush(ctx)
	var info Interruption
	if !lastAudible.IsZero() {
		silence := lastAudible.Add(pipeline.FrameDuration)
		onset := m.at.Add(-l.samplesDur(m.pos - ev.Start))
		info.OnsetToSilence = max(0, silence.Sub(onset))
		info.ConfirmToSilence = max(0, min(silence.Sub(m.at), info.OnsetToSilence))
	}
	l.user.barge = true
	l.barge = &barge{gen: l.rep.gen, start: ev.Start, info: info}
	info.Heard = l.heardText(l.rep)
	l.s.metrics.observeInterruption(&info, "paused")
	l.s.log.Debug("barge-in: reply silenced", "onset_to_silence", info.OnsetToSilence, "confirm_to_silence", info.ConfirmToSilence)
	l.emit(Event{Type: EventInterruption, Turn: l.rep.gen, Interruption: &info})
	if l.s.policy.Mode == CancelImmediately {
		l.cancelReply(ctx, "speech")
	}
}

// realInterruption applies the false-interruption policy to the words of
// the interrupting speech.
func (l *loop) realInterruption(text, lang string) bool {
	if lang == "" {
		lang = l.lang
	}
	if text == "" {
		return false
	}
	if l.s.stopWords.contains(text, lang) {
		return true
	}
	if l.s.backchannels.only(text, lang) {
		return false
	}
	return contentWords(text, lang) >= l.s.policy.MinWords
}

// interrupts applies the policy to the words known of an interrupting
// turn. Partial results are unsteady: without a stop word, only a clearly
// longer one cancels the reply before the final words.
func (l *loop) interrupts(u *userTurn) bool {
	if u.result == nil || u.err != nil {
		return false
	}
	text, lang := strings.TrimSpace(u.result.Text), u.result.Language
	real := l.realInterruption(text, lang)
	if real && !u.final && !l.s.stopWords.contains(text, cmp.Or(lang, l.lang)) {
		real = contentWords(text, cmp.Or(lang, l.lang)) >= l.s.policy.MinWords+partialExtraWords
	}
	return real
}

// decideBarge settles a paused reply as soon as the words allow: stop words
// or enough words cancel it; a finished utterance of backchannels or too
// few words resumes it.
func (l *loop) decideBarge(ctx context.Context) {
	b, u := l.barge, &l.user
	if b == nil || b.resolved || !u.barge || u.result == nil || u.err != nil {
		return
	}
	l.s.log.Debug("interrupting speech transcribed", "text", u.result.Text, "final", u.final)
	if l.interrupts(u) {
		l.cancelReply(ctx, "speech")
		return
	}
	if !u.speaking && u.resultN == u.target && u.final {
		l.resume(ctx) // the speech is over and its words do not interrupt
	}
}

// checkBarge applies the time limits of a paused reply: speech that goes on
// for LongSpeech is a real interruption; a pause Window long that brought
// no words resumes the reply.
func (l *loop) checkBarge(ctx context.Context) {
	b, u := l.barge, &l.user
	if b == nil || b.resolved {
		return
	}
	elapsed := l.samplesDur(l.micPos - b.start)
	switch {
	case u.speaking && elapsed >= l.s.policy.LongSpeech:
		l.cancelReply(ctx, "long speech")
	case !u.speaking && elapsed >= l.s.policy.Window:
		known := u.result != nil && u.resultN == u.target && u.final
		if l.interrupts(u) {
			l.cancelReply(ctx, "speech")
			return
		}
		// Wait for words still being recognised (a streaming recogniser's
		// final words come at the end of the turn), within reason.
		if !known && (u.seq != 0 || u.stream != nil || u.closing) && elapsed < l.s.policy.Window+maxRecognitionWait {
			return
		}
		l.resume(ctx)
	}
}

// resume continues a paused reply: the interruption was false.
func (l *loop) resume(_ context.Context) {
	b := l.barge
	l.barge = nil
	if l.user.barge {
		l.closeStream()
		l.user = userTurn{}
	}
	if b == nil {
		return
	}
	l.s.metrics.observeInterruption(nil, "resumed")
	l.s.log.Debug("false interruption: resuming the reply")
	if l.rep != nil && l.rep.gen == b.gen {
		l.play.Resume()
		l.emit(Event{Type: EventResumed, Turn: b.gen})
	}
	l.afterUser()
}
