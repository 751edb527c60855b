package livekittest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/livekit/protocol/auth"
	lkp "github.com/livekit/protocol/livekit"
	lklog "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	pion "github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
)

const (
	rate  = 48000
	frame = rate / 50
)

// Heard is one 20 ms frame of the agent's audio as the client received it.
type Heard struct {
	At      time.Time
	Samples []int16
}

// Loud reports whether the frame is above -40 dBFS.
func (h Heard) Loud() bool { return pcm.DBFS(h.Samples) > -40 }

// Event is a session event received on the events topic, with its arrival
// time.
type Event struct {
	transport.Event
	At time.Time
}

// Transcript is one lk.transcription text stream received.
type Transcript struct {
	From    string // sender identity
	Segment string
	Track   string
	Final   bool
	Text    string
}

// Media is what a client received from a participant that is not an agent
// (a person the call was handed to).
type Media struct {
	// VideoPackets counts RTP packets with a payload on video tracks.
	VideoPackets int
	// AudioFrames counts decoded audio packets; AudioLoud those above
	// -40 dBFS.
	AudioFrames, AudioLoud int
}

// Client is a caller in a LiveKit room made with the Go SDK: a microphone
// track that streams silence or queued speech on a 20 ms clock, a speaker
// that decodes and records the agent's audio with arrival times,
// recorders for the agent's events, transcripts and state attribute, and
// counters of the media other people in the room send (see Media).
type Client struct {
	Room *lksdk.Room

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every recorded item
	queue       []int16
	heard       []Heard
	events      []Event
	transcripts []Transcript
	states      []string
	media       map[string]Media // by identity

	stop chan struct{}
	wg   sync.WaitGroup
}

// Token returns a join token for room and identity; agents, if not empty,
// asks the server to dispatch those agent names to the room.
func Token(room, identity string, agents ...string) (string, error) {
	at := auth.NewAccessToken(APIKey, APISecret).SetIdentity(identity).
		SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: room}).SetValidFor(time.Hour)
	if len(agents) > 0 {
		rc := &lkp.RoomConfiguration{}
		for _, a := range agents {
			rc.Agents = append(rc.Agents, &lkp.RoomAgentDispatch{AgentName: a})
		}
		at.SetRoomConfig(rc)
	}
	return at.ToJWT()
}

// Join connects a client to the server at url with token and starts its
// microphone.
func Join(ctx context.Context, url, token string) (*Client, error) {
	c := &Client{changed: make(chan struct{}), stop: make(chan struct{}), media: map[string]Media{}}
	cb := lksdk.NewRoomCallback()
	cb.ParticipantCallback.OnTrackSubscribed = c.onTrack
	cb.ParticipantCallback.OnDataPacket = c.onData
	// Wait's conditions may look at the room's participants and tracks.
	cb.ParticipantCallback.OnTrackUnpublished = func(*lksdk.RemoteTrackPublication, *lksdk.RemoteParticipant) { c.record(func() {}) }
	cb.OnParticipantDisconnected = func(*lksdk.RemoteParticipant) { c.record(func() {}) }
	cb.ParticipantCallback.OnAttributesChanged = func(changed map[string]string, p lksdk.Participant) {
		if s, ok := changed["lk.agent.state"]; ok {
			c.record(func() { c.states = append(c.states, s) })
		}
	}
	room := lksdk.NewRoom(cb)
	if err := room.RegisterTextStreamHandler("lk.transcription", c.onTranscript); err != nil {
		return nil, err
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := room.JoinWithContextAndToken(jctx, url, token, lksdk.WithLogger(lklog.GetDiscardLogger())); err != nil {
		return nil, fmt.Errorf("livekittest: join: %w", err)
	}
	c.Room = room
	track, err := lksdk.NewLocalSampleTrack(pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: rate, Channels: 2})
	if err != nil {
		room.Disconnect()
		return nil, err
	}
	if _, err := room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "mic", Source: lkp.TrackSource_MICROPHONE,
	}); err != nil {
		room.Disconnect()
		return nil, fmt.Errorf("livekittest: publish: %w", err)
	}
	enc, err := opus.NewEncoder(rate, 1)
	if err != nil {
		room.Disconnect()
		return nil, err
	}
	c.wg.Add(1)
	go c.mic(track, enc)
	return c, nil
}

// mic sends a 20 ms Opus frame every 20 ms: queued speech, else silence.
func (c *Client) mic(track *lksdk.LocalTrack, enc *opus.Encoder) {
	defer c.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	buf := make([]int16, frame)
	var pkt []byte
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		clear(buf)
		c.mu.Lock()
		n := copy(buf, c.queue)
		c.queue = c.queue[n:]
		c.mu.Unlock()
		var err error
		if pkt, err = enc.Encode(buf, pkt[:0]); err != nil {
			continue
		}
		_ = track.WriteSample(media.Sample{Data: pkt, Duration: 20 * time.Millisecond}, nil)
	}
}

// Say queues 48 kHz mono speech on the microphone and returns when its
// first sample will be sent (the next 20 ms tick when nothing is queued).
func (c *Client) Say(samples []int16) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := time.Now().Add(time.Duration(len(c.queue)) * time.Second / rate)
	c.queue = append(c.queue, samples...)
	return at
}

func (c *Client) onTrack(track *pion.TrackRemote, _ *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if rp.Kind() != lksdk.ParticipantAgent {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.count(track, rp.Identity())
		}()
		return
	}
	if track.Kind() != pion.RTPCodecTypeAudio {
		return
	}
	dec, err := opus.NewDecoder(rate, 1)
	if err != nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			p, _, err := track.ReadRTP()
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
			h := Heard{At: time.Now(), Samples: s}
			c.record(func() { c.heard = append(c.heard, h) })
		}
	}()
}

// count records what a person's track brings until it ends.
func (c *Client) count(track *pion.TrackRemote, identity string) {
	var dec *opus.Decoder
	if track.Kind() == pion.RTPCodecTypeAudio {
		var err error
		if dec, err = opus.NewDecoder(rate, 1); err != nil {
			return
		}
	}
	for {
		p, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) == 0 {
			continue
		}
		if dec == nil {
			c.record(func() {
				m := c.media[identity]
				m.VideoPackets++
				c.media[identity] = m
			})
			continue
		}
		s, err := dec.Decode(p.Payload, nil)
		if err != nil {
			continue
		}
		loud := pcm.DBFS(s) > -40
		c.record(func() {
			m := c.media[identity]
			m.AudioFrames++
			if loud {
				m.AudioLoud++
			}
			c.media[identity] = m
		})
	}
}

func (c *Client) onData(d lksdk.DataPacket, params lksdk.DataReceiveParams) {
	u, ok := d.(*lksdk.UserDataPacket)
	if !ok || u.Topic != "hark.events" {
		return
	}
	var ev transport.Event
	if json.Unmarshal(u.Payload, &ev) != nil {
		return
	}
	e := Event{Event: ev, At: time.Now()}
	c.record(func() { c.events = append(c.events, e) })
}

func (c *Client) onTranscript(r *lksdk.TextStreamReader, identity string) {
	attrs := r.Info.Attributes
	text := r.ReadAll()
	t := Transcript{From: identity, Segment: attrs["lk.segment_id"], Track: attrs["lk.transcribed_track_id"],
		Final: attrs["lk.transcription_final"] == "true", Text: text}
	c.record(func() { c.transcripts = append(c.transcripts, t) })
}

func (c *Client) record(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
}

// Heard returns the agent audio received so far.
func (c *Client) Heard() []Heard {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Heard(nil), c.heard...)
}

// Events returns the session events received so far.
func (c *Client) Events() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...)
}

// Transcripts returns the transcripts received so far.
func (c *Client) Transcripts() []Transcript {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Transcript(nil), c.transcripts...)
}

// States returns the agent states seen so far.
func (c *Client) States() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.states...)
}

// Media returns what the participant identity sent so far.
func (c *Client) Media(identity string) Media {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media[identity]
}

// ErrTimeout is returned by Wait when the condition did not hold in time.
var ErrTimeout = errors.New("livekittest: timed out")

// Wait blocks until cond holds (checked on every recorded item), ctx is
// done or timeout passes.
func (c *Client) Wait(ctx context.Context, timeout time.Duration, cond func() bool) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return ErrTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitEvent waits for an event after the first skip events that matches.
func (c *Client) WaitEvent(ctx context.Context, timeout time.Duration, skip int, match func(transport.Event) bool) (Event, error) {
	var found Event
	err := c.Wait(ctx, timeout, func() bool {
		evs := c.Events()
		for _, e := range evs[min(skip, len(evs)):] {
			if match(e.Event) {
				found = e
				return true
			}
		}
		return false
	})
	return found, err
}

// Close leaves the room and stops the client's goroutines.
func (c *Client) Close() {
	close(c.stop)
	c.Room.Disconnect()
	c.wg.Wait()
}
