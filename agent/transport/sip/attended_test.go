package sip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/sip/siptest"
	"github.com/harkvoice/hark/codecs/g711"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// noise returns d of white noise at 8 kHz and about level dBFS, seeded so
// that every test run sends the same audio.
func noise(d time.Duration, level float64, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed))
	amp := 32767 * math.Pow(10, level/20) * math.Sqrt(3)
	out := make([]int16, pcm.Mono8k.Samples(d))
	for i := range out {
		out[i] = int16(amp * (2*r.Float64() - 1))
	}
	return out
}

// sentFrom returns whether a payload is a piece of samples encoded in
// μ-law: a packet relayed unchanged from the sipp that played them.
func sentFrom(samples []int16) func(siptest.Packet) bool {
	enc := g711.EncodeUlaw(nil, samples)
	return func(p siptest.Packet) bool { return len(p.Payload) > 0 && bytes.Contains(enc, p.Payload) }
}

// whisperTTS says every request with one second of a 440 Hz tone at
// -23 dBFS (16 kHz) and records the texts.
type whisperTTS struct {
	mu    sync.Mutex
	texts []string
}

func (w *whisperTTS) Synthesize(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
	w.mu.Lock()
	w.texts = append(w.texts, req.Text)
	w.mu.Unlock()
	tone := make([]int16, 16000)
	for i := range tone {
		tone[i] = int16(0.1 * 32767 * math.Sin(2*math.Pi*440*float64(i)/16000))
	}
	return clipTTS(tone).Synthesize(ctx, req)
}

func (w *whisperTTS) said() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.texts)
}

// handoffSession is the session of the hand-off tests: the caller asks for
// a person, the model calls the hand-off tool and says a goodbye that
// replyTTS speaks as a quiet tone; a second turn is answered with "Okay,
// what else can I do for you?".
func handoffSession(c *Conn, events chan<- agent.Event) (Session, error) {
	return phoneSession(c, agenttest.NewSTT("I want to talk to a person", "never mind"), events,
		agent.WithLLM(agenttest.NewLLM(
			[]pipeline.Delta{agenttest.Call("c1", "transfer_to_human", `{}`)},
			agenttest.Text("Okay, let me connect you to a colleague."),
			agenttest.Text("Okay, what else can I do for you?"))),
		agent.WithTTS(replyTTS(nil)),
		agent.WithTools(agent.Tool{
			Tool: pipeline.Tool{Name: "transfer_to_human", Description: "Hand the caller to a person.", Parameters: json.RawMessage(`{"type":"object"}`)},
			Func: func(context.Context, json.RawMessage) (string, error) {
				return "", agent.Handoff("the caller asked for a person")
			},
		}))
}

// TestSIPAttendedBridge: the caller (sipp, whose phone does not take
// REFER) asks for a person; after the agent's goodbye Hark calls the
// person (a second sipp), whispers the summary to them alone, then relays
// the two calls' audio. The person's media port gets the whisper, then
// the caller's own packets; the caller's gets the goodbye, then only the
// person's packets, in one continuous RTP stream: the agent is out of the
// audio. When the caller hangs up, Hark hangs up on the person.
func TestSIPAttendedBridge(t *testing.T) {
	humanPort := siptest.FreeUDPPort(t)
	target := "sip:human@127.0.0.1:" + strconv.Itoa(humanPort)
	handoffs := make(chan Handoff, 1)
	whisper := &whisperTTS{}
	events := make(chan agent.Event, 256)
	srv := startServer(t, func(c *Conn) (Session, error) { return handoffSession(c, events) },
		WithAttendedTransfer(target, whisper), WithHandoff(func(h Handoff) { handoffs <- h }))
	callerSink, humanSink := siptest.NewRTPSink(t), siptest.NewRTPSink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	tail := noise(15*time.Second, -55, 1)
	callerAudio := slices.Concat(silence(500*time.Millisecond), speech8k(t, "order_slt.wav"), silence(time.Second), tail)
	humanAudio := noise(20*time.Second, -40, 2)
	dir := t.TempDir()
	humanOut, humanErr := make(chan string, 1), make(chan error, 1)
	go func() {
		out, err := siptest.Run(ctx, t, "human_bridge.xml", netip.AddrPort{}, map[string]string{
			"rtp_port": strconv.Itoa(humanSink.Port()), "rtp_stream": siptest.G711WAV(t, dir, "human.wav", humanAudio, true) + ",1,0",
		}, "-p", strconv.Itoa(humanPort))
		humanOut <- out
		humanErr <- err
	}()
	out, err := siptest.Run(ctx, t, "caller.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_stream": siptest.G711WAV(t, dir, "caller.wav", callerAudio, true) + ",1,0",
		"rtp_port": strconv.Itoa(callerSink.Port()),
	}, "-d", "13000")
	if err != nil {
		t.Fatalf("caller sipp: %v\n%s", err, out)
	}
	h := awaitHandoff(ctx, t, humanOut, humanErr, handoffs)
	if h.Err != nil || h.Method != MethodBridge || h.Target != target {
		t.Errorf("hand-off %+v", h)
	}
	if said := whisper.said(); len(said) != 1 || !strings.Contains(said[0], "the caller asked for a person") {
		t.Errorf("whispered %q; want the summary once", said)
	}

	// The person: the whisper (the tone, at -23 dBFS), then the caller.
	fromCaller := sentFrom(tail)
	hp := humanSink.Packets()
	lastWhisper, firstCaller, relayed := -1, -1, 0
	for i, p := range hp {
		switch {
		case fromCaller(p):
			relayed++
			if firstCaller < 0 {
				firstCaller = i
			}
		case math.Abs(p.Level()-(-23)) < 3:
			lastWhisper = i
		}
	}
	if lastWhisper < 40 || firstCaller < lastWhisper || relayed < 50 {
		t.Fatalf("person got %d packets: whisper up to %d, caller's from %d (%d relayed):%s", len(hp), lastWhisper, firstCaller, relayed, describe(hp))
	}
	checkStream(t, hp, 0)

	// The caller: the goodbye (the quiet tone), then only the person.
	fromHuman := sentFrom(humanAudio)
	cp := callerSink.Packets()
	first := slices.IndexFunc(cp, fromHuman)
	if first < 0 {
		t.Fatalf("the caller got nothing from the person:%s", describe(cp))
	}
	goodbye := 0
	for _, p := range cp[:first] {
		if lvl := p.Level(); lvl < -25 && lvl > -50 {
			goodbye++
		}
	}
	if goodbye < 20 {
		t.Errorf("%d packets of the goodbye before the bridge:%s", goodbye, describe(cp))
	}
	for i, p := range cp[first:] {
		if !fromHuman(p) {
			t.Fatalf("packet %d after the bridge is not the person's (level %.0f): the agent is still in the audio", first+i, p.Level())
		}
	}
	if n := len(cp) - first; n < 50 {
		t.Errorf("only %d of the person's packets reached the caller", n)
	}
	checkStream(t, cp, 0)
}

// TestSIPAttendedFailed: the person's phone is busy (486) or rings until
// the ring timeout; the caller hears the transfer-failed message, the
// hand-off hook reports the failure, and the session goes on: the caller's
// next question is answered, and the call lasts until the caller hangs up.
func TestSIPAttendedFailed(t *testing.T) {
	for _, tc := range []struct {
		name, scenario, want string
	}{
		{"busy", "human_busy.xml", "486"},
		{"no answer", "human_noanswer.xml", "did not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			humanPort := siptest.FreeUDPPort(t)
			handoffs := make(chan Handoff, 1)
			events := make(chan agent.Event, 256)
			const sorry = "Sorry, nobody is free."
			srv := startServer(t, func(c *Conn) (Session, error) { return handoffSession(c, events) },
				WithAttendedTransfer("sip:human@127.0.0.1:"+strconv.Itoa(humanPort), &whisperTTS{}),
				WithRingTimeout(time.Second), WithTransferFailedMessage(sorry),
				WithHandoff(func(h Handoff) { handoffs <- h }))
			sink := siptest.NewRTPSink(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			humanOut, humanErr := make(chan string, 1), make(chan error, 1)
			go func() {
				out, err := siptest.Run(ctx, t, tc.scenario, netip.AddrPort{}, nil, "-p", strconv.Itoa(humanPort))
				humanOut <- out
				humanErr <- err
			}()
			caller := slices.Concat(silence(500*time.Millisecond), speech8k(t, "order_slt.wav"), silence(7*time.Second),
				speech8k(t, "wait_rms.wav"), silence(time.Second))
			out, err := siptest.Run(ctx, t, "caller.xml", srv.Addr("udp"), map[string]string{
				"codec_pt": "0", "codec_name": "PCMU", "rtp_stream": siptest.G711WAV(t, t.TempDir(), "caller.wav", caller, true) + ",1,0",
				"rtp_port": strconv.Itoa(sink.Port()),
			}, "-d", "16000")
			if err != nil {
				t.Fatalf("caller sipp: %v\n%s", err, out)
			}
			h := awaitHandoff(ctx, t, humanOut, humanErr, handoffs)
			if !errors.Is(h.Err, ErrTransfer) || !strings.Contains(h.Err.Error(), tc.want) || h.Method != "" {
				t.Errorf("hand-off %+v; want a failure naming %q", h, tc.want)
			}
			var said []string
			for len(events) > 0 {
				if ev := <-events; ev.Type == agent.EventAgentDone {
					said = append(said, ev.Text)
				}
			}
			want := []string{"Okay, let me connect you to a colleague.", sorry, "Okay, what else can I do for you?"}
			if !slices.Equal(said, want) {
				t.Errorf("the agent said %q, want %q", said, want)
			}
		})
	}
}
