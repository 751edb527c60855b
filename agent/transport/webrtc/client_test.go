package webrtc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/opus"
)

// testClient is a pion peer speaking the package's signalling, as a browser
// would: it sends Opus from a track, decodes what it receives and collects
// the data channel's events.
type testClient struct {
	t        *testing.T
	pc       *pion.PeerConnection
	mic      *pion.TrackLocalStaticSample
	dc       *pion.DataChannel
	location string
	opened   chan struct{}

	mu        sync.Mutex
	events    []agent.Event
	received  []heardFrame // decoded frames from the server, in order
	markers   int
	evSignal  chan struct{}
	audSignal chan struct{}
	wg        sync.WaitGroup
}

func loopbackAPI(t *testing.T) *pion.API {
	t.Helper()
	me := &pion.MediaEngine{}
	if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111},
		pion.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return pion.NewAPI(pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir), pion.WithSettingEngine(se))
}

// newTestClient builds the peer and its offer; post sends it.
func newTestClient(t *testing.T) *testClient {
	t.Helper()
	pc, err := loopbackAPI(t).NewPeerConnection(pion.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	c := &testClient{t: t, pc: pc, opened: make(chan struct{}),
		evSignal: make(chan struct{}, 1), audSignal: make(chan struct{}, 1)}
	c.mic, err = pion.NewTrackLocalStaticSample(opusCodec, "mic", "client")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(c.mic); err != nil {
		t.Fatal(err)
	}
	c.dc, err = pc.CreateDataChannel("hark", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.dc.OnOpen(func() { close(c.opened) })
	c.dc.OnMessage(func(m pion.DataChannelMessage) {
		var ev agent.Event
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			return
		}
		c.mu.Lock()
		c.events = append(c.events, ev)
		c.mu.Unlock()
		notify(c.evSignal)
	})
	pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		c.wg.Add(1)
		go c.readAudio(tr)
	})
	return c
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *testClient) readAudio(tr *pion.TrackRemote) {
	defer c.wg.Done()
	dec, err := opus.NewDecoder(rtpRate, 1)
	if err != nil {
		return
	}
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) == 0 {
			continue
		}
		s, err := dec.Decode(p.Payload, nil)
		if err != nil {
			continue
		}
		c.mu.Lock()
		c.received = append(c.received, heardFrame{at: time.Now(), samples: s})
		if p.Marker {
			c.markers++
		}
		c.mu.Unlock()
		notify(c.audSignal)
	}
}

// offer returns the client's complete offer.
func (c *testClient) offer() string {
	c.t.Helper()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	return c.pc.LocalDescription().SDP
}

// post sends the offer to url and applies the answer.
func (c *testClient) post(url string) {
	c.t.Helper()
	res, err := http.Post(url, "application/sdp", strings.NewReader(c.offer()))
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		c.t.Fatalf("POST offer: %s: %s", res.Status, body)
	}
	loc, err := res.Location()
	if err != nil {
		c.t.Fatal(err)
	}
	c.location = loc.String()
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: string(body)}); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.opened:
	case <-time.After(10 * time.Second):
		c.t.Fatal("data channel did not open")
	}
}

// delete ends the session with a DELETE of its location.
func (c *testClient) delete() int {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, c.location, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (c *testClient) close() {
	if err := c.pc.Close(); err != nil {
		c.t.Error(err)
	}
	c.wg.Wait()
}

func (c *testClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.dc.SendText(string(b)); err != nil {
		c.t.Fatal(err)
	}
}

// speak sends samples (48 kHz mono) as Opus in 20 ms packets at real time.
func (c *testClient) speak(ctx context.Context, samples []int16) error {
	enc, err := opus.NewEncoder(rtpRate, 1)
	if err != nil {
		return err
	}
	tick := time.NewTicker(frameDuration)
	defer tick.Stop()
	var pkt []byte
	for i := 0; i+frameSamples <= len(samples); i += frameSamples {
		if pkt, err = enc.Encode(samples[i:i+frameSamples], pkt[:0]); err != nil {
			return err
		}
		if err := c.mic.WriteSample(media.Sample{Data: pkt, Duration: frameDuration}); err != nil {
			return err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitEvent waits until an event matching ok has arrived and returns it.
func (c *testClient) waitEvent(d time.Duration, what string, ok func(agent.Event) bool) agent.Event {
	c.t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		for _, ev := range c.events {
			if ok(ev) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
		select {
		case <-c.evSignal:
		case <-deadline:
			c.t.Fatalf("no %s event within %v; got %s", what, d, c.eventTypes())
		}
	}
}

func (c *testClient) eventTypes() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, ev := range c.events {
		fmt.Fprintf(&b, "%s(%q) ", ev.Type, ev.Text)
	}
	return b.String()
}

// waitAudio waits until at least n frames have arrived.
func (c *testClient) waitAudio(d time.Duration, n int) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		got := len(c.received)
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c.audSignal:
		case <-deadline:
			c.t.Fatalf("received %d audio frames within %v, want %d", got, d, n)
		}
	}
}

// heardFrame is a frame of agent audio and when it arrived.
type heardFrame struct {
	at      time.Time
	samples []int16
}

func (c *testClient) audio() []heardFrame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]heardFrame(nil), c.received...)
}

// mic streams 20 ms frames to the server at real time, like a microphone:
// silence, except while a queued clip plays.
type mic struct {
	c     *testClient
	clips chan []int16
	wg    sync.WaitGroup
	mu    sync.Mutex
	plays []time.Time // when each clip started
}

// startMic runs the microphone until ctx is done; stop waits for it.
func (c *testClient) startMic(ctx context.Context) *mic {
	m := &mic{c: c, clips: make(chan []int16, 4)}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		enc, err := opus.NewEncoder(rtpRate, 1)
		if err != nil {
			return
		}
		tick := time.NewTicker(frameDuration)
		defer tick.Stop()
		silence := make([]int16, frameSamples)
		var clip []int16
		var pkt []byte
		for {
			if len(clip) == 0 {
				select {
				case clip = <-m.clips:
					m.mu.Lock()
					m.plays = append(m.plays, time.Now())
					m.mu.Unlock()
				default:
				}
			}
			fr := silence
			if len(clip) >= frameSamples {
				fr, clip = clip[:frameSamples], clip[frameSamples:]
			} else {
				clip = nil
			}
			if pkt, err = enc.Encode(fr, pkt[:0]); err != nil {
				return
			}
			if err := c.mic.WriteSample(media.Sample{Data: pkt, Duration: frameDuration}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return m
}

// say queues a clip (48 kHz mono) and returns at once.
func (m *mic) say(clip []int16) { m.clips <- clip }

func (m *mic) stop() { m.wg.Wait() }
