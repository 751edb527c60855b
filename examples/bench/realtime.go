package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/agent/transport/rtserver"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad/silero"
)

// secRealtime is the section measuring barge-in and voice-to-voice through
// the OpenAI Realtime endpoint.
const secRealtime = "realtime"

// Audio of the Realtime endpoint: 24 kHz PCM, appended 20 ms at a time.
const (
	rtAPIRate  = 24000
	rtAPIFrame = rtAPIRate / 50
)

// realtimeResult holds the Realtime endpoint's measurements, in
// milliseconds.
type realtimeResult struct {
	Trials, Missed int
	// OnsetToSilence: speech onset of the interrupting clip, as appended,
	// to the last response.output_audio.delta of the reply received.
	OnsetToSilence []float64
	// OnsetToEvent: onset to input_audio_buffer.speech_started received.
	OnsetToEvent  []float64
	Turns, Failed int
	// V2V: end of the user's speech, as appended, to the first
	// response.output_audio.delta of the reply received.
	V2V []float64
}

// The scripted words of the section: what the session hears and answers.
const (
	rtQuestion = "what are your shipping times to canada"
	rtAnswer   = "Parcels to Canada take five to seven working days. Express takes two."
)

// runRealtime measures barge-in and voice-to-voice latency through the
// Realtime endpoint (agent/transport/rtserver) on loopback, with a Go
// client that streams its microphone as 20 ms appends.
func runRealtime(ctx context.Context, cfg config, w *silero.Weights, progress io.Writer) (*realtimeResult, error) {
	stop, err := loadClip(cfg.speechDir, "stop_slt.wav", rtAPIRate)
	if err != nil {
		return nil, err
	}
	question, err := loadClip(cfg.speechDir, v2vClips[0], rtAPIRate)
	if err != nil {
		return nil, err
	}
	onsetPos, _, ok := speechBounds(stop, rtAPIRate)
	_, endPos, ok2 := speechBounds(question, rtAPIRate)
	if !ok || !ok2 {
		return nil, errors.New("bench: a realtime clip is silent")
	}
	var bargeIn atomic.Bool // the session hears "stop", else the question
	stt := &agenttest.STT{Fn: func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
		if bargeIn.Load() {
			return pipeline.Transcript{Text: "stop", Language: "en", Final: true}, nil
		}
		return pipeline.Transcript{Text: rtQuestion, Language: "en", Final: true}, nil
	}}
	llm := pipeline.LLMFunc(func(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
		reply := rtAnswer
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, "order") {
			reply = bargeInReply
		}
		return agenttest.NewLLM(agenttest.Text(reply)).Stream(ctx, req)
	})
	h, err := rtserver.NewHandler(func(_ *http.Request, c *rtserver.Conn) (rtserver.Session, error) {
		return agent.New(c, agent.WithSTT(stt), agent.WithLLM(c.LLM(llm)),
			agent.WithTTS(c.TTS(&agenttest.TTS{Format: pcm.Format{Rate: rtAPIRate, Channels: 1}})), agent.WithVAD(sileroFactory(w)))
	})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, err := dialRealtimeAPI(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/realtime?model=gpt-realtime")
	if err != nil {
		return nil, err
	}
	defer c.close()

	res := &realtimeResult{}
	rng := rand.New(rand.NewPCG(cfg.seed, 2))
	bargeIn.Store(true)
	for i := range cfg.trials {
		offset := 300*time.Millisecond + time.Duration(rng.Int64N(int64(2700*time.Millisecond)))
		ms, err := c.bargeInTrial(ctx, stop, onsetPos, offset)
		res.Trials++
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Missed++
			fmt.Fprintf(progress, "  trial %d: %v\n", i+1, err)
			c.settle(ctx)
			continue
		}
		res.OnsetToSilence = append(res.OnsetToSilence, ms[0])
		res.OnsetToEvent = append(res.OnsetToEvent, ms[1])
		if (i+1)%10 == 0 {
			fmt.Fprintf(progress, "  %d/%d barge-in trials, last onset->silence %.1f ms\n", i+1, cfg.trials, ms[0])
		}
	}
	bargeIn.Store(false)
	for i := range cfg.turns {
		ms, err := c.v2vTurn(ctx, question, endPos)
		res.Turns++
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Failed++
			fmt.Fprintf(progress, "  turn %d: %v\n", i+1, err)
		} else {
			res.V2V = append(res.V2V, ms)
		}
		c.settle(ctx)
		if (i+1)%5 == 0 && len(res.V2V) > 0 {
			fmt.Fprintf(progress, "  %d/%d turns, last %.0f ms\n", i+1, cfg.turns, res.V2V[len(res.V2V)-1])
		}
	}
	return res, nil
}

// rtAPIEvent is a server event and when it arrived.
type rtAPIEvent struct {
	at time.Time
	ev realtimeapi.Event
}

// rtAPIClient is a Realtime API client whose microphone appends 20 ms of
// audio every 20 ms: silence, or the clip being said.
type rtAPIClient struct {
	ws      *websocket.Conn
	stopMic chan struct{}
	wg      sync.WaitGroup
	wmu     sync.Mutex // serialises writes

	mu     sync.Mutex
	events []rtAPIEvent
	clip   []int16     // the clip being said, from its next frame
	sent   []time.Time // send time of each frame of the clip said
	said   chan []time.Time
}

func dialRealtimeAPI(ctx context.Context, url string) (*rtAPIClient, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{"Authorization": {"Bearer bench"}})
	if err != nil {
		return nil, err
	}
	c := &rtAPIClient{ws: ws, stopMic: make(chan struct{})}
	c.wg.Add(2)
	go c.read()
	go c.mic()
	return c, nil
}

func (c *rtAPIClient) close() {
	close(c.stopMic)
	_ = c.ws.Close()
	c.wg.Wait()
}

func (c *rtAPIClient) read() {
	defer c.wg.Done()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		ev, err := realtimeapi.DecodeServer(data)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.events = append(c.events, rtAPIEvent{at: at, ev: ev})
		c.mu.Unlock()
	}
}

// mic appends a frame every 20 ms on an absolute schedule.
func (c *rtAPIClient) mic() {
	defer c.wg.Done()
	next := time.Now()
	silence := make([]int16, rtAPIFrame)
	for {
		next = next.Add(20 * time.Millisecond)
		select {
		case <-c.stopMic:
			return
		case <-time.After(time.Until(next)):
		}
		c.mu.Lock()
		frame, fromClip := silence, len(c.clip) > 0
		if fromClip {
			frame = c.clip[:min(rtAPIFrame, len(c.clip))]
			c.clip = c.clip[len(frame):]
		}
		c.mu.Unlock()
		if c.send(&realtimeapi.InputAudioBufferAppend{Audio: realtimeapi.EncodePCM16(frame)}) != nil {
			return
		}
		if !fromClip {
			continue
		}
		c.mu.Lock()
		c.sent = append(c.sent, time.Now())
		if len(c.clip) == 0 {
			c.said <- c.sent
			c.said, c.sent = nil, nil
		}
		c.mu.Unlock()
	}
}

func (c *rtAPIClient) send(ev realtimeapi.Event) error {
	b, err := realtimeapi.Marshal(ev)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// say plays clip into the microphone and returns the send time of each of
// its frames.
func (c *rtAPIClient) say(ctx context.Context, clip []int16) ([]time.Time, error) {
	done := make(chan []time.Time, 1)
	c.mu.Lock()
	c.clip, c.said = clip, done
	c.mu.Unlock()
	select {
	case sent := <-done:
		return sent, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Duration(len(clip))*time.Second/rtAPIRate + 5*time.Second):
		return nil, errors.New("the microphone stalled")
	}
}

// mark returns the number of events so far, from which waits look.
func (c *rtAPIClient) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// wait returns the first event from index from on that match accepts.
func (c *rtAPIClient) wait(ctx context.Context, from int, timeout time.Duration, match func(realtimeapi.Event) bool) (rtAPIEvent, int, error) {
	deadline := time.Now().Add(timeout)
	for {
		c.mu.Lock()
		for i := from; i < len(c.events); i++ {
			if match(c.events[i].ev) {
				e := c.events[i]
				c.mu.Unlock()
				return e, i, nil
			}
		}
		from = len(c.events)
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return rtAPIEvent{}, from, errors.New("timed out")
		}
		sleepCtx(ctx, 2*time.Millisecond)
		if ctx.Err() != nil {
			return rtAPIEvent{}, from, ctx.Err()
		}
	}
}

func is(typ string) func(realtimeapi.Event) bool {
	return func(ev realtimeapi.Event) bool { return ev.EventType() == typ }
}

// lastDelta returns the arrival of the last audio delta of response id.
func (c *rtAPIClient) lastDelta(id string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.events) - 1; i >= 0; i-- {
		if d, ok := c.events[i].ev.(*realtimeapi.ResponseOutputAudioDelta); ok && d.ResponseID == id {
			return c.events[i].at
		}
	}
	return time.Time{}
}

// settle ends any response and waits for quiet, after a failed turn.
func (c *rtAPIClient) settle(ctx context.Context) {
	_ = c.send(&realtimeapi.ResponseCancel{})
	sleepCtx(ctx, time.Second)
	c.mu.Lock()
	c.events = c.events[:0]
	c.mu.Unlock()
}

// bargeInTrial asks for the long reply by a typed message, says "Stop."
// offset into its audio and returns onset->silence and
// onset->speech_started in milliseconds.
func (c *rtAPIClient) bargeInTrial(ctx context.Context, stop []int16, onsetPos int, offset time.Duration) ([2]float64, error) {
	var out [2]float64
	from := c.mark()
	if err := c.send(&realtimeapi.ConversationItemCreate{Item: realtimeapi.Item{Type: realtimeapi.ItemMessage, Role: "user",
		Content: []realtimeapi.ContentPart{{Type: "input_text", Text: "Where is my order?"}}}}); err != nil {
		return out, err
	}
	if err := c.send(&realtimeapi.ResponseCreate{}); err != nil {
		return out, err
	}
	first, from, err := c.wait(ctx, from, 10*time.Second, is(realtimeapi.TypeResponseOutputAudioDelta))
	if err != nil {
		return out, fmt.Errorf("no reply audio: %w", err)
	}
	id := first.ev.(*realtimeapi.ResponseOutputAudioDelta).ResponseID
	sleepCtx(ctx, time.Until(first.at.Add(offset)))
	sent, err := c.say(ctx, stop)
	if err != nil {
		return out, err
	}
	onset := sampleTimeAt(sent, onsetPos, rtAPIFrame, rtAPIRate)
	started, from, err := c.wait(ctx, from, 5*time.Second, is(realtimeapi.TypeInputAudioBufferSpeechStarted))
	if err != nil {
		return out, fmt.Errorf("no speech_started: %w", err)
	}
	if _, _, err := c.wait(ctx, from, 5*time.Second, func(ev realtimeapi.Event) bool {
		d, ok := ev.(*realtimeapi.ResponseDone)
		return ok && d.Response.ID == id && d.Response.Status == realtimeapi.StatusCancelled
	}); err != nil {
		return out, fmt.Errorf("reply not cancelled: %w", err)
	}
	// The "stop" turn ends the trial: the session transcribes it and
	// answers nothing.
	if _, _, err := c.wait(ctx, from, 5*time.Second, is(realtimeapi.TypeInputAudioTranscriptionCompleted)); err != nil {
		return out, fmt.Errorf("no transcript of the barge-in: %w", err)
	}
	sleepCtx(ctx, 100*time.Millisecond)
	out[0] = millis(c.lastDelta(id).Sub(onset))
	out[1] = millis(started.at.Sub(onset))
	return out, nil
}

// v2vTurn says the question and returns the end of its speech to the
// first audio of the reply in milliseconds; then cancels the reply.
func (c *rtAPIClient) v2vTurn(ctx context.Context, clip []int16, endPos int) (float64, error) {
	from := c.mark()
	sent, err := c.say(ctx, clip)
	if err != nil {
		return 0, err
	}
	end := sampleTimeAt(sent, endPos, rtAPIFrame, rtAPIRate)
	first, from, err := c.wait(ctx, from, 20*time.Second, is(realtimeapi.TypeResponseOutputAudioDelta))
	if err != nil {
		return 0, fmt.Errorf("no reply audio: %w", err)
	}
	if err := c.send(&realtimeapi.ResponseCancel{}); err != nil {
		return 0, err
	}
	if _, _, err := c.wait(ctx, from, 5*time.Second, is(realtimeapi.TypeResponseDone)); err != nil {
		return 0, fmt.Errorf("reply not cancelled: %w", err)
	}
	return millis(first.at.Sub(end)), nil
}

// sampleTimeAt maps a position in a clip sent in frames of n samples at
// rate to wall time, as a live microphone captured it (see sampleTime).
func sampleTimeAt(sent []time.Time, pos, n, rate int) time.Time {
	j := min(pos/n, len(sent)-1)
	end := (j + 1) * n
	return sent[j].Add(-time.Duration(end-pos) * time.Second / time.Duration(rate))
}

// flat adds the section's keys to bench.json.
func (r *realtimeResult) flat(out map[string]any, put func(string, summary)) {
	put("realtime_bargein_onset_to_silence_ms", summarize(r.OnsetToSilence))
	put("realtime_bargein_onset_to_event_ms", summarize(r.OnsetToEvent))
	put("realtime_v2v_ms", summarize(r.V2V))
	out["realtime_bargein_trials"], out["realtime_bargein_missed"] = r.Trials, r.Missed
	out["realtime_v2v_turns"], out["realtime_v2v_failed"] = r.Turns, r.Failed
}

// markdown renders the section.
func (r *realtimeResult) markdown(p func(string, ...any)) {
	p("## Barge-in and voice-to-voice through the OpenAI Realtime endpoint (loopback)\n\n")
	p("| measurement | n | p50 | p95 | max |\n|---|---:|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		xs   []float64
	}{
		{"barge-in: speech onset → last `response.output_audio.delta` received", r.OnsetToSilence},
		{"barge-in: speech onset → `input_audio_buffer.speech_started` received", r.OnsetToEvent},
		{"voice-to-voice: end of speech → first `response.output_audio.delta` received", r.V2V},
	} {
		s := summarize(row.xs)
		p("| %s | %d | %.1f | %.1f | %.1f |\n", row.name, s.N, s.P50, s.P95, s.Max)
	}
	p("\nBarge-in trials: %d, missed: %d; voice-to-voice turns: %d, failed: %d; one connection and session for all.\n\n",
		r.Trials, r.Missed, r.Turns, r.Failed)
	p("How measured: a Go client speaks the Realtime API to `agent/transport/rtserver` over 127.0.0.1, appending 24 kHz ")
	p("PCM every 20 ms as a microphone does (silence between clips), to an `agent.Session` with the Silero VAD, its default ")
	p("turn-taking settings and agenttest's engines answering at once. Barge-in: a typed message asks for the WebRTC ")
	p("section's scripted reply and, at a seeded random point 0.3–3.0 s into its audio, the microphone plays flite's ")
	p("\"Stop.\"; onset is defined as in the WebRTC section, silence is the arrival of the reply's last audio delta (the ")
	p("endpoint sends no audio while the reply is paused). The session reports the interruption (`speech_started`) only ")
	p("once it has decided to cancel — after the words, not at the pause — so onset → event is longer than onset → ")
	p("silence. Voice-to-voice: the microphone plays \"What are your shipping times to Canada?\"; from the end of its ")
	p("speech (as captured) to the first audio delta received; it includes the session's end-of-turn wait.\n\n")
}
