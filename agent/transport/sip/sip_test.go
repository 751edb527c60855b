package sip

import (
	"context"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// phoneSession builds the session the sipp tests call: the phone preset,
// scripted recogniser and model, a recorded reply as the voice, and a
// level VAD.
func phoneSession(c *Conn, stt *agenttest.STT, events chan<- agent.Event, opts ...agent.Option) (Session, error) {
	base := []agent.Option{
		agent.WithPreset(agent.PresetPhone),
		agent.WithSTT(stt),
		agent.WithVAD(agenttest.NewLevelModel()),
		agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
		agent.WithEventHandler(func(ev agent.Event) {
			select {
			case events <- ev:
			default:
			}
		}),
	}
	return agent.New(c, append(base, opts...)...)
}

// TestSIPCall: sipp calls Hark with PCMU and with PCMA and asks a recorded
// question; Hark answers with a recorded reply. The test checks that the
// recogniser heard the question (decoded, at the length sipp sent it), and
// that the RTP Hark sent to the caller's media port is one well-formed
// stream (one SSRC, no sequence gaps, timestamps a frame apart within a
// talkspurt), paced at 20 ms on average, in the negotiated codec, and
// audible: most of the reply's length at speech level.
func TestSIPCall(t *testing.T) {
	reply := speechAt(t, "agent_reply_slt.wav", pcm.Mono16k)
	for _, tc := range []struct {
		name string
		pt   uint8
	}{{"PCMU", 0}, {"PCMA", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			stt := agenttest.NewSTT("where is my order one two three four")
			events := make(chan agent.Event, 256)
			calls := make(chan Call, 1)
			srv := startServer(t, func(c *Conn) (Session, error) {
				calls <- c.Call()
				return phoneSession(c, stt, events,
					agent.WithLLM(agenttest.NewLLM(agenttest.Text("Your order one two three four shipped yesterday."))),
					agent.WithTTS(clipTTS(reply)))
			})
			sink := newRTPSink(t)
			question := append(append(silence(500*time.Millisecond), speech8k(t, "order_slt.wav")...), silence(time.Second)...)
			wavPath := g711WAV(t, t.TempDir(), "question.wav", question, tc.pt == 0)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := sipp(ctx, t, "caller.xml", srv.Addr("udp"), map[string]string{
				"codec_pt": strconv.Itoa(int(tc.pt)), "codec_name": tc.name, "rtp_stream": wavPath + ",1," + strconv.Itoa(int(tc.pt)),
				"rtp_port": strconv.Itoa(sink.port),
			}, "-d", "14000")
			if err != nil {
				t.Fatalf("sipp: %v\n%s", err, out)
			}
			call := <-calls
			if call.Codec.String() != tc.name {
				t.Errorf("negotiated %v, want %s", call.Codec, tc.name)
			}
			heard := stt.Calls()
			if len(heard) == 0 {
				t.Fatal("the recogniser was never called")
			}
			if d := heard[0].Duration(); d < 2*time.Second || d > 5*time.Second {
				t.Errorf("the recogniser got %v of audio for a 2.5 s question", d)
			}
			if lvl := pcm.DBFS(heard[0].Samples); lvl < -40 {
				t.Errorf("the question reached the recogniser at %.1f dBFS", lvl)
			}
			pkts := sink.packets()
			mean := checkStream(t, pkts, tc.pt)
			if mean < 18*time.Millisecond || mean > 23*time.Millisecond {
				t.Errorf("mean packet interval %v, want 20 ms", mean)
			}
			loud := 0
			for _, p := range pkts {
				if level(p) > -35 {
					loud++
				}
			}
			if want := len(reply) / 320 / 2; loud < want {
				t.Errorf("%d packets at speech level, want at least %d (half the reply):%s", loud, want, describe(pkts))
			}
			t.Logf("%d packets, %d audible, mean interval %v", len(pkts), loud, mean)
		})
	}
}
