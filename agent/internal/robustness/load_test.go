package robustness

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/device"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Load test shape.
const (
	loadDevices  = 100
	loadDuration = 20 * time.Second
	// opusEvery: every opusEvery-th device speaks Opus, the others pcm16.
	opusEvery = 25
	// micChunk is how much audio a device sends per message (per tick for
	// Opus, as 20 ms packets): large chunks keep 100 paced microphones
	// cheap under the race detector.
	micChunk = 400 * time.Millisecond
	// replyWait bounds the wait for a reply to one utterance.
	replyWait = 20 * time.Second
)

// loadReply is what every session answers.
const loadReply = "Okay, your timer is set."

// countingConn is the device connection as the session sees it: it counts
// the audio frames and events the session handed over successfully, so the
// test can check that each one reached the device.
type countingConn struct {
	*device.Conn
	frame int // samples per 20 ms frame

	mu     sync.Mutex
	read   int // microphone samples the session read
	frames int
	events map[string]int
}

func (c *countingConn) ReadAudio(ctx context.Context) (pcm.Frame, error) {
	fr, err := c.Conn.ReadAudio(ctx)
	if err == nil {
		c.mu.Lock()
		c.read += len(fr.Samples)
		c.mu.Unlock()
	}
	return fr, err
}

func (c *countingConn) WriteAudio(ctx context.Context, fr pcm.Frame) error {
	err := c.Conn.WriteAudio(ctx, fr)
	if err == nil {
		c.mu.Lock()
		c.frames += len(fr.Samples) / c.frame
		c.mu.Unlock()
	}
	return err
}

func (c *countingConn) SendEvent(ev agent.Event) error {
	err := c.Conn.SendEvent(ev)
	if err == nil {
		c.count(string(ev.Type))
	}
	return err
}

func (c *countingConn) Flush(ctx context.Context) error {
	err := c.Conn.Flush(ctx)
	if err == nil {
		c.count(device.TypeClear)
	}
	return err
}

func (c *countingConn) count(typ string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events[typ]++
}

// snapshot returns the counts so far.
func (c *countingConn) snapshot() (read, frames int, events map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read, c.frames, maps.Clone(c.events)
}

// registry finds a session's counting connection by its session id.
type registry struct {
	mu    sync.Mutex
	conns map[string]*countingConn
}

func (r *registry) get(id string) *countingConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[id]
}

// loadSession builds the server side of one load-test device: a real
// agent.Session with providers that answer at once.
func (r *registry) newSession(_ *http.Request, c *device.Conn) (device.Session, error) {
	cc := &countingConn{Conn: c, frame: c.OutputFormat().Samples(pipeline.FrameDuration), events: map[string]int{}}
	r.mu.Lock()
	r.conns[c.ID()] = cc
	r.mu.Unlock()
	return agent.New(cc,
		agent.WithLanguage("en"),
		agent.WithSTT(&agenttest.STT{Fn: func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
			return pipeline.Transcript{Text: "set a timer for five minutes", Language: "en", Final: true}, nil
		}}),
		agent.WithLLM(agenttest.NewLLM(agenttest.Text(loadReply))),
		agent.WithTTS(&agenttest.TTS{PerChar: 10 * time.Millisecond}),
		agent.WithVAD(energyVAD),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
	)
}

// loadResult is what one device saw.
type loadResult struct {
	utterances int
	sent       int // microphone samples sent
	frames     int
	events     map[string]int
}

// TestLoad runs 100 concurrent device sessions for 20 s. Each device speaks
// flite utterances separated by silence, waiting for each reply. Every
// utterance must get exactly one user_final, agent audio and one
// agent_done; every frame and event the session handed its transport must
// reach the device; no device may receive an error (overrun, rate limit);
// and once every device has said bye, no goroutine may be left.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: 100 sessions for 20 s")
	}
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs after the server's cleanup
	clips := [][]int16{
		clip(t, "timer_awb.wav", 16000),
		clip(t, "shipping_awb.wav", 16000),
		clip(t, "return_kal16.wav", 16000),
		clip(t, "order_slt.wav", 16000),
	}
	// The microphone audio is encoded once and shared, so the devices cost
	// little beside the server.
	mics := map[string]*micAudio{}
	for _, enc := range []string{device.EncodingPCM16, device.EncodingOpus} {
		m, err := newMicAudio(enc, clips)
		if err != nil {
			t.Fatal(err)
		}
		mics[enc] = m
	}
	reg := &registry{conns: map[string]*countingConn{}}
	h, err := device.NewHandler(reg.newSession, device.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	url, _ := serve(t, h)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make([]loadResult, loadDevices)
	errs := make([]error, loadDevices)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range loadDevices {
		encoding := device.EncodingPCM16
		if i%opusEvery == opusEvery-1 {
			encoding = device.EncodingOpus
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the starts over one second, as real devices would.
			time.Sleep(time.Duration(i) * time.Second / loadDevices)
			results[i], errs[i] = runDevice(ctx, url, encoding, mics[encoding], i, reg, start.Add(loadDuration))
		}()
	}
	wg.Wait()
	utterances, frames := 0, 0
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if failed <= 10 {
				t.Errorf("device %d: %v", i, err)
			}
			continue
		}
		utterances += results[i].utterances
		frames += results[i].frames
	}
	if failed > 0 {
		t.Errorf("%d of %d devices failed", failed, loadDevices)
	}
	t.Logf("%d devices, %v: %d utterances answered, %d agent audio frames", loadDevices, time.Since(start).Round(time.Millisecond), utterances, frames)
}

// runDevice plays one device until the deadline, then checks its counts
// against the server's and says bye.
func runDevice(ctx context.Context, url, encoding string, audio *micAudio, first int, reg *registry, deadline time.Time) (loadResult, error) {
	const rate = 16000
	res := loadResult{events: map[string]int{}}
	c, err := dialClient(ctx, url, "type")
	if err != nil {
		return res, err
	}
	defer c.drop()
	// The devices cancel their own echo ("aec": false), as a phone or a
	// browser does: this test loads the session machinery, and the
	// server's canceller has its own capacity figure in make bench.
	if err := c.writeJSON(map[string]any{"type": "hello", "version": 1, "language": "en", "device": "load",
		"audio": map[string]any{"encoding": encoding, "sample_rate": rate}, "aec": false}); err != nil {
		return res, err
	}
	m, err := c.next(10 * time.Second)
	if err != nil || m.typ != device.TypeHello {
		return res, fmt.Errorf("server hello: %q %v", m.data, err)
	}
	var hello device.ServerHello
	if err := json.Unmarshal(m.data, &hello); err != nil {
		return res, err
	}
	server := reg.get(hello.Session)
	if server == nil {
		return res, fmt.Errorf("no server session %q", hello.Session)
	}

	var mic [][][]byte // chunks of messages still to send
	const (
		speaking = iota // the utterance is being sent
		waiting         // waiting for its reply
		settling        // after the last reply: waiting for the counts to match
	)
	phase := speaking
	mic = append(mic, audio.clip(first)...)
	res.utterances = 1
	sentAt := time.Now()
	framesBefore := 0
	lastState := ""
	matched := 0
	tick := time.NewTicker(micChunk)
	defer tick.Stop()
	closed := c.done
	for {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-closed:
			closed = nil // report it once the queued messages are read
		case m := <-c.msgs:
			if m.binary {
				res.frames++
				continue
			}
			res.events[m.typ]++
			switch m.typ {
			case device.TypeError:
				return res, fmt.Errorf("server error message %s", m.data)
			case string(agent.EventState):
				var ev agent.Event
				if err := json.Unmarshal(m.data, &ev); err != nil {
					return res, err
				}
				lastState = string(ev.State)
			case string(agent.EventAgentDone):
				if phase != waiting {
					return res, fmt.Errorf("agent_done while not waiting for a reply: %s", m.data)
				}
				if res.events[string(agent.EventUserFinal)] != res.utterances || res.events[string(agent.EventAgentDone)] != res.utterances {
					return res, fmt.Errorf("utterance %d: %d user_final, %d agent_done", res.utterances, res.events[string(agent.EventUserFinal)], res.events[string(agent.EventAgentDone)])
				}
				if time.Now().Before(deadline) {
					// A short pause, then the next utterance.
					mic = append(mic, audio.clip(first+res.utterances)...)
					res.utterances++
					phase, sentAt = speaking, time.Now()
				} else {
					phase, sentAt = settling, time.Now()
				}
			}
		case <-tick.C:
			if closed == nil && len(c.msgs) == 0 {
				return res, fmt.Errorf("connection ended: %w", c.err)
			}
			switch phase {
			case waiting:
				if time.Since(sentAt) > replyWait {
					return res, fmt.Errorf("utterance %d: no reply within %v; events %v", res.utterances, replyWait, res.events)
				}
			case settling:
				// Done when the session is back to listening and every
				// frame and event it sent has arrived, twice in a row.
				// The microphone is off by now, so the session must have
				// read every sample sent.
				read, frames, events := server.snapshot()
				if lastState == string(agent.StateListening) && read == res.sent && frames == res.frames && frames > framesBefore && maps.Equal(events, res.events) {
					if matched++; matched == 2 {
						return res, c.bye()
					}
				} else {
					matched = 0
				}
				if time.Since(sentAt) > 5*time.Second {
					return res, fmt.Errorf("counts differ: server read %d samples, sent %d frames, events %v; device sent %d samples, got %d frames, events %v (state %q)",
						read, frames, events, res.sent, res.frames, res.events, lastState)
				}
				continue // the microphone is off
			}
			msgs := audio.silence
			if len(mic) > 0 {
				msgs, mic = mic[0], mic[1:]
			}
			for _, b := range msgs {
				if err := c.write(websocket.BinaryMessage, b); err != nil {
					return res, err
				}
			}
			res.sent += audio.chunk
			if phase == speaking && len(mic) == 0 {
				// The utterance is out. JSON events overtake queued audio,
				// so the previous reply's audio is checked only now.
				if res.utterances > 1 && res.frames == framesBefore {
					return res, fmt.Errorf("utterance %d: reply without agent audio", res.utterances-1)
				}
				phase, framesBefore = waiting, res.frames
			}
		}
	}
}

// micAudio is a device microphone's audio, encoded once: each clip after
// a short pause, and silence, as chunks of micChunk, each a list of binary
// messages.
type micAudio struct {
	clips   [][][][]byte
	silence [][]byte
	chunk   int // samples per chunk
}

func newMicAudio(encoding string, clips [][]int16) (*micAudio, error) {
	const rate = 16000
	enc, err := newDeviceAudio(encoding, rate)
	if err != nil {
		return nil, err
	}
	a := &micAudio{chunk: rate * int(micChunk/time.Millisecond) / 1000}
	if a.silence, err = enc.messages(make([]int16, a.chunk), rate); err != nil {
		return nil, err
	}
	pause := rate * 3 / 10
	for _, c := range clips {
		n := (pause + len(c) + a.chunk - 1) / a.chunk * a.chunk
		samples := make([]int16, n)
		copy(samples[pause:], c)
		var track [][][]byte
		for i := 0; i < n; i += a.chunk {
			msgs, err := enc.messages(samples[i:i+a.chunk], rate)
			if err != nil {
				return nil, err
			}
			track = append(track, msgs)
		}
		a.clips = append(a.clips, track)
	}
	return a, nil
}

// clip returns the chunks of clip i (modulo the number of clips).
func (a *micAudio) clip(i int) [][][]byte { return a.clips[i%len(a.clips)] }

// bye ends a device session and waits for the server's close frame.
func (c *client) bye() error {
	if err := c.writeJSON(map[string]string{"type": "bye"}); err != nil {
		return err
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("server did not close after bye")
	}
	if !websocket.IsCloseError(c.err, websocket.CloseNormalClosure) {
		return fmt.Errorf("connection ended with %v, want a normal close", c.err)
	}
	return nil
}
