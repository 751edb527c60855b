package openai

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

// frameDuration is the length of the frames Synthesize yields.
const frameDuration = 20 * time.Millisecond

// Transcribe sends audio, as an in-memory WAV file, to
// /audio/transcriptions. language is a hint ("es", "zh-CN") and may be
// empty; the transcript reports the language the server detected when the
// answer says (verbose_json), else the hint. Empty audio gives an empty
// transcript without a request.
func (c *Client) Transcribe(ctx context.Context, audio pcm.Frame, language string) (pipeline.Transcript, error) {
	if len(audio.Samples) == 0 {
		return pipeline.Transcript{Language: language, Final: true}, nil
	}
	var file bytes.Buffer
	if err := wav.Write(&file, audio); err != nil {
		return pipeline.Transcript{}, fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	format := c.sttFormat
	if format == "" {
		format = "verbose_json"
		if strings.HasPrefix(c.sttModel, "gpt-") {
			format = "json"
		}
	}
	wctx, wd := c.watch(ctx)
	defer wd.stop()
	resp, err := c.api.CreateTranscription(wctx, goopenai.AudioRequest{
		Model:    c.sttModel,
		FilePath: "audio.wav",
		Reader:   &file,
		Language: isoLanguage(language),
		Format:   goopenai.AudioResponseFormat(format),
	})
	if err != nil {
		return pipeline.Transcript{}, fail("transcription", ctx, wctx, err, false)
	}
	t := pipeline.Transcript{Text: strings.TrimSpace(resp.Text), Language: language, Final: true}
	if code := languageCode(resp.Language); code != "" {
		t.Language = code
	}
	// Confidence: the mean token probability over the segments, weighted by
	// their length, from Whisper's average log-probabilities.
	var logp, total float64
	for _, s := range resp.Segments {
		if d := s.End - s.Start; d > 0 && s.AvgLogprob <= 0 {
			logp += s.AvgLogprob * d
			total += d
		}
	}
	if total > 0 {
		t.Confidence = float32(math.Exp(logp / total))
	}
	return t, nil
}

// Synthesize sends req.Text to /audio/speech with response_format "pcm" and
// yields mono frames of 20 ms (the last may be shorter) as the bytes
// arrive. The voice is req.Voice, else the client's. Blank text yields
// nothing.
func (c *Client) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) {
		if strings.TrimSpace(req.Text) == "" {
			return
		}
		voice := req.Voice
		if voice == "" {
			voice = c.voice
		}
		wctx, wd := c.watch(ctx)
		defer wd.stop()
		resp, err := c.api.CreateSpeech(wctx, goopenai.CreateSpeechRequest{
			Model:          goopenai.SpeechModel(c.ttsModel),
			Input:          req.Text,
			Voice:          goopenai.SpeechVoice(voice),
			ResponseFormat: goopenai.SpeechResponseFormatPcm,
			Speed:          speechSpeed(c.speed, req.Speed),
			Instructions:   c.instructions,
		})
		if err != nil {
			yield(pcm.Frame{}, fail("speech", ctx, wctx, err, false))
			return
		}
		defer resp.Close()

		format := pcm.Format{Rate: c.speechRate, Channels: 1}
		frameBytes := 2 * format.SamplesPerChannel(frameDuration)
		pending := make([]byte, 0, 2*frameBytes)
		buf := make([]byte, 4096)
		var pos int // samples yielded so far
		emit := func(b []byte) bool {
			samples := make([]int16, len(b)/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
			}
			fr := pcm.Frame{Samples: samples, Format: format, Timestamp: format.Duration(pos)}
			pos += len(samples)
			return yield(fr, nil)
		}
		for {
			n, err := resp.Read(buf)
			if n > 0 {
				wd.progress()
				pending = append(pending, buf[:n]...)
				for len(pending) >= frameBytes {
					if !emit(pending[:frameBytes]) {
						return
					}
					pending = append(pending[:0], pending[frameBytes:]...)
				}
			}
			if errors.Is(err, io.EOF) {
				if len(pending) >= 2 {
					emit(pending[:len(pending)&^1]) // an odd last byte is no sample
				}
				return
			}
			if err != nil {
				yield(pcm.Frame{}, fail("speech", ctx, wctx, err, true))
				return
			}
		}
	}
}

// speechSpeed is the speed to ask for: the client's (0: the service's
// default, 1), scaled by the request's, within the API's 0.25 to 4.
func speechSpeed(client, request float64) float64 {
	if request <= 0 || request == 1 {
		return client
	}
	if client == 0 {
		client = 1
	}
	return min(4, max(0.25, client*request))
}
