package agenttest

import (
	"context"
	"iter"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// The words of the Fixed engines: every user turn and every reply.
const (
	FixedTranscript = "Set a timer for five minutes."
	FixedReply      = "Okay, five minutes, starting now."
)

// Fixed returns engines that answer at once and keep no record of their
// calls, as session options: every turn is transcribed as FixedTranscript
// (in English), answered with FixedReply (streamed word by word) and every
// chunk of the reply spoken as d of speech (16 kHz mono, repeated as
// needed, in 20 ms frames). Load tests and allocation measurements use
// them so that only the session's own work costs CPU and memory: unlike
// STT, LLM and TTS, which keep every call, they do not grow the heap over
// thousands of turns.
func Fixed(speech []int16, d time.Duration) []agent.Option {
	n := pcm.Mono16k.Samples(d)
	audio := make([]int16, 0, n)
	for len(speech) > 0 && len(audio) < n {
		audio = append(audio, speech[:min(len(speech), n-len(audio))]...)
	}
	stt := pipeline.STTFunc(func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
		return pipeline.Transcript{Text: FixedTranscript, Language: "en", Final: true}, nil
	})
	words := Text(FixedReply)
	llm := pipeline.LLMFunc(func(context.Context, pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		return func(yield func(pipeline.Delta, error) bool) {
			for _, d := range words {
				if !yield(d, nil) {
					return
				}
			}
		}
	})
	per := pcm.Mono16k.Samples(pipeline.FrameDuration)
	tts := pipeline.TTSFunc(func(ctx context.Context, _ pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		return func(yield func(pcm.Frame, error) bool) {
			for i := 0; i < len(audio); i += per {
				if err := ctx.Err(); err != nil {
					yield(pcm.Frame{}, err)
					return
				}
				if !yield(pcm.Frame{Format: pcm.Mono16k, Samples: audio[i:min(i+per, len(audio))]}, nil) {
					return
				}
			}
		}
	})
	return []agent.Option{agent.WithSTT(stt), agent.WithLLM(llm), agent.WithTTS(tts)}
}
