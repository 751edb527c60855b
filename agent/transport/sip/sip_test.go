package sip

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/sip/siptest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
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
			sink := siptest.NewRTPSink(t)
			question := append(append(silence(500*time.Millisecond), speech8k(t, "order_slt.wav")...), silence(time.Second)...)
			wavPath := siptest.G711WAV(t, t.TempDir(), "question.wav", question, tc.pt == 0)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := siptest.Run(ctx, t, "caller.xml", srv.Addr("udp"), map[string]string{
				"codec_pt": strconv.Itoa(int(tc.pt)), "codec_name": tc.name, "rtp_stream": wavPath + ",1," + strconv.Itoa(int(tc.pt)),
				"rtp_port": strconv.Itoa(sink.Port()),
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
			pkts := sink.Packets()
			mean := checkStream(t, pkts, tc.pt)
			if mean < 18*time.Millisecond || mean > 23*time.Millisecond {
				t.Errorf("mean packet interval %v, want 20 ms", mean)
			}
			loud := 0
			for _, p := range pkts {
				if p.Level() > -35 {
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

// TestSIPDTMF: sipp, signalling over TCP, presses 1 as RFC 4733
// telephone-events (Debian sip-tester's recording), then 5 and # by SIP
// INFO in its two body formats, then sends a malformed INFO that Hark must refuse with 400
// (sipp fails the call otherwise). The keys reach WithDTMF's function, once
// each and in order, with the call's session.
func TestSIPDTMF(t *testing.T) {
	pcap := "/usr/share/sip-tester/dtmf_2833_1.pcap"
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("sipp's DTMF recording is missing (%v); `make deps` installs sip-tester", err)
	}
	var mu sync.Mutex
	var keys []string
	var sessions []Session
	srv := startServer(t, func(c *Conn) (Session, error) {
		s, err := phoneSession(c, agenttest.NewSTT(), make(chan agent.Event, 256),
			agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(clipTTS(nil)))
		mu.Lock()
		sessions = append(sessions, s)
		mu.Unlock()
		return s, err
	}, WithDTMF(func(s Session, digit string) {
		mu.Lock()
		defer mu.Unlock()
		if len(sessions) == 0 || s != sessions[0] {
			t.Errorf("key %q delivered with session %v", digit, s)
		}
		keys = append(keys, digit)
	}))
	sink := siptest.NewRTPSink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := siptest.Run(ctx, t, "caller_dtmf.xml", srv.Addr("tcp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "dtmf_pcap": pcap, "rtp_port": strconv.Itoa(sink.Port()),
	}, "-d", "500", "-t", "t1")
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(keys, ""); got != "15#" {
		t.Errorf("keys %q, want \"15#\"", got)
	}
}

// TestSIPBargeIn: the caller asks, and talks over Hark's reply ("Wait,
// what does that mean?") while it plays. Hark's RTP goes silent long before
// the reply's end, the session reports a cancelled interruption with the
// words heard, the stream stays one continuous RTP stream through the
// flush, and the second, quiet reply follows.
func TestSIPBargeIn(t *testing.T) {
	reply := speechAt(t, "agent_reply_slt.wav", pcm.Mono16k)
	stt := agenttest.NewSTT("where is my order one two three four", "wait what does that mean")
	events := make(chan agent.Event, 256)
	srv := startServer(t, func(c *Conn) (Session, error) {
		return phoneSession(c, stt, events,
			agent.WithLLM(agenttest.NewLLM(
				agenttest.Text("Thank you for calling. Your order one two three four shipped yesterday and should arrive on Friday."),
				agenttest.Text("Okay, let me explain."))),
			agent.WithTTS(replyTTS(reply)),
			agent.WithInterruptionPolicy(agent.InterruptionPolicy{Mode: agent.CancelImmediately}))
	})
	sink := siptest.NewRTPSink(t)
	// The reply starts about a second after the question ends and lasts
	// 8 s; the caller talks over it 2.5 s in.
	caller := slices.Concat(silence(500*time.Millisecond), speech8k(t, "order_slt.wav"), silence(3500*time.Millisecond),
		speech8k(t, "wait_rms.wav"), silence(1500*time.Millisecond))
	wavPath := siptest.G711WAV(t, t.TempDir(), "caller.wav", caller, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := siptest.Run(ctx, t, "caller.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_stream": wavPath + ",1,0", "rtp_port": strconv.Itoa(sink.Port()),
	}, "-d", "13000")
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	var interruption *agent.Interruption
	for len(events) > 0 {
		if ev := <-events; ev.Type == agent.EventInterruption && ev.Interruption.Cancelled {
			interruption = ev.Interruption
		}
	}
	if interruption == nil || !strings.HasPrefix("Thank you for calling. Your order one two three four shipped yesterday", strings.TrimSpace(interruption.Heard)) {
		t.Fatalf("interruption %+v; want a cancelled one with the words heard", interruption)
	}
	pkts := sink.Packets()
	checkStream(t, pkts, 0)
	// The first reply's audio: from its first loud packet to its last.
	first, last := -1, -1
	for i, p := range pkts {
		if lvl := p.Level(); lvl > -30 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatalf("no reply audio:%s", describe(pkts))
	}
	if played := last - first + 1; played > len(reply)/320*3/4 {
		t.Fatalf("%d packets of the reply played of %d: not cut:%s", played, len(reply)/320, describe(pkts))
	}
	// After it: silence, then the quiet second reply, never the first again.
	var quiet int
	for _, p := range pkts[last+1:] {
		if lvl := p.Level(); lvl < -25 && lvl > -50 {
			quiet++
		}
	}
	if quiet < 20 {
		t.Errorf("%d packets of the second reply after the cut:%s", quiet, describe(pkts))
	}
	t.Logf("heard %q; %d reply packets before the cut; onset to silence %v (confirm %v)",
		interruption.Heard, last-first+1, interruption.OnsetToSilence, interruption.ConfirmToSilence)
}

// TestSIPTransfer: the caller asks for a person; the model calls the
// hand-off tool and says goodbye; Hark then sends a blind REFER to the
// configured target. The caller (sipp) accepts it, calls the target (a
// second sipp acting as the human, which must get the call), reports the
// answer by NOTIFY, and Hark hangs up. The REFER names the target, the
// hand-off hook reports success with the conversation so far, and the
// session ends.
func TestSIPTransfer(t *testing.T) {
	humanPort := siptest.FreeUDPPort(t)
	target := "sip:human@127.0.0.1:" + strconv.Itoa(humanPort)
	handoffs := make(chan Handoff, 1)
	ended := make(chan error, 1)
	srv := startServer(t, func(c *Conn) (Session, error) {
		s, err := phoneSession(c, agenttest.NewSTT("I want to talk to a person"), make(chan agent.Event, 256),
			agent.WithLLM(agenttest.NewLLM(
				[]pipeline.Delta{agenttest.Call("c1", "transfer_to_human", `{"reason":"the caller asked for a person"}`)},
				agenttest.Text("Let me connect you to a colleague."))),
			agent.WithTTS(replyTTS(nil)),
			agent.WithTools(agent.Tool{
				Tool: pipeline.Tool{Name: "transfer_to_human", Description: "Hand the caller to a person.", Parameters: json.RawMessage(`{"type":"object"}`)},
				Func: func(context.Context, json.RawMessage) (string, error) {
					return "", agent.Handoff("the caller asked for a person")
				},
			}))
		if err != nil {
			return nil, err
		}
		return runNotifier{s, ended}, nil
	}, WithTransfer(target), WithHandoff(func(h Handoff) { handoffs <- h }))
	sink := siptest.NewRTPSink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	humanOut := make(chan string, 1)
	humanErr := make(chan error, 1)
	go func() {
		out, err := siptest.Run(ctx, t, "human.xml", netip.AddrPort{}, nil, "-p", strconv.Itoa(humanPort))
		humanOut <- out
		humanErr <- err
	}()
	question := slices.Concat(silence(500*time.Millisecond), speech8k(t, "order_slt.wav"), silence(time.Second))
	wavPath := siptest.G711WAV(t, t.TempDir(), "question.wav", question, true)
	out, err := siptest.Run(ctx, t, "caller_transfer.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_stream": wavPath + ",1,0", "rtp_port": strconv.Itoa(sink.Port()),
		"human_port": strconv.Itoa(humanPort),
	}, "-d", "500")
	if err != nil {
		t.Fatalf("caller sipp: %v\n%s", err, out)
	}
	h := awaitHandoff(ctx, t, humanOut, humanErr, handoffs)
	if h.Err != nil || h.Target != target || h.Reason != "the caller asked for a person" {
		t.Errorf("hand-off %+v", h)
	}
	want := []Line{{Role: "caller", Text: "I want to talk to a person"}, {Role: "agent", Text: "Let me connect you to a colleague."}}
	if !slices.Equal(h.Transcript, want) {
		t.Errorf("transcript %+v, want %+v", h.Transcript, want)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("session ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the session did not end after the transfer")
	}
}

// runNotifier reports when its session's Run returns.
type runNotifier struct {
	Session
	ended chan<- error
}

func (r runNotifier) Run(ctx context.Context) error {
	err := r.Session.Run(ctx)
	r.ended <- err
	return err
}

// TestSIPRefused: an offer with no codec Hark speaks (G.729 only) is
// refused with 488 (sipp fails the call on any other answer), and no
// session is created.
func TestSIPRefused(t *testing.T) {
	created := make(chan struct{}, 1)
	srv := startServer(t, func(c *Conn) (Session, error) {
		created <- struct{}{}
		return nil, errors.New("no session expected")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := siptest.Run(ctx, t, "caller_refused.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "18", "codec_name": "G729", "rtp_port": "6000",
	})
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	if len(created) > 0 {
		t.Error("a session was created for a refused call")
	}
}

// TestSIPCancel: the caller hangs up (CANCEL) while the session is being
// created; the INVITE ends with 487 (sipp checks) and the session never
// runs.
func TestSIPCancel(t *testing.T) {
	ran := make(chan error, 1)
	srv := startServer(t, func(c *Conn) (Session, error) {
		s, err := phoneSession(c, agenttest.NewSTT(), make(chan agent.Event, 16),
			agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(clipTTS(nil)))
		time.Sleep(500 * time.Millisecond) // a slow constructor: the CANCEL comes first
		return runNotifier{s, ran}, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := siptest.Run(ctx, t, "caller_cancel.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_port": "6000",
	})
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	select {
	case err := <-ran:
		t.Errorf("the session ran (%v) for a cancelled call", err)
	case <-time.After(time.Second):
	}
}

// TestSIPRegister: the server registers with a registrar (sipp) that
// challenges it; the second REGISTER must carry digest credentials that
// sipp verifies for the configured user and password. When the server
// stops, it removes the binding (a REGISTER with Expires: 0).
func TestSIPRegister(t *testing.T) {
	port := siptest.FreeUDPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	registrar := make(chan error, 1)
	regOut := make(chan string, 1)
	go func() {
		out, err := siptest.Run(ctx, t, "registrar.xml", netip.AddrPort{}, map[string]string{"reg_user": "hark", "reg_password": "s3cret"},
			"-p", strconv.Itoa(port))
		regOut <- out
		registrar <- err
	}()
	registered := make(chan struct{}, 1)
	log := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message == "sip: registered" {
			registered <- struct{}{}
		}
	}))
	srv, err := NewServer(func(*Conn) (Session, error) { return nil, errors.New("no calls expected") },
		WithListen("udp", "127.0.0.1:0"), WithLogger(log),
		WithRegister("sip:hark@127.0.0.1:"+strconv.Itoa(port), "hark", "s3cret", time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx) }()
	select {
	case <-registered:
	case err := <-registrar:
		stop()
		<-served
		t.Fatalf("registrar sipp ended first: %v\n%s", err, <-regOut)
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := <-registrar; err != nil {
		t.Fatalf("registrar sipp: %v\n%s", err, <-regOut)
	}
}

// handlerFunc is a slog handler calling a function for each record.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h handlerFunc) WithGroup(string) slog.Handler                 { return h }

// awaitHandoff waits for the sipp playing the person to finish, then for
// the hand-off the server reports.
func awaitHandoff(ctx context.Context, t *testing.T, humanOut <-chan string, humanErr <-chan error, handoffs <-chan Handoff) Handoff {
	t.Helper()
	if err := <-humanErr; err != nil {
		t.Fatalf("person sipp: %v\n%s", err, <-humanOut)
	}
	select {
	case h := <-handoffs:
		return h
	case <-ctx.Done():
		t.Fatal("no hand-off reported")
	}
	return Handoff{}
}

// TestSIPMediaTimeout: a caller whose phone vanishes after the answer
// (sipp sends no RTP and no BYE) is hung up on by Hark once the media
// timeout has passed: sipp fails unless the BYE comes, and the session
// ends.
func TestSIPMediaTimeout(t *testing.T) {
	ran := make(chan error, 1)
	srv := startServer(t, func(c *Conn) (Session, error) {
		s, err := phoneSession(c, agenttest.NewSTT(), make(chan agent.Event, 16),
			agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(clipTTS(nil)))
		return runNotifier{s, ran}, err
	}, WithMediaTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := siptest.Run(ctx, t, "caller_vanish.xml", srv.Addr("udp"), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_port": "6000",
	})
	if err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	select {
	case <-ran:
	case <-ctx.Done():
		t.Fatal("the session still runs after the BYE")
	}
}

// TestMediaLost: the media timeout applies only while the media flows
// both ways; a call on hold may stay silent.
func TestMediaLost(t *testing.T) {
	for _, c := range []struct {
		timeout time.Duration
		silent  time.Duration
		dir     string
		want    bool
	}{
		{time.Second, 2 * time.Second, dirSendRecv, true},
		{time.Second, 500 * time.Millisecond, dirSendRecv, false},
		{time.Second, 2 * time.Second, dirRecvOnly, false}, // the caller put us on hold
		{time.Second, 2 * time.Second, dirInactive, false},
		{0, time.Hour, dirSendRecv, false}, // no timeout
	} {
		cfg := &config{jitter: 3, mediaTimeout: c.timeout}
		conn := newConn(Call{}, cfg, slog.New(slog.DiscardHandler), nil, nil, media{dir: c.dir})
		conn.heard.Store(time.Now().Add(-c.silent).UnixNano())
		if got := conn.mediaLost(); got != c.want {
			t.Errorf("timeout %v, silent %v, %s: lost %v, want %v", c.timeout, c.silent, c.dir, got, c.want)
		}
	}
}
