package offline_test

import (
	"context"
	"log"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/codecs/pcm"
)

// An offline agent: no account, no network.
func Example() {
	eng, err := offline.New()
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	tr := agenttest.NewTransport(pcm.Mono16k, pcm.Mono16k) // a real transport in production
	s, err := agent.New(tr, eng.SessionOptions()...)
	if err != nil {
		log.Fatal(err)
	}
	tr.Close() // no caller in this example: Run returns at once
	if err := s.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
