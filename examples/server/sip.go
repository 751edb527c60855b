package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/sip"
)

// sipConfig is what the -sip-* flags set. An empty listen list leaves SIP
// off.
type sipConfig struct {
	listen                   string
	externalIP, transferTo   string
	register, user, password string
	rtpPorts                 string
	opts                     []sip.Option
}

// addSIPFlags declares the -sip-* flags on fs, each defaulting to its
// environment variable through env.
func addSIPFlags(fs *flag.FlagSet, env func(name, def string) string, c *sipConfig) {
	str := func(p *string, name, envName, usage string) {
		fs.StringVar(p, name, env(envName, ""), usage+" ($"+envName+")")
	}
	str(&c.listen, "sip-listen", "HARK_SIP_LISTEN", "answer SIP calls on these transports, e.g. udp:0.0.0.0:5060,tcp:0.0.0.0:5060 (off when empty)")
	str(&c.externalIP, "sip-external-ip", "HARK_SIP_EXTERNAL_IP", "address written in SDP and Contact when it differs from the bound one (NAT)")
	str(&c.rtpPorts, "sip-rtp-ports", "HARK_SIP_RTP_PORTS", "UDP port range for call audio, as MIN-MAX (default: any)")
	str(&c.register, "sip-register", "HARK_SIP_REGISTER", "register with a registrar as this address of record, e.g. sip:hark@pbx.example.com")
	str(&c.user, "sip-user", "HARK_SIP_USER", "user name for the registrar's digest authentication")
	str(&c.password, "sip-password", "HARK_SIP_PASSWORD", "password for the registrar's digest authentication")
	str(&c.transferTo, "sip-transfer-to", "HARK_SIP_TRANSFER_TO", "SIP URI a hand-off transfers the call to (blind REFER)")
}

// check validates the flags and builds the server options.
func (c *sipConfig) check() error {
	c.opts = nil
	if c.listen == "" {
		if c.register != "" || c.transferTo != "" || c.externalIP != "" || c.rtpPorts != "" {
			return fmt.Errorf("the -sip-* flags need -sip-listen")
		}
		return nil
	}
	var opts []sip.Option
	for _, l := range strings.Split(c.listen, ",") {
		network, addr, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			return fmt.Errorf("-sip-listen %q: want NETWORK:HOST:PORT, like udp:0.0.0.0:5060", l)
		}
		opts = append(opts, sip.WithListen(network, addr))
	}
	if c.externalIP != "" {
		opts = append(opts, sip.WithExternalAddress(c.externalIP))
	}
	if c.rtpPorts != "" {
		var lo, hi int
		if _, err := fmt.Sscanf(c.rtpPorts, "%d-%d", &lo, &hi); err != nil {
			return fmt.Errorf("-sip-rtp-ports %q: want MIN-MAX, like 20000-20999", c.rtpPorts)
		}
		opts = append(opts, sip.WithRTPPorts(lo, hi))
	}
	if c.register != "" {
		opts = append(opts, sip.WithRegister(c.register, c.user, c.password, 0))
	}
	if c.transferTo != "" {
		opts = append(opts, sip.WithTransfer(c.transferTo))
	}
	// Options check their values when applied: apply them to a throwaway
	// server now, so a bad flag fails at start-up.
	if _, err := sip.NewServer(func(*sip.Conn) (sip.Session, error) { return nil, nil }, opts...); err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	c.opts = opts
	return nil
}

// startSIP answers SIP calls with the phone preset and the server's
// engines until ctx is done; stop ends the calls and waits. Without
// -sip-listen it does nothing.
func startSIP(ctx context.Context, cfg config, eng *engines, log *slog.Logger) (stop func(), err error) {
	if cfg.sip.listen == "" {
		return func() {}, nil
	}
	srv, err := sip.NewServer(func(c *sip.Conn) (sip.Session, error) {
		call := c.Call()
		return agent.New(c, eng.options(cfg, cfg.language, log.With("call", call.ID, "from", call.From),
			agent.WithPreset(agent.PresetPhone))...)
	}, append(cfg.sip.opts, sip.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	if err := srv.Listen(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx); err != nil {
			log.Error("sip server stopped", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}
