package main

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/sip/siptest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

// TestPhoneSIPTransfer calls the support line over SIP with sipp, with the
// offline engines (the recogniser scripted): the caller asks for a person,
// the dialogue engine calls transfer_to_human, and once the goodbye has
// played the line REFERs the caller to -sip-transfer-to, where a second
// sipp (the human) answers. Both sipp scenarios must complete.
func TestPhoneSIPTransfer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end SIP call with the offline engines")
	}
	siptest.Binary(t)
	eng, err := engines(config{})
	if err != nil {
		t.Skipf("offline engines not installed (make deps): %v", err)
	}
	defer eng.close()
	stages := eng.stages
	stages = append(stages, agent.WithSTT(agenttest.NewSTT("I want to talk to a person")))
	port, humanPort := siptest.FreeUDPPort(t), siptest.FreeUDPPort(t)
	handoffs := make(chan string, 4)
	c := config{
		sipListen:     "udp:127.0.0.1:" + strconv.Itoa(port),
		sipTransferTo: "sip:human@127.0.0.1:" + strconv.Itoa(humanPort),
		onEvent: func(ev agent.Event) {
			if ev.Type == agent.EventHandoff {
				handoffs <- ev.Text
			}
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	stop, err := startSIP(ctx, c, stages, slog.New(slog.DiscardHandler), errc)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	fr, err := wav.ReadFile("../../testdata/speech/return_kal16.wav")
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono8k); err != nil {
		t.Fatal(err)
	}
	// The greeting plays first (about 4 s); the caller asks after it.
	question := slices.Concat(make([]int16, 8000*5), fr.Samples, make([]int16, 8000))
	sink := siptest.NewRTPSink(t)
	human := make(chan error, 1)
	humanOut := make(chan string, 1)
	go func() {
		out, err := siptest.Run(ctx, t, "human.xml", netip.AddrPort{}, nil, "-p", strconv.Itoa(humanPort))
		humanOut <- out
		human <- err
	}()
	out, err := siptest.Run(ctx, t, "caller_transfer.xml", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), map[string]string{
		"codec_pt": "8", "codec_name": "PCMA", "rtp_port": strconv.Itoa(sink.Port()), "human_port": strconv.Itoa(humanPort),
		"rtp_stream": siptest.G711WAV(t, t.TempDir(), "q.wav", question, false) + ",1,8",
	}, "-d", "500")
	if err != nil {
		t.Fatalf("caller sipp: %v\n%s", err, out)
	}
	if err := <-human; err != nil {
		t.Fatalf("human sipp: %v\n%s", err, <-humanOut)
	}
	select {
	case reason := <-handoffs:
		t.Logf("handed off: %q", reason)
	default:
		t.Error("no hand-off event")
	}
	if len(sink.Packets()) < 50 {
		t.Errorf("%d RTP packets from the line; want the greeting and the goodbye", len(sink.Packets()))
	}
}

// TestSIPTransferMode checks the -sip-transfer-mode flag: blind and
// attended build a server, anything else or a missing target is refused.
func TestSIPTransferMode(t *testing.T) {
	for _, c := range []struct {
		mode, to string
		ok       bool
	}{
		{"", "", true},
		{"blind", "sip:desk@127.0.0.1", true},
		{"attended", "sip:desk@127.0.0.1", true},
		{"attended", "", false},
		{"attended", "tel:+15550100", false},
		{"warm", "sip:desk@127.0.0.1", false},
	} {
		_, err := newSIPServer(config{sipListen: "udp:127.0.0.1:0", sipTransferMode: c.mode, sipTransferTo: c.to}, nil, slog.New(slog.DiscardHandler))
		if (err == nil) != c.ok {
			t.Errorf("mode %q to %q: err %v, want ok=%v", c.mode, c.to, err, c.ok)
		}
	}
}
