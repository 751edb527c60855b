package main

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/twilio"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// TestPhoneLine calls the support line the way Twilio does, with the
// offline engines (the recogniser scripted): the webhook's TwiML, the greeting, a spoken order
// question answered through lookup_order, and the 0 key handing the caller
// to a human.
func TestPhoneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with the offline engines")
	}
	eng, err := engines(config{})
	if err != nil {
		t.Skipf("offline engines not installed (make deps): %v", err)
	}
	defer eng.close()
	stages := eng.stages
	// PocketSphinx's installed model is wideband and recognises 8 kHz
	// telephone speech poorly, so the recogniser is scripted here; the
	// dialogue engine, Flite, the VAD and the tools are the real ones.
	stages = append(stages, agent.WithSTT(agenttest.NewSTT("where is my order one two three four")))
	events := make(chan agent.Event, 256)
	c := config{token: "tok", onEvent: func(ev agent.Event) {
		select {
		case events <- ev:
		default:
		}
	}}
	srv := httptest.NewUnstartedServer(nil)
	c.publicURL = "https://" + srv.Listener.Addr().String()
	h, wait, err := newHandler(c, stages, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()
	defer wait()

	// The webhook.
	resp, err := http.Post(srv.URL+"/twilio/voice", "application/x-www-form-urlencoded", strings.NewReader("CallSid=CA1"))
	if err != nil {
		t.Fatal(err)
	}
	twiml, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	var tw struct {
		Stream struct {
			URL   string `xml:"url,attr"`
			Param struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"Parameter"`
		} `xml:"Connect>Stream"`
	}
	if err := xml.Unmarshal(twiml, &tw); err != nil || tw.Stream.URL != "wss://"+host+"/twilio/stream" ||
		tw.Stream.Param.Name != "token" || tw.Stream.Param.Value == "" || tw.Stream.Param.Value == c.token {
		t.Fatalf("TwiML %s (%v)", twiml, err)
	}

	// The stream.
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+host+"/twilio/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	var wmu sync.Mutex
	send := func(m twilio.Message) {
		wmu.Lock()
		defer wmu.Unlock()
		if err := ws.WriteJSON(m); err != nil {
			t.Error(err)
		}
	}
	send(twilio.Message{Event: twilio.EventConnected, Protocol: "Call", Version: "1.0.0"})
	send(twilio.Message{Event: twilio.EventStart, StreamSid: "MZ1", Start: &twilio.Start{
		StreamSid: "MZ1", AccountSid: "AC1", CallSid: "CA1", Tracks: []string{"inbound"},
		CustomParameters: map[string]string{"token": tw.Stream.Param.Value},
		MediaFormat:      twilio.MediaFormat{Encoding: "audio/x-mulaw", SampleRate: 8000, Channels: 1},
	}})
	// Twilio's side: echo marks, count media.
	var mu sync.Mutex
	media := 0
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			var m twilio.Message
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			switch m.Event {
			case twilio.EventMedia:
				mu.Lock()
				media++
				mu.Unlock()
			case twilio.EventMark:
				send(twilio.Message{Event: twilio.EventMark, StreamSid: "MZ1", Mark: m.Mark})
			}
		}
	}()
	// The caller's microphone: silence, then the question, in real time.
	fr, err := wav.ReadFile("../../testdata/speech/order_slt.wav")
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono8k); err != nil {
		t.Fatal(err)
	}
	var micMu sync.Mutex
	var mic []int16
	micStop := make(chan struct{})
	micDone := make(chan struct{})
	go func() {
		defer close(micDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-micStop:
				return
			case <-tick.C:
			}
			frame := make([]int16, 160)
			micMu.Lock()
			mic = mic[copy(frame, mic):]
			micMu.Unlock()
			send(twilio.Message{Event: twilio.EventMedia, StreamSid: "MZ1", Media: &twilio.Media{
				Track: "inbound", Payload: base64.StdEncoding.EncodeToString(g711.EncodeUlaw(nil, frame))}})
		}
	}()
	defer func() {
		close(micStop)
		<-micDone
	}()

	waitFor := func(what string, ok func(agent.Event) bool) agent.Event {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case ev := <-events:
				if ok(ev) {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s within 30 s", what)
			}
		}
	}
	waitFor("greeting", func(ev agent.Event) bool {
		return ev.Type == agent.EventAgentDone && strings.Contains(ev.Text, "Hark Outfitters")
	})
	mu.Lock()
	if media < 50 {
		t.Errorf("greeting: %d media messages", media)
	}
	mu.Unlock()

	micMu.Lock()
	mic = append(mic, fr.Samples...)
	micMu.Unlock()
	tool := waitFor("lookup_order", func(ev agent.Event) bool {
		return ev.Type == agent.EventToolCall && ev.Tool.Name == "lookup_order"
	})
	if !strings.Contains(tool.Tool.Result, `"status":"shipped"`) || !strings.Contains(tool.Tool.Result, "trail running shoes") {
		t.Fatalf("lookup_order %+v", tool.Tool)
	}
	waitFor("the order reply", func(ev agent.Event) bool {
		return ev.Type == agent.EventAgentText && strings.Contains(ev.Text, "trail running shoes")
	})

	send(twilio.Message{Event: twilio.EventDTMF, StreamSid: "MZ1", DTMF: &twilio.DTMF{Track: "inbound_track", Digit: "0"}})
	handoff := waitFor("hand-off", func(ev agent.Event) bool { return ev.Type == agent.EventHandoff })
	if handoff.Text == "" {
		t.Error("hand-off without a reason")
	}
	// The call's tool call and hand-off show in the Prometheus metrics.
	mresp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	for _, want := range []string{`hark_tool_calls_total{outcome="ok",tool="lookup_order"} 1`, "hark_handoffs_total 1"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics has no %s:\n%s", want, body)
		}
	}

	send(twilio.Message{Event: twilio.EventStop, StreamSid: "MZ1", Stop: &twilio.Stop{CallSid: "CA1"}})
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		t.Fatal("stream not closed after stop")
	}
}
