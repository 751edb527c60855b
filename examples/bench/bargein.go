package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/webrtc"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// bargeInReply is the scripted reply talked over: about 12 s of speech at
// the fake TTS's 40 ms per character.
const bargeInReply = "Thank you for calling. Your order one two three four shipped yesterday " +
	"from our warehouse and should arrive on Friday. The courier will text you a delivery window " +
	"in the morning. If nobody is home, the parcel goes to the pick-up point on Main Street. " +
	"Is there anything else I can help you with today?"

// bargeInResult holds the barge-in section's measurements, in milliseconds.
type bargeInResult struct {
	Trials int `json:"trials"`
	Missed int `json:"missed"`
	// OnsetToSilence: speech onset of the interrupting clip, as sent, to
	// the last audible agent packet received (client clock).
	OnsetToSilence []float64 `json:"-"`
	// ConfirmToSilence: VAD confirmation to silence, as the session
	// reports it on the data channel.
	ConfirmToSilence []float64 `json:"-"`
	// ServerOnsetToSilence: the session's own onset-to-silence figure.
	ServerOnsetToSilence []float64 `json:"-"`
	// OnsetToEvent and EventToSilence split OnsetToSilence at the arrival
	// of the interruption event on the client.
	OnsetToEvent, EventToSilence []float64 `json:"-"`
}

// sileroFactory returns a WithVAD factory sharing w.
func sileroFactory(w *silero.Weights) func() (vad.Model, error) {
	return func() (vad.Model, error) { return w.NewModel(16000) }
}

// questionLen tells the scripted recogniser's two answers apart: a user
// turn at least this long (pre-roll included) is a question, a shorter one
// is "Stop.".
const questionLen = 1500 * time.Millisecond

// runBargeIn measures barge-in latency over WebRTC on loopback: a pion
// client asks for a long reply, talks over it with flite's "Stop." at a
// random point, and times the silence. In one session (fresh false) the
// client asks by voice, as in a conversation; with a new session per
// trial (fresh true) it asks by text, so "Stop." is the first speech the
// session hears.
func runBargeIn(ctx context.Context, cfg config, w *silero.Weights, fresh bool, trials int, progress io.Writer) (*bargeInResult, error) {
	stop, err := loadClip(cfg.speechDir, "stop_slt.wav", rtcRate)
	if err != nil {
		return nil, err
	}
	onsetPos, _, ok := speechBounds(stop, rtcRate)
	if !ok {
		return nil, fmt.Errorf("bench: stop_slt.wav is silent")
	}
	var questions [][]int16
	for _, f := range v2vClips {
		c, err := loadClip(cfg.speechDir, f, rtcRate)
		if err != nil {
			return nil, err
		}
		questions = append(questions, c)
	}
	srv, err := startRTCServer(func(c *webrtc.Conn) (*agent.Session, error) {
		stt := &agenttest.STT{Fn: func(_ context.Context, fr pcm.Frame, _ string) (pipeline.Transcript, error) {
			if fr.Duration() >= questionLen {
				return pipeline.Transcript{Text: "where is my order", Language: "en", Final: true}, nil
			}
			return pipeline.Transcript{Text: "stop", Language: "en", Final: true}, nil
		}}
		return agent.New(c, agent.WithSTT(stt), agent.WithLLM(agenttest.NewLLM(agenttest.Text(bargeInReply))),
			agent.WithTTS(&agenttest.TTS{}), agent.WithVAD(sileroFactory(w)))
	})
	if err != nil {
		return nil, err
	}
	defer srv.close()
	dial := func() (*rtcClient, error) {
		c, err := dialRTC(ctx, srv.url)
		if err == nil && cfg.verbose {
			c.verbose = progress
		}
		return c, err
	}
	c, err := dial()
	if err != nil {
		return nil, err
	}
	defer func() {
		if c != nil {
			c.close()
		}
	}()

	rng := rand.New(rand.NewPCG(cfg.seed, 1))
	res := &bargeInResult{}
	for i := range trials {
		offset := 300*time.Millisecond + time.Duration(rng.Int64N(int64(2700*time.Millisecond)))
		var question []int16
		if !fresh {
			question = questions[i%len(questions)]
		}
		if fresh && i > 0 {
			// The session ends with its peer; the next one starts afresh.
			c.close()
			next, err := dial()
			if err != nil {
				c = nil
				return nil, err
			}
			c = next
		}
		ms, err := bargeInTrial(ctx, c, question, stop, onsetPos, offset)
		res.Trials++
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Missed++
			fmt.Fprintf(progress, "  trial %d: %v\n", i+1, err)
			if err := c.recover(ctx); err != nil {
				return nil, err
			}
			continue
		}
		res.OnsetToSilence = append(res.OnsetToSilence, ms[0])
		res.ConfirmToSilence = append(res.ConfirmToSilence, ms[1])
		res.ServerOnsetToSilence = append(res.ServerOnsetToSilence, ms[2])
		res.OnsetToEvent = append(res.OnsetToEvent, ms[3])
		res.EventToSilence = append(res.EventToSilence, ms[0]-ms[3])
		if (i+1)%10 == 0 {
			fmt.Fprintf(progress, "  %d/%d trials, last onset->silence %.1f ms\n", i+1, trials, ms[0])
		}
	}
	return res, nil
}

// bargeInTrial asks for the reply (by voice with question, else by text),
// interrupts it offset into it and returns onset->silence (client),
// confirm->silence, onset->silence (server) and onset->interruption event
// received, in milliseconds.
func bargeInTrial(ctx context.Context, c *rtcClient, question, stop []int16, onsetPos int, offset time.Duration) ([4]float64, error) {
	var out [4]float64
	pk, ev := c.mark()
	defer c.trace(ev, time.Now())
	if question != nil {
		if _, err := c.say(ctx, question); err != nil {
			return out, err
		}
	} else if err := c.send(map[string]string{"type": "text", "text": "Where is my order?"}); err != nil {
		return out, err
	}
	first, err := c.waitAudible(ctx, pk, 10*time.Second)
	if err != nil {
		return out, fmt.Errorf("no reply audio: %w", err)
	}
	select {
	case <-time.After(time.Until(first.at.Add(offset))):
	case <-ctx.Done():
		return out, ctx.Err()
	}
	sent, err := c.say(ctx, stop)
	if err != nil {
		return out, err
	}
	onset := sampleTime(sent, onsetPos)
	paused, err := c.waitEvent(ctx, ev, 5*time.Second, func(e rtcEvent) bool {
		return e.Type == agent.EventInterruption && e.Interruption != nil
	})
	if err != nil {
		return out, fmt.Errorf("no interruption: %w", err)
	}
	if _, err := c.waitEvent(ctx, ev, 5*time.Second, func(e rtcEvent) bool {
		return e.Type == agent.EventInterruption && e.Interruption != nil && e.Interruption.Cancelled
	}); err != nil {
		return out, fmt.Errorf("reply not cancelled: %w", err)
	}
	if err := c.waitQuiet(ctx, 300*time.Millisecond, 5*time.Second); err != nil {
		return out, err
	}
	last, _ := c.lastAudible(pk)
	// The "stop" turn ends the trial: the session transcribes it (and
	// answers nothing) once the end of turn has passed.
	if _, err := c.waitEvent(ctx, ev, 5*time.Second, func(e rtcEvent) bool {
		return e.Type == agent.EventUserFinal && e.Text == "stop"
	}); err != nil {
		return out, fmt.Errorf("no final \"stop\" turn: %w", err)
	}
	sleepCtx(ctx, 100*time.Millisecond)
	out[0] = millis(last.Sub(onset))
	out[1] = millis(paused.Interruption.ConfirmToSilence)
	out[2] = millis(paused.Interruption.OnsetToSilence)
	out[3] = millis(paused.at.Sub(onset))
	return out, nil
}

// recover brings the session back to listening after a failed trial.
func (c *rtcClient) recover(ctx context.Context) error {
	if err := c.send(map[string]string{"type": "stop"}); err != nil {
		return err
	}
	return c.waitQuiet(ctx, 500*time.Millisecond, 10*time.Second)
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
