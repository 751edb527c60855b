package main

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/sip/siptest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

func TestSIPConfig(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		opts    int
	}{
		{name: "off by default"},
		{name: "listen", args: []string{"-sip-listen", "udp:0.0.0.0:5060, tcp:0.0.0.0:5060", "-sip-transfer-to", "sip:desk@pbx.example.com",
			"-sip-external-ip", "203.0.113.7", "-sip-rtp-ports", "20000-20999"}, opts: 5},
		{name: "env", env: map[string]string{"HARK_SIP_LISTEN": "udp:127.0.0.1:5070", "HARK_SIP_REGISTER": "sip:hark@pbx.example.com",
			"HARK_SIP_USER": "hark", "HARK_SIP_PASSWORD": "secret"}, opts: 2},
		{name: "no network", args: []string{"-sip-listen", "0.0.0.0"}, wantErr: "NETWORK:HOST:PORT"},
		{name: "bad network", args: []string{"-sip-listen", "sctp:0.0.0.0:5060"}, wantErr: "udp, tcp or tls"},
		{name: "tls without certificate", args: []string{"-sip-listen", "tls:0.0.0.0:5061"}, wantErr: "WithTLS"},
		{name: "bad ports", args: []string{"-sip-listen", "udp:0.0.0.0:5060", "-sip-rtp-ports", "9-1"}, wantErr: "RTP ports"},
		{name: "bad target", args: []string{"-sip-listen", "udp:0.0.0.0:5060", "-sip-transfer-to", "+15551234567"}, wantErr: "transfer target"},
		{name: "flags without listen", args: []string{"-sip-transfer-to", "sip:desk@pbx.example.com"}, wantErr: "need -sip-listen"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(c.sip.opts) != tt.opts {
				t.Errorf("%d SIP options, %v; want %d", len(c.sip.opts), err, tt.opts)
			}
		})
	}
}

// TestRunSIP starts the demo server with -sip-listen and the offline
// engines; sipp calls it and asks a question, and the agent answers: the
// caller's media port receives speech-level μ-law audio.
func TestRunSIP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end SIP call with the offline engines")
	}
	siptest.Binary(t)
	port := siptest.FreeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &agenttest.Logs{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-port", "0", "-sip-listen", "udp:127.0.0.1:" + strconv.Itoa(port)}, func(string) string { return "" }, logs)
	}()
	for end := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "sip: listening"); {
		if time.Now().After(end) {
			cancel()
			t.Fatalf("server did not start: %s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	fr, err := wav.ReadFile("../../testdata/speech/order_slt.wav")
	if err != nil {
		t.Fatal(err)
	}
	if fr, err = resample.Frame(fr, pcm.Mono8k); err != nil {
		t.Fatal(err)
	}
	question := slices.Concat(make([]int16, 4000), fr.Samples, make([]int16, 8000))
	sink := siptest.NewRTPSink(t)
	cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
	defer ccancel()
	out, err := siptest.Run(cctx, t, "caller.xml", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)), map[string]string{
		"codec_pt": "0", "codec_name": "PCMU", "rtp_port": strconv.Itoa(sink.Port()),
		"rtp_stream": siptest.G711WAV(t, t.TempDir(), "q.wav", question, true) + ",1,0",
	}, "-d", "12000")
	if err != nil {
		t.Fatalf("sipp: %v\n%s\n%s", err, out, logs.String())
	}
	audible := 0
	for _, p := range sink.Packets() {
		if p.PayloadType == 0 && p.Level() > -35 {
			audible++
		}
	}
	if audible < 25 {
		t.Errorf("%d audible packets from the agent; want its answer (0.5 s or more)\n%s", audible, logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
