package robustness

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/device"
	"github.com/harkvoice/hark/agent/transport/twilio"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Stages of a turn at which the client goes away.
const (
	stageNone    = "none"    // no disconnect: a whole turn (the health check)
	stageSpeech  = "speech"  // while the user speaks
	stageSTT     = "stt"     // after the end of speech, before the transcript
	stageLLM     = "llm"     // while the LLM streams
	stageTTS     = "tts"     // while the TTS synthesises, before any audio
	stagePlayout = "playout" // while the reply plays
	stageTool    = "tool"    // while a tool runs
	stageBarge   = "barge"   // while a reply is paused by the user talking over it
)

var disconnectStages = []string{stageSpeech, stageSTT, stageLLM, stageTTS, stagePlayout, stageTool, stageBarge}

// Ways a client goes away.
const (
	modeDrop  = "drop"  // the TCP connection is cut, no close frame
	modeClose = "close" // a WebSocket close frame, no goodbye message
	modeBye   = "bye"   // the protocol's own goodbye: a device bye, a Twilio stop
)

// script is one session's providers: at its stage they signal hit and
// block until their context is cancelled.
type script struct {
	stage string
	hit   chan struct{}
	// toolDone is closed when the blocked tool call has returned.
	toolDone chan struct{}
}

func newScript(stage string) *script {
	return &script{stage: stage, hit: make(chan struct{}, 1), toolDone: make(chan struct{})}
}

func (s *script) signal() {
	select {
	case s.hit <- struct{}{}:
	default:
	}
}

func (s *script) transcribe(ctx context.Context, _ pcm.Frame, _ string) (pipeline.Transcript, error) {
	if s.stage == stageSTT {
		s.signal()
		<-ctx.Done()
		return pipeline.Transcript{}, context.Cause(ctx)
	}
	return pipeline.Transcript{Text: "set a timer for five minutes", Language: "en", Final: true}, nil
}

func (s *script) stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	return func(yield func(pipeline.Delta, error) bool) {
		switch {
		case s.stage == stageLLM:
			if !yield(pipeline.Delta{Text: "Okay, "}, nil) {
				return
			}
			s.signal()
			<-ctx.Done()
			yield(pipeline.Delta{}, context.Cause(ctx))
			return
		case s.stage == stageTool && req.Messages[len(req.Messages)-1].Role != pipeline.RoleTool:
			yield(agenttest.Call("call_1", "check_timer", `{"minutes":5}`), nil)
			return
		}
		for _, d := range agenttest.Text("Okay, your timer is set for five minutes.") {
			if !yield(d, nil) {
				return
			}
		}
	}
}

func (s *script) tool(ctx context.Context, _ json.RawMessage) (string, error) {
	defer close(s.toolDone)
	s.signal()
	<-ctx.Done()
	return "", context.Cause(ctx)
}

// synthesize speaks a 300 ms tone per chunk, 4 s where the client must
// catch the reply playing, and blocks at the TTS stage.
func (s *script) synthesize(ctx context.Context, _ pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	return func(yield func(pcm.Frame, error) bool) {
		d := 300 * time.Millisecond
		switch s.stage {
		case stageTTS:
			s.signal()
			<-ctx.Done()
			yield(pcm.Frame{}, context.Cause(ctx))
			return
		case stagePlayout, stageBarge:
			d = 4 * time.Second
		}
		for i := range int(d / pipeline.FrameDuration) {
			fr := pcm.Frame{Format: pcm.Mono16k, Samples: make([]int16, 320)}
			for j := range fr.Samples {
				fr.Samples[j] = int16(8000 * math.Sin(2*math.Pi*440*float64(i*320+j)/16000))
			}
			if !yield(fr, nil) {
				return
			}
		}
	}
}

// served is one session the test server ran.
type served struct {
	sc  *script
	log *eventLog
	ran chan error // Run's result
}

// recorder is the session the handlers run: it reports Run's result.
type recorder struct {
	*agent.Session
	ran chan error
}

func (r recorder) Run(ctx context.Context) error {
	err := r.Session.Run(ctx)
	r.ran <- err
	return err
}

// sessions creates the sessions of a test server, each scripted by the
// request's "stage" query parameter, and hands them to the test by the
// "id" parameter.
type sessions struct {
	mu   sync.Mutex
	byID map[string]chan served
}

func (ss *sessions) slot(id string) chan served {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ch, ok := ss.byID[id]
	if !ok {
		ch = make(chan served, 1)
		ss.byID[id] = ch
	}
	return ch
}

func (ss *sessions) create(r *http.Request, tr agent.Transport) (recorder, error) {
	sv := served{sc: newScript(r.URL.Query().Get("stage")), log: newEventLog(), ran: make(chan error, 1)}
	s, err := agent.New(tr,
		agent.WithLanguage("en"),
		agent.WithSTT(&agenttest.STT{Fn: sv.sc.transcribe}),
		agent.WithLLM(&agenttest.LLM{Fn: sv.sc.stream}),
		agent.WithTTS(&agenttest.TTS{Fn: sv.sc.synthesize}),
		agent.WithTools(agent.Tool{
			Tool:    pipeline.Tool{Name: "check_timer", Description: "Checks a timer.", Parameters: json.RawMessage(`{"type":"object"}`)},
			Func:    sv.sc.tool,
			Timeout: time.Minute,
		}),
		agent.WithVAD(energyVAD),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
		agent.WithEndOfTurn(300*time.Millisecond),
		agent.WithEventHandler(sv.log.add),
	)
	if err != nil {
		return recorder{}, err
	}
	ss.slot(r.URL.Query().Get("id")) <- sv
	return recorder{Session: s, ran: sv.ran}, nil
}

// caller is a connected client of either transport with a paced
// microphone.
type caller struct {
	*client
	transport string
	mu        sync.Mutex
	queue     []int16
	stop      chan struct{}
	micDone   chan struct{}
	// answer, when set, is called by the microphone goroutine with every
	// message received, and returns a message to send back (or nil).
	answer func(message) []byte
}

// say queues speech for the microphone.
func (c *caller) say(samples []int16) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, samples...)
}

// startMic sends a 20 ms message every 20 ms: queued speech, else silence.
func (c *caller) startMic(rate int, encode func(chunk int, samples []int16) (int, []byte)) {
	c.stop, c.micDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.micDone)
		tick := time.NewTicker(pipeline.FrameDuration)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-c.stop:
				return
			case <-c.done:
				return
			case <-tick.C:
			}
			frame := make([]int16, rate/50)
			c.mu.Lock()
			k := copy(frame, c.queue)
			c.queue = c.queue[k:]
			c.mu.Unlock()
			kind, b := encode(n, frame)
			if c.write(kind, b) != nil {
				return
			}
			if c.answer != nil && !c.answerAll() {
				return
			}
		}
	}()
}

// answerAll answers the messages received so far; it reports false when a
// write failed.
func (c *caller) answerAll() bool {
	for {
		select {
		case m := <-c.msgs:
			if b := c.answer(m); b != nil && c.write(websocket.TextMessage, b) != nil {
				return false
			}
		default:
			return true
		}
	}
}

// leave ends the call the given way and stops the microphone.
func (c *caller) leave(mode string) error {
	close(c.stop)
	<-c.micDone
	switch mode {
	case modeDrop:
		c.drop()
		return nil
	case modeClose:
		c.closeNormally()
		return nil
	}
	var err error
	if c.transport == "twilio" {
		err = c.writeJSON(twilio.Message{Event: twilio.EventStop, StreamSid: "MZ1", Stop: &twilio.Stop{AccountSid: "AC1", CallSid: "CA1"}})
	} else {
		err = c.writeJSON(map[string]string{"type": device.TypeBye})
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		err = fmt.Errorf("server did not close after %s", mode)
	}
	c.drop()
	return err
}

// dialDevice connects a pcm16 16 kHz device.
func dialDevice(ctx context.Context, url string) (*caller, error) {
	cl, err := dialClient(ctx, url, "type")
	if err != nil {
		return nil, err
	}
	c := &caller{client: cl, transport: "device"}
	err = c.writeJSON(map[string]any{"type": device.TypeHello, "version": device.ProtocolVersion, "language": "en",
		"audio": map[string]any{"encoding": device.EncodingPCM16, "sample_rate": 16000}})
	if err == nil {
		var m message
		if m, err = c.next(10 * time.Second); err == nil && m.typ != device.TypeHello {
			err = fmt.Errorf("server answered %s", m.data)
		}
	}
	if err != nil {
		cl.drop()
		return nil, err
	}
	c.startMic(16000, func(_ int, s []int16) (int, []byte) { return websocket.BinaryMessage, pcmBytes(s) })
	return c, nil
}

// dialTwilio connects a Media Stream as Twilio would.
func dialTwilio(ctx context.Context, url string) (*caller, error) {
	cl, err := dialClient(ctx, url, "event")
	if err != nil {
		return nil, err
	}
	// Like Twilio, the caller echoes each mark once the audio before it has
	// played; here at once, since the test does not play it.
	c := &caller{client: cl, transport: "twilio", answer: func(m message) []byte {
		if m.typ != twilio.EventMark {
			return nil
		}
		var in twilio.Message
		if json.Unmarshal(m.data, &in) != nil || in.Mark == nil {
			return nil
		}
		b, _ := json.Marshal(twilio.Message{Event: twilio.EventMark, StreamSid: "MZ1", Mark: in.Mark})
		return b
	}}
	err = c.writeJSON(twilio.Message{Event: twilio.EventConnected, Protocol: "Call", Version: "1.0.0"})
	if err == nil {
		err = c.writeJSON(twilio.Message{Event: twilio.EventStart, SequenceNumber: "1", StreamSid: "MZ1", Start: &twilio.Start{
			StreamSid: "MZ1", AccountSid: "AC1", CallSid: "CA1", Tracks: []string{"inbound"},
			MediaFormat: twilio.MediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1},
		}})
	}
	if err != nil {
		cl.drop()
		return nil, err
	}
	c.startMic(8000, func(n int, s []int16) (int, []byte) {
		b, _ := json.Marshal(twilio.Message{Event: twilio.EventMedia, StreamSid: "MZ1", Media: &twilio.Media{
			Track: "inbound", Chunk: strconv.Itoa(n), Timestamp: strconv.Itoa(20 * n),
			Payload: base64.StdEncoding.EncodeToString(g711.EncodeUlaw(nil, s)),
		}})
		return websocket.TextMessage, b
	})
	return c, nil
}

// transportServer is one transport's test server.
type transportServer struct {
	name string
	url  string
	h    *tracked
	ss   *sessions
	dial func(ctx context.Context, url string) (*caller, error)
	rate int
}

func newTransportServers(t *testing.T) []*transportServer {
	t.Helper()
	devSS := &sessions{byID: map[string]chan served{}}
	dh, err := device.NewHandler(func(r *http.Request, c *device.Conn) (device.Session, error) {
		return devSS.create(r, c)
	}, device.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	twSS := &sessions{byID: map[string]chan served{}}
	th, err := twilio.NewHandler(func(r *http.Request, c *twilio.Conn) (twilio.Session, error) {
		return twSS.create(r, c)
	}, twilio.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	dURL, dTracked := serve(t, dh)
	tURL, tTracked := serve(t, th)
	return []*transportServer{
		{name: "device", url: dURL, h: dTracked, ss: devSS, dial: dialDevice, rate: 16000},
		{name: "twilio", url: tURL, h: tTracked, ss: twSS, dial: dialTwilio, rate: 8000},
	}
}

// call connects a client whose session plays stage, and returns both ends.
func (ts *transportServer) call(t *testing.T, id, stage string) (*caller, served) {
	t.Helper()
	c, err := ts.dial(waitCtx(t, 10*time.Second), fmt.Sprintf("%s/?stage=%s&id=%s", ts.url, stage, id))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case sv := <-ts.ss.slot(id):
		return c, sv
	case <-time.After(10 * time.Second):
		c.drop()
		t.Fatal("no session created")
	}
	return nil, served{}
}

// TestDisconnect makes a client go away at every stage of a turn, over the
// device WebSocket and over Twilio, by cutting the connection, closing the
// WebSocket or saying goodbye, and during the handshake. Each session's Run
// must return nil promptly, a blocked tool call must be cancelled, each
// handler must return, and afterwards the same handler must serve a new
// client a whole turn; nothing may be left behind.
func TestDisconnect(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // after the servers close
	servers := newTransportServers(t)
	speech := map[int][]int16{16000: clip(t, "timer_awb.wav", 16000), 8000: clip(t, "timer_awb.wav", 8000)}
	t.Run("stages", func(t *testing.T) {
		// All at once: the cases wait on real-time audio, not the CPU,
		// and t.Parallel would run only GOMAXPROCS of them at a time.
		var wg sync.WaitGroup
		defer wg.Wait()
		for _, ts := range servers {
			for _, stage := range disconnectStages {
				for _, mode := range []string{modeDrop, modeClose, modeBye} {
					id := fmt.Sprintf("%s-%s-%s", ts.name, stage, mode)
					wg.Go(func() {
						t.Run(id, func(t *testing.T) {
							c, sv := ts.call(t, id, stage)
							c.say(speech[ts.rate])
							if err := reach(c, sv, stage, speech[ts.rate]); err != nil {
								c.drop()
								t.Fatalf("stage not reached: %v", err)
							}
							if err := c.leave(mode); err != nil {
								t.Error(err)
							}
							if err := waitRun(sv.ran, 10*time.Second); err != nil {
								t.Fatalf("after the client left (%s) at stage %s: %v; events %s", mode, stage, err, summary(sv.log.all()))
							}
							if stage == stageTool {
								select {
								case <-sv.sc.toolDone:
								case <-time.After(5 * time.Second):
									t.Error("the tool call was not cancelled")
								}
							}
						})
					})
				}
			}
		}
	})
	// Clients that go away before their session starts.
	t.Run("handshake", func(t *testing.T) {
		for _, ts := range servers {
			for _, first := range []string{"", `{"type":"hel`, `{"event":"connected","protocol":"Call","version":"1.0.0"}`} {
				cl, err := dialClient(waitCtx(t, 10*time.Second), ts.url+"/?stage=none&id=handshake", "type")
				if err != nil {
					t.Fatal(err)
				}
				if first != "" {
					if err := cl.write(websocket.TextMessage, []byte(first)); err != nil {
						t.Fatal(err)
					}
				}
				cl.drop()
			}
		}
	})
	for _, ts := range servers {
		deadline := time.Now().Add(10 * time.Second)
		for ts.h.Active() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := ts.h.Active(); n > 0 {
			t.Fatalf("%s: %d handlers still running", ts.name, n)
		}
		// The handler still serves a whole turn.
		t.Run(ts.name+"-healthy", func(t *testing.T) {
			c, sv := ts.call(t, ts.name+"-healthy", stageNone)
			c.say(speech[ts.rate])
			ev, _, err := sv.log.wait(0, 15*time.Second, isType(agent.EventAgentDone))
			if err != nil {
				c.drop()
				t.Fatal(err)
			}
			if ev.Text != "Okay, your timer is set for five minutes." {
				t.Errorf("reply %q", ev.Text)
			}
			if err := c.leave(modeBye); err != nil {
				t.Error(err)
			}
			if err := waitRun(sv.ran, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// reach waits until the session is at stage.
func reach(c *caller, sv served, stage string, speech []int16) error {
	const d = 15 * time.Second
	hit := func() error {
		select {
		case <-sv.sc.hit:
			return nil
		case <-time.After(d):
			return fmt.Errorf("provider not reached; events %s", summary(sv.log.all()))
		}
	}
	switch stage {
	case stageSpeech:
		_, _, err := sv.log.wait(0, d, func(ev agent.Event) bool { return ev.Type == agent.EventState && ev.State == agent.StateUserSpeaking })
		return err
	case stageSTT, stageLLM, stageTTS, stageTool:
		return hit()
	case stagePlayout, stageBarge:
		_, i, err := sv.log.wait(0, d, isType(agent.EventAgentText))
		if err != nil || stage == stagePlayout {
			time.Sleep(300 * time.Millisecond)
			return err
		}
		c.say(speech)
		_, _, err = sv.log.wait(i, d, func(ev agent.Event) bool {
			return ev.Type == agent.EventInterruption && !ev.Interruption.Cancelled
		})
		return err
	}
	return fmt.Errorf("unknown stage %q", stage)
}
