package sip_test

import (
	"fmt"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/sip"
)

// A SIP line that answers every call with an agent session, transfers
// hand-offs to a desk, and hears keys. Serve(ctx) would then answer calls
// until ctx is done.
func ExampleNewServer() {
	srv, err := sip.NewServer(func(c *sip.Conn) (sip.Session, error) {
		return agent.New(c, agent.WithPreset(agent.PresetPhone),
			agent.WithSTT(agenttest.NewSTT()), agent.WithLLM(agenttest.NewLLM()), agent.WithTTS(&agenttest.TTS{}),
			agent.WithVAD(agenttest.NewLevelModel()))
	},
		sip.WithListen("udp", "127.0.0.1:0"),
		sip.WithTransfer("sip:desk@pbx.example.com"),
		sip.WithDTMF(func(s sip.Session, digit string) {
			if digit == "0" {
				s.SendText("I want to talk to a person")
			}
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Listen(); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	fmt.Println("listening on", srv.Addr("udp").Addr())
	// Output: listening on 127.0.0.1
}
