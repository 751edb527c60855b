package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/agent/transport/webrtc"
	"github.com/harkvoice/hark/vad/silero"
)

// v2vClips are the user turns, played in turn.
// None ends in a number, which would make the session wait longer for
// more digits (agent.WithNumberHold).
var v2vClips = []string{"shipping_awb.wav", "return_kal16.wav", "timer_awb.wav", "wait_rms.wav"}

// v2vResult holds one engine set's voice-to-voice measurements, in
// milliseconds.
type v2vResult struct {
	Engines string
	Turns   int
	Failed  int
	// Total: end of the user's speech (as sent) to the first audible agent
	// packet received.
	Total []float64
	// Stage latencies from the session's turn_metrics, each measured from
	// the VAD's end of user speech.
	STT, LLM, TTS, Sent []float64
	// Endpoint is Total less the session's first-audio-sent figure: the
	// end-of-turn wait plus the transport both ways.
	Endpoint []float64
	// Preempt counts the session's preemptive replies by outcome
	// (agent.PreemptStarted, PreemptUsed, PreemptWasted).
	Preempt preemptCounter
}

// preemptCounter is an agent.Recorder that counts preemptive replies.
type preemptCounter struct {
	mu                    sync.Mutex
	Started, Used, Wasted int
}

func (c *preemptCounter) Preemption(outcome string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch outcome {
	case agent.PreemptStarted:
		c.Started++
	case agent.PreemptUsed:
		c.Used++
	case agent.PreemptWasted:
		c.Wasted++
	}
}

func (*preemptCounter) Turn(agent.TurnMetrics)                   {}
func (*preemptCounter) Interruption(string, *agent.Interruption) {}
func (*preemptCounter) ToolCall(string, error)                   {}
func (*preemptCounter) Handoff()                                 {}
func (*preemptCounter) ProviderError(string)                     {}

// counts returns the preemptive replies started and wasted.
func (c *preemptCounter) counts() (started, wasted int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Started, c.Wasted
}

// runV2V measures voice-to-voice latency with the offline engines and with
// an OpenAI-compatible server that answers at once.
func runV2V(ctx context.Context, cfg config, w *silero.Weights, progress io.Writer) ([]*v2vResult, error) {
	var out []*v2vResult
	for _, name := range cfg.engines {
		fmt.Fprintf(progress, "  engines %s\n", name)
		res, err := runV2VEngines(ctx, cfg, w, name, progress)
		if err != nil {
			return nil, fmt.Errorf("bench: v2v %s: %w", name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func runV2VEngines(ctx context.Context, cfg config, w *silero.Weights, name string, progress io.Writer) (*v2vResult, error) {
	var opts []agent.Option
	switch name {
	case "offline":
		eng, err := offline.New()
		if err != nil {
			return nil, err
		}
		defer eng.Close()
		opts = eng.SessionOptions()
	case "openai":
		api := openaitest.NewServer()
		defer api.Close()
		api.SetDefaultTranscription(openaitest.TranscriptionReply{Text: "What are your shipping times to Canada?", Language: "english"})
		api.SetDefaultChat(openaitest.Text("Parcels to Canada take five to seven working days. Express takes two."))
		api.SetDefaultSpeech(openaitest.SpeechReply{Audio: agenttest.Speech(3*time.Second, openaitest.SpeechRate, 7)})
		cl, err := openai.New(openai.WithBaseURL(api.URL), openai.WithAPIKey("bench"))
		if err != nil {
			return nil, err
		}
		opts = []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(sileroFactory(w))}
	case engineRealtimeSTT:
		o, stop, err := realtimeSTTOptions(w)
		if err != nil {
			return nil, err
		}
		defer stop()
		opts = o
	}
	clips := make([][]int16, len(v2vClips))
	ends := make([]int, len(v2vClips))
	for i, f := range v2vClips {
		c, err := loadClip(cfg.speechDir, f, rtcRate)
		if err != nil {
			return nil, err
		}
		_, end, ok := speechBounds(c, rtcRate)
		if !ok {
			return nil, fmt.Errorf("bench: %s is silent", f)
		}
		clips[i], ends[i] = c, end
	}
	res := &v2vResult{Engines: name}
	opts = append(opts, agent.WithMetrics(&res.Preempt))
	srv, err := startRTCServer(func(c *webrtc.Conn) (*agent.Session, error) { return agent.New(c, opts...) })
	if err != nil {
		return nil, err
	}
	defer srv.close()
	c, err := dialRTC(ctx, srv.url)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if cfg.verbose {
		c.verbose = progress
	}

	for i := range cfg.turns {
		k := i % len(clips)
		err := v2vTurn(ctx, c, clips[k], ends[k], res)
		res.Turns++
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Failed++
			fmt.Fprintf(progress, "  turn %d (%s): %v\n", i+1, v2vClips[k], err)
		}
		if err := c.recover(ctx); err != nil {
			return nil, err
		}
		if (i+1)%5 == 0 && len(res.Total) > 0 {
			fmt.Fprintf(progress, "  %d/%d turns, last %.0f ms\n", i+1, cfg.turns, res.Total[len(res.Total)-1])
		}
	}
	return res, nil
}

// v2vTurn plays one user turn and records its latencies in res.
func v2vTurn(ctx context.Context, c *rtcClient, clip []int16, end int, res *v2vResult) error {
	pk, ev := c.mark()
	defer c.trace(ev, time.Now())
	sent, err := c.say(ctx, clip)
	if err != nil {
		return err
	}
	speechEnd := sampleTime(sent, end)
	first, err := c.waitAudible(ctx, pk, 20*time.Second)
	if err != nil {
		return fmt.Errorf("no reply audio: %w", err)
	}
	// The session reports the turn's metrics when the reply ends: stop it,
	// once the first audio's playout event has surely been handled.
	sleepCtx(ctx, 200*time.Millisecond)
	if err := c.send(map[string]string{"type": "stop"}); err != nil {
		return err
	}
	m, err := c.waitEvent(ctx, ev, 5*time.Second, func(e rtcEvent) bool {
		return e.Type == agent.EventMetrics && e.Metrics != nil && e.Metrics.FirstAudioSent > 0
	})
	if err != nil {
		return fmt.Errorf("no turn_metrics: %w", err)
	}
	total := first.at.Sub(speechEnd)
	res.Total = append(res.Total, millis(total))
	res.STT = append(res.STT, millis(m.Metrics.STTFinal))
	res.LLM = append(res.LLM, millis(m.Metrics.LLMFirstToken))
	res.TTS = append(res.TTS, millis(m.Metrics.TTSFirstAudio))
	res.Sent = append(res.Sent, millis(m.Metrics.FirstAudioSent))
	res.Endpoint = append(res.Endpoint, millis(total-m.Metrics.FirstAudioSent))
	return nil
}
