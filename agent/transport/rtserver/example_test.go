package rtserver_test

import (
	"fmt"
	"log"
	"net/http"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/transport/rtserver"
	"github.com/harkvoice/hark/pipeline"
)

// Serve the OpenAI Realtime API on Hark sessions: wrap the session's LLM
// and TTS with the connection's, so that the client's conversation,
// instructions, tools and voice shape every reply.
func ExampleNewHandler() {
	var ( // your engines
		stt pipeline.STT = agenttest.NewSTT()
		llm pipeline.LLM = agenttest.NewLLM()
		tts pipeline.TTS = &agenttest.TTS{}
	)
	h, err := rtserver.NewHandler(func(r *http.Request, c *rtserver.Conn) (rtserver.Session, error) {
		return agent.New(c, agent.WithSTT(stt), agent.WithLLM(c.LLM(llm)), agent.WithTTS(c.TTS(tts)))
	}, rtserver.WithAPIKeys("sk-local"), rtserver.WithModels("gpt-realtime"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/realtime", h)
	fmt.Println("clients connect to ws://HOST/v1/realtime?model=gpt-realtime with key sk-local")
	// Output: clients connect to ws://HOST/v1/realtime?model=gpt-realtime with key sk-local
}
