package main

import (
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/vad/silero"
)

// engineRealtimeSTT is the voice-to-voice engine set whose words come from
// the Realtime transcription provider (agent/provider/realtime) against its
// scripted server answering at once; chat and speech are the openai set's.
// Its bench.json keys are v2v_realtime_stt_ms_*.
const engineRealtimeSTT = "realtime_stt"

// realtimeSTTOptions returns the session options of the realtime_stt
// engine set and a function that stops its servers.
func realtimeSTTOptions(w *silero.Weights) ([]agent.Option, func(), error) {
	rt := realtimetest.NewServer()
	rt.SetDefault(realtimetest.Reply{Text: "What are your shipping times to Canada?"})
	api := openaitest.NewServer()
	api.SetDefaultChat(openaitest.Text("Parcels to Canada take five to seven working days. Express takes two."))
	api.SetDefaultSpeech(openaitest.SpeechReply{Audio: agenttest.Speech(3*time.Second, openaitest.SpeechRate, 7)})
	stop := func() {
		api.Close()
		rt.Close()
	}
	rec, err := realtime.New(realtime.WithBaseURL(rt.URL), realtime.WithAPIKey("bench"))
	if err != nil {
		stop()
		return nil, nil, err
	}
	cl, err := openai.New(openai.WithBaseURL(api.URL), openai.WithAPIKey("bench"))
	if err != nil {
		stop()
		return nil, nil, err
	}
	return []agent.Option{agent.WithStreamingSTT(rec), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(sileroFactory(w))}, stop, nil
}
