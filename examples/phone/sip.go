package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/sip"
)

// startSIP starts answering SIP calls (a serving error goes to errc);
// stop ends the calls and waits for the server.
func startSIP(ctx context.Context, c config, stages []agent.Option, log *slog.Logger, errc chan<- error) (stop func(), err error) {
	srv, err := newSIPServer(c, stages, log)
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
			errc <- err
		}
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// sipOptions turns -sip-listen ("udp:0.0.0.0:5060,tcp:0.0.0.0:5060") and
// the other -sip-* flags into server options.
func sipOptions(c config, log *slog.Logger) ([]sip.Option, error) {
	opts := []sip.Option{sip.WithLogger(log)}
	for _, l := range strings.Split(c.sipListen, ",") {
		network, addr, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			return nil, fmt.Errorf("-sip-listen %q: want NETWORK:HOST:PORT, like udp:0.0.0.0:5060", l)
		}
		opts = append(opts, sip.WithListen(network, addr))
	}
	if c.sipExternalIP != "" {
		opts = append(opts, sip.WithExternalAddress(c.sipExternalIP))
	}
	if c.sipRegister != "" {
		opts = append(opts, sip.WithRegister(c.sipRegister, c.sipUser, c.sipPassword, 0))
	}
	switch c.sipTransferMode {
	case "", "blind":
		if c.sipTransferTo != "" {
			opts = append(opts, sip.WithTransfer(c.sipTransferTo))
		}
	case "attended":
		if c.sipTransferTo == "" {
			return nil, errors.New("-sip-transfer-mode attended needs -sip-transfer-to")
		}
		opts = append(opts, sip.WithAttendedTransfer(c.sipTransferTo, c.whisper))
	default:
		return nil, fmt.Errorf("-sip-transfer-mode %q: want blind or attended", c.sipTransferMode)
	}
	return opts, nil
}

// newSIPServer answers SIP calls with the same support agent as the
// Twilio line: pressing 0 asks for a person, and a hand-off transfers the
// call by REFER to -sip-transfer-to once the goodbye has played.
func newSIPServer(c config, stages []agent.Option, log *slog.Logger) (*sip.Server, error) {
	shop := newShop()
	opts, err := sipOptions(c, log)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		sip.WithDTMF(func(s sip.Session, digit string) {
			if digit == "0" {
				s.SendText("I want to talk to a person")
			}
		}),
		sip.WithHandoff(func(h sip.Handoff) {
			log.Info("hand-off", "call", h.Call.ID, "reason", h.Reason, "to", h.Target, "err", h.Err, "transcript", h.Transcript)
		}))
	return sip.NewServer(func(conn *sip.Conn) (sip.Session, error) {
		call := conn.Call()
		callLog := log.With("call", call.ID, "from", call.From)
		s, err := agent.New(conn, append(slices.Clip(stages),
			agent.WithPreset(agent.PresetPhone),
			agent.WithSystemPrompt(systemPrompt),
			agent.WithLanguage("en"),
			agent.WithTools(shop.tools()...),
			agent.WithLogger(callLog),
			agent.WithEventHandler(func(ev agent.Event) {
				if c.onEvent != nil {
					c.onEvent(ev)
				}
				switch ev.Type {
				case agent.EventUserFinal:
					callLog.Info("caller", "said", ev.Text)
				case agent.EventAgentText:
					callLog.Info("agent", "said", ev.Text)
				}
			}))...)
		if err != nil {
			return nil, err
		}
		s.Say("Thanks for calling Hark Outfitters. How can I help you today?")
		return s, nil
	}, opts...)
}
