package device

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

const firstSentence = "Your timer is set."

// toneTTS speaks a 440 Hz tone for 40 ms per character: loud, or quiet for
// text starting with "Okay", so the test can tell two replies apart.
func toneTTS() pipeline.TTS {
	return pipeline.TTSFunc(func(ctx context.Context, req pipeline.SpeechRequest) iter.Seq2[pcm.Frame, error] {
		amp := loudAmp
		if strings.HasPrefix(req.Text, "Okay") {
			amp = quietAmp
		}
		return func(yield func(pcm.Frame, error) bool) {
			for i := range len([]rune(req.Text)) * 2 {
				if ctx.Err() != nil {
					yield(pcm.Frame{}, ctx.Err())
					return
				}
				fr := pcm.Frame{Format: pcm.Mono16k, Samples: make([]int16, 320)}
				for j := range fr.Samples {
					fr.Samples[j] = int16(amp * 32767 * math.Sin(2*math.Pi*440*float64(i*320+j)/16000))
				}
				if !yield(fr, nil) {
					return
				}
			}
		}
	})
}

// TestDeviceSession runs a real agent.Session behind the device handler in
// each audio format: the device asks, hears the reply, talks over it, and
// checks the clear, the order of audio around it, the events, and the
// typed-text path.
func TestDeviceSession(t *testing.T) {
	for _, tc := range []struct {
		encoding string
		rate     int
	}{{EncodingPCM16, 16000}, {EncodingOpus, 48000}} {
		t.Run(fmt.Sprintf("%s/%d", tc.encoding, tc.rate), func(t *testing.T) {
			sessions := make(chan *agent.Session, 1)
			h, err := NewHandler(func(r *http.Request, c *Conn) (Session, error) {
				s, err := agent.New(c,
					agent.WithPreset(agent.PresetSmartSpeaker),
					agent.WithLanguage(c.Hello().Language),
					agent.WithSTT(agenttest.NewSTT("set a timer for five minutes", "wait what does that mean")),
					agent.WithLLM(agenttest.NewLLM(
						agenttest.Text(firstSentence+" It will ring in five minutes from now, and I will remind you again one minute before it does."),
						agenttest.Text("Okay, let me explain that."),
						agenttest.Text("Okay, it is noon."))),
					agent.WithTTS(toneTTS()),
					agent.WithVAD(agenttest.NewLevelModel()),
					agent.WithEchoGuard(agent.EchoGuard{Disabled: true}),
					agent.WithInterruptionPolicy(agent.InterruptionPolicy{Mode: agent.CancelImmediately}),
				)
				if err == nil {
					sessions <- s
				}
				return s, err
			}, WithLogger(discardLogger()))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			d := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
			d.SendJSON(hello(tc.encoding, tc.rate))
			d.expect(TypeHello)
			s := <-sessions
			snd := newAudioSender(t, tc.encoding, tc.rate)
			rcv := newAudioReceiver(t, tc.encoding, tc.rate)
			d.startMic(snd)
			d.Say(speech(t, "timer_awb.wav", tc.rate))

			if m := d.expect(string(agent.EventUserFinal)); !strings.Contains(string(m.data), "five minutes") {
				t.Fatalf("user_final %s", m.data)
			}
			// The user talks once the first sentence (18 characters of
			// 40 ms) has played, and the reply goes silent within a
			// window of the user's first sound.
			loud := 0
			for loud < 45 {
				if m := d.Next(); m.kind == websocket.BinaryMessage && rcv.level(t, m.data) > -12 {
					loud++
				}
			}
			d.Say(speech(t, "wait_rms.wav", tc.rate))
			var heard string
			cleared, quiet := false, 0
			for quiet < 10 {
				m := d.Next()
				switch {
				case m.typ == TypeClear:
					cleared = true
					rcv = newAudioReceiver(t, tc.encoding, tc.rate)
				case m.typ == string(agent.EventInterruption):
					var ev agent.Event
					if err := json.Unmarshal(m.data, &ev); err != nil {
						t.Fatal(err)
					}
					if ev.Interruption.Cancelled {
						heard = ev.Interruption.Heard
					}
				case m.kind == websocket.BinaryMessage:
					lvl := rcv.level(t, m.data)
					if cleared && lvl > -12 {
						t.Fatalf("old reply audio (%.1f dBFS) after clear", lvl)
					}
					if lvl < -20 && lvl > -60 {
						if !cleared {
							t.Fatalf("new reply audio (%.1f dBFS) before clear", lvl)
						}
						quiet++
					}
				}
			}
			if !strings.HasPrefix(heard, firstSentence) || strings.Contains(heard, "before it does") {
				t.Fatalf("heard %q", heard)
			}
			d.expect(string(agent.EventAgentDone)) // the quiet reply played out
			// A typed turn gets a reply too.
			d.SendJSON(map[string]string{"type": "text", "text": "what time is it"})
			for {
				m := d.expect(string(agent.EventAgentText))
				if strings.Contains(string(m.data), "noon") {
					break
				}
			}
			d.SendJSON(map[string]string{"type": "bye"})
			d.Closed()
			var users []string
			for _, m := range s.History() {
				if m.Role == pipeline.RoleUser {
					users = append(users, m.Content)
				}
			}
			if len(users) != 3 || users[2] != "what time is it" {
				t.Fatalf("user turns %q", users)
			}
			t.Logf("heard %q", heard)
		})
	}
}
