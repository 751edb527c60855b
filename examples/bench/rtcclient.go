package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

const (
	rtcRate      = 48000
	frameDur     = 20 * time.Millisecond
	rtcFrame     = rtcRate / 50 // samples per 20 ms at 48 kHz
	audibleDBFS  = -40.0        // a 20 ms frame above this level is audible
	onsetBlockMs = 10           // speech onset/end is found in 10 ms blocks
)

// errNoEvent reports an event that did not arrive in time.
var errNoEvent = errors.New("bench: event did not arrive in time")

// rtcPacket is one packet of agent audio the client received.
type rtcPacket struct {
	at      time.Time
	audible bool
}

// rtcEvent is a data channel event and when it arrived.
type rtcEvent struct {
	agent.Event
	at time.Time
}

// rtcClient is a WebRTC peer built with pion that behaves like a browser
// talking to the server's WebRTC transport: a microphone track streaming
// Opus in real time (silence, or a queued clip), a decoder that timestamps
// every packet of the agent's voice, and a data channel collecting events.
type rtcClient struct {
	pc     *pion.PeerConnection
	track  *pion.TrackLocalStaticSample
	dc     *pion.DataChannel
	opened chan struct{}

	mu      sync.Mutex
	packets []rtcPacket
	events  []rtcEvent
	signal  chan struct{} // pinged on every packet or event
	clips   chan []int16
	sentAt  [][]time.Time // per played clip: send time of each of its frames
	readers sync.WaitGroup
	micErr  error
	micDone chan struct{}
	stopMic context.CancelFunc
	// verbose, when set, receives the events of every trial.
	verbose io.Writer
}

// loopbackAPI returns a pion API restricted to IPv4 loopback UDP with mDNS
// off: without the loopback candidate ICE never connects on a machine with
// no outside network.
func loopbackAPI() (*pion.API, error) {
	me := &pion.MediaEngine{}
	codec := pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: rtcRate, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
	if err := me.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: codec, PayloadType: 111},
		pion.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	se := pion.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	return pion.NewAPI(pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir), pion.WithSettingEngine(se)), nil
}

// dialRTC connects to the WHIP-style endpoint url and starts the
// microphone, which streams until close.
func dialRTC(ctx context.Context, url string) (*rtcClient, error) {
	api, err := loopbackAPI()
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return nil, err
	}
	c := &rtcClient{pc: pc, opened: make(chan struct{}), signal: make(chan struct{}, 1),
		clips: make(chan []int16, 1), micDone: make(chan struct{})}
	if err := c.setup(ctx, url); err != nil {
		_ = pc.Close()
		c.readers.Wait()
		return nil, err
	}
	micCtx, stop := context.WithCancel(context.Background())
	c.stopMic = stop
	go c.mic(micCtx)
	return c, nil
}

func (c *rtcClient) setup(ctx context.Context, url string) error {
	var err error
	codec := pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: rtcRate, Channels: 2}
	if c.track, err = pion.NewTrackLocalStaticSample(codec, "mic", "bench"); err != nil {
		return err
	}
	if _, err = c.pc.AddTrack(c.track); err != nil {
		return err
	}
	if c.dc, err = c.pc.CreateDataChannel("hark", nil); err != nil {
		return err
	}
	var once sync.Once
	c.dc.OnOpen(func() { once.Do(func() { close(c.opened) }) })
	c.dc.OnMessage(func(m pion.DataChannelMessage) {
		var ev agent.Event
		if json.Unmarshal(m.Data, &ev) != nil {
			return
		}
		c.mu.Lock()
		c.events = append(c.events, rtcEvent{Event: ev, at: time.Now()})
		c.mu.Unlock()
		c.ping()
	})
	c.pc.OnTrack(func(tr *pion.TrackRemote, _ *pion.RTPReceiver) {
		c.readers.Add(1)
		go c.listen(tr)
	})
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return ctx.Err()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(c.pc.LocalDescription().SDP))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("bench: offer answered %s: %s", res.Status, body)
	}
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: string(body)}); err != nil {
		return err
	}
	select {
	case <-c.opened:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%w: data channel open", errNoEvent)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *rtcClient) ping() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// listen decodes the agent's voice and records when each packet arrived and
// whether it was audible.
func (c *rtcClient) listen(tr *pion.TrackRemote) {
	defer c.readers.Done()
	dec, err := opus.NewDecoder(rtcRate, 1)
	if err != nil {
		return
	}
	var buf []int16
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) == 0 {
			continue
		}
		at := time.Now()
		if buf, err = dec.Decode(p.Payload, buf[:0]); err != nil {
			continue
		}
		c.mu.Lock()
		c.packets = append(c.packets, rtcPacket{at: at, audible: pcm.DBFS(buf) > audibleDBFS})
		c.mu.Unlock()
		c.ping()
	}
}

// mic sends a 20 ms Opus frame every 20 ms: the queued clip while there is
// one, silence otherwise. It records when each frame of a clip was sent.
func (c *rtcClient) mic(ctx context.Context) {
	defer close(c.micDone)
	enc, err := opus.NewEncoder(rtcRate, 1)
	if err != nil {
		c.micErr = err
		return
	}
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	silence := make([]int16, rtcFrame)
	var clip []int16
	var sent *[]time.Time
	var pkt []byte
	for {
		if len(clip) == 0 {
			select {
			case clip = <-c.clips:
				c.mu.Lock()
				c.sentAt = append(c.sentAt, nil)
				sent = &c.sentAt[len(c.sentAt)-1]
				c.mu.Unlock()
			default:
			}
		}
		fr := silence
		inClip := len(clip) > 0
		if inClip {
			n := min(rtcFrame, len(clip))
			if n < rtcFrame {
				fr = append(clip[:n:n], silence[n:]...)
			} else {
				fr = clip[:n]
			}
			clip = clip[n:]
		}
		if pkt, err = enc.Encode(fr, pkt[:0]); err != nil {
			c.micErr = err
			return
		}
		if err := c.track.WriteSample(media.Sample{Data: pkt, Duration: frameDur}); err != nil {
			c.micErr = err
			return
		}
		if inClip {
			c.mu.Lock()
			*sent = append(*sent, time.Now())
			c.mu.Unlock()
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// say plays clip (48 kHz mono) into the microphone and returns the send
// time of each of its 20 ms frames once all have been sent.
func (c *rtcClient) say(ctx context.Context, clip []int16) ([]time.Time, error) {
	c.mu.Lock()
	idx := len(c.sentAt)
	c.mu.Unlock()
	select {
	case c.clips <- clip:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	want := (len(clip) + rtcFrame - 1) / rtcFrame
	for {
		c.mu.Lock()
		if len(c.sentAt) > idx && len(c.sentAt[idx]) >= want {
			out := append([]time.Time(nil), c.sentAt[idx]...)
			c.mu.Unlock()
			return out, nil
		}
		c.mu.Unlock()
		select {
		case <-time.After(frameDur):
		case <-c.micDone:
			return nil, fmt.Errorf("bench: microphone stopped: %v", c.micErr)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// send sends a client message on the data channel.
func (c *rtcClient) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.dc.SendText(string(b))
}

// mark returns the current number of packets and events, to wait for what
// comes after.
func (c *rtcClient) mark() (packets, events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.packets), len(c.events)
}

// waitEvent waits for an event at or after index from that satisfies ok.
func (c *rtcClient) waitEvent(ctx context.Context, from int, d time.Duration, ok func(rtcEvent) bool) (rtcEvent, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, ev := range c.events[min(from, len(c.events)):] {
			if ok(ev) {
				c.mu.Unlock()
				return ev, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.signal:
		case <-deadline.C:
			return rtcEvent{}, errNoEvent
		case <-ctx.Done():
			return rtcEvent{}, ctx.Err()
		}
	}
}

// waitAudible waits for an audible packet at or after index from and
// returns it.
func (c *rtcClient) waitAudible(ctx context.Context, from int, d time.Duration) (rtcPacket, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, p := range c.packets[min(from, len(c.packets)):] {
			if p.audible {
				c.mu.Unlock()
				return p, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.signal:
		case <-deadline.C:
			return rtcPacket{}, errNoEvent
		case <-ctx.Done():
			return rtcPacket{}, ctx.Err()
		}
	}
}

// waitQuiet waits until no audible packet has arrived for d (at most max).
func (c *rtcClient) waitQuiet(ctx context.Context, d, max time.Duration) error {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		if last, ok := c.lastAudible(0); !ok || time.Since(last) >= d {
			return nil
		}
		select {
		case <-time.After(d / 4):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("%w: agent silence", errNoEvent)
}

// lastAudible returns when the last audible packet at or after index from
// arrived.
func (c *rtcClient) lastAudible(from int) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.packets) - 1; i >= from; i-- {
		if c.packets[i].audible {
			return c.packets[i].at, true
		}
	}
	return time.Time{}, false
}

// trace writes the events from index from, timed from t0, to c.verbose.
func (c *rtcClient) trace(from int, t0 time.Time) {
	if c.verbose == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events[min(from, len(c.events)):] {
		b, _ := json.Marshal(e.Event)
		fmt.Fprintf(c.verbose, "    %8v %s\n", e.at.Sub(t0).Round(time.Millisecond), b)
	}
}

// close stops the microphone and the peer connection and waits for the
// client's goroutines.
func (c *rtcClient) close() {
	c.stopMic()
	<-c.micDone
	_ = c.pc.Close()
	c.readers.Wait()
}

// sampleTime maps a position in a played clip to wall time. Each frame is sent when
// a live microphone would have finished capturing it, so the sample at pos
// was captured (frame end - pos) before its frame was sent.
func sampleTime(sent []time.Time, pos int) time.Time {
	j := min(pos/rtcFrame, len(sent)-1)
	end := (j + 1) * rtcFrame
	return sent[j].Add(-time.Duration(end-pos) * time.Second / rtcRate)
}

// speechBounds returns the first sample of the first and the end of the
// last 10 ms block above -40 dBFS (ok false for a silent clip).
func speechBounds(clip []int16, rate int) (onset, end int, ok bool) {
	n := rate * onsetBlockMs / 1000
	onset = -1
	for i := 0; i+n <= len(clip); i += n {
		if pcm.DBFS(clip[i:i+n]) > audibleDBFS {
			if onset < 0 {
				onset = i
			}
			end = i + n
		}
	}
	return onset, end, onset >= 0
}
