package agenttest

import (
	"context"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
)

// STT is a scripted recogniser: each call returns the next of Texts (then
// ""), unless Fn is set, which then answers every call.
type STT struct {
	Fn    func(ctx context.Context, audio pcm.Frame, language string) (pipeline.Transcript, error)
	Texts []string
	// Language is reported with every scripted transcript.
	Language string
	// Delay is how long each call takes.
	Delay time.Duration

	mu    sync.Mutex
	calls []pcm.Frame
}

// NewSTT returns a recogniser answering texts in order.
func NewSTT(texts ...string) *STT { return &STT{Texts: texts} }

// Transcribe implements pipeline.STT.
func (s *STT) Transcribe(ctx context.Context, audio pcm.Frame, language string) (pipeline.Transcript, error) {
	s.mu.Lock()
	// A copy: the caller reuses the samples' storage (see pipeline.STT).
	s.calls = append(s.calls, pcm.Frame{Format: audio.Format, Samples: slices.Clone(audio.Samples)})
	var text string
	if len(s.Texts) > 0 {
		text, s.Texts = s.Texts[0], s.Texts[1:]
	}
	s.mu.Unlock()
	if err := sleep(ctx, s.Delay); err != nil {
		return pipeline.Transcript{}, err
	}
	if s.Fn != nil {
		return s.Fn(ctx, audio, language)
	}
	return pipeline.Transcript{Text: text, Language: s.Language, Final: true}, nil
}

// Calls returns the audio of every call so far.
func (s *STT) Calls() []pcm.Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pcm.Frame(nil), s.calls...)
}

// LLM is a scripted language model: each call streams the next of Replies
// (the last one repeats), one delta every Delay, unless Fn is set.
type LLM struct {
	Fn      func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error]
	Replies [][]pipeline.Delta
	// FirstDelay is the wait before the first delta; Delay the wait before
	// each later one.
	FirstDelay, Delay time.Duration

	mu       sync.Mutex
	requests []pipeline.Request
}

// NewLLM returns a model answering replies in order.
func NewLLM(replies ...[]pipeline.Delta) *LLM { return &LLM{Replies: replies} }

// Text splits text into word deltas, as a model streams it.
func Text(text string) []pipeline.Delta {
	var out []pipeline.Delta
	for _, w := range strings.SplitAfter(text, " ") {
		if w == "" {
			continue
		}
		out = append(out, pipeline.Delta{Text: w})
	}
	return out
}

// Call returns a delta with a tool call.
func Call(id, name, args string) pipeline.Delta {
	return pipeline.Delta{ToolCall: &pipeline.ToolCall{ID: id, Name: name, Arguments: args}}
}

// Stream implements pipeline.LLM.
func (m *LLM) Stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	m.mu.Lock()
	req.Messages = append([]pipeline.Message(nil), req.Messages...)
	m.requests = append(m.requests, req)
	var reply []pipeline.Delta
	if len(m.Replies) > 0 {
		reply = m.Replies[0]
		if len(m.Replies) > 1 {
			m.Replies = m.Replies[1:]
		}
	}
	m.mu.Unlock()
	if m.Fn != nil {
		return m.Fn(ctx, req)
	}
	return func(yield func(pipeline.Delta, error) bool) {
		for i, d := range reply {
			wait := m.Delay
			if i == 0 {
				wait = m.FirstDelay
			}
			if err := sleep(ctx, wait); err != nil {
				yield(pipeline.Delta{}, err)
				return
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// Requests returns every request so far.
func (m *LLM) Requests() []pipeline.Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]pipeline.Request(nil), m.requests...)
}

// TTS is a fake synthesiser: it "speaks" PerChar of noise-like audio per
// character of text (or Clip, when set, for every chunk), in 20 ms frames at
// Format, after Latency; unless Fn is set.
type TTS struct {
	Fn      func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error]
	Format  pcm.Format    // default 16 kHz mono
	PerChar time.Duration // default 40 ms
	Latency time.Duration
	// FrameDelay is the wait before each frame after the first (0: as fast
	// as the consumer takes them).
	FrameDelay time.Duration
	Clip       []int16

	mu       sync.Mutex
	requests []pipeline.SpeechRequest
}

// Synthesize implements pipeline.TTS.
func (t *TTS) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	t.mu.Lock()
	t.requests = append(t.requests, req)
	t.mu.Unlock()
	if t.Fn != nil {
		return t.Fn(ctx, req)
	}
	f := t.Format
	if f.Rate == 0 {
		f = pcm.Mono16k
	}
	per := t.PerChar
	if per == 0 {
		per = 40 * time.Millisecond
	}
	audio := t.Clip
	if audio == nil {
		audio = Speech(time.Duration(len([]rune(req.Text)))*per, f.Rate, int64(len(req.Text)))
	}
	return func(yield func(pcm.Frame, error) bool) {
		if err := sleep(ctx, t.Latency); err != nil {
			yield(pcm.Frame{}, err)
			return
		}
		n := f.Samples(20 * time.Millisecond)
		for i := 0; i < len(audio); i += n {
			if i > 0 {
				if err := sleep(ctx, t.FrameDelay); err != nil {
					yield(pcm.Frame{}, err)
					return
				}
			}
			if ctx.Err() != nil {
				yield(pcm.Frame{}, ctx.Err())
				return
			}
			fr := pcm.Frame{Samples: audio[i:min(i+n, len(audio))], Format: f}
			if !yield(fr, nil) {
				return
			}
		}
	}
}

// Requests returns every speech request so far.
func (t *TTS) Requests() []pipeline.SpeechRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]pipeline.SpeechRequest(nil), t.requests...)
}

// Speech returns d of deterministic speech-like audio at rate: noise shaped
// by a 4 Hz syllable envelope, never silent for a whole 20 ms frame.
func Speech(d time.Duration, rate int, seed int64) []int16 {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	out := make([]int16, n)
	x := uint32(seed*2654435761 + 12345)
	for i := range out {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		env := 0.55 + 0.45*math.Sin(2*math.Pi*4*float64(i)/float64(rate))
		out[i] = int16(float64(int32(x>>16)-32768) / 32768 * 9000 * env)
	}
	return out
}

// Silence returns d of silence at rate.
func Silence(d time.Duration, rate int) []int16 {
	return make([]int16, int(int64(rate)*int64(d)/int64(time.Second)))
}

// LevelModel is a vad.Model for tests: a window is speech when its RMS level
// is at least Threshold (default 0.02), at 16 kHz with 512-sample windows.
type LevelModel struct {
	Threshold float64
}

// NewLevelModel returns a factory for agent.WithVAD.
func NewLevelModel() func() (vad.Model, error) {
	return func() (vad.Model, error) { return &LevelModel{}, nil }
}

// Rate implements vad.Model.
func (*LevelModel) Rate() int { return 16000 }

// WindowSize implements vad.Model.
func (*LevelModel) WindowSize() int { return 512 }

// Probability implements vad.Model.
func (m *LevelModel) Probability(w []float32) (float32, error) {
	if len(w) != 512 {
		return 0, vad.ErrWindowSize
	}
	var sum float64
	for _, v := range w {
		sum += float64(v) * float64(v)
	}
	th := m.Threshold
	if th == 0 {
		th = 0.02
	}
	if math.Sqrt(sum/float64(len(w))) >= th {
		return 1, nil
	}
	return 0, nil
}

// Reset implements vad.Model.
func (*LevelModel) Reset() {}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
