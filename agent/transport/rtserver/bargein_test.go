package rtserver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/realtimeapi"
)

// TestBargeInInterruptResponse talks over a reply with the default turn
// detection (interrupt_response true): the session cancels the reply on
// its own and reports speech_started, then the response done as cancelled
// (turn_detected) with the transcript cut to what was sent; the user's
// words become the next turn, and a cancel racing the server's is no error.
func TestBargeInInterruptResponse(t *testing.T) {
	f := fakes{
		stt: agenttest.NewSTT(firstQuestion, bargeIn),
		llm: agenttest.NewLLM(text(longReply), text(explanation)),
		tts: &agenttest.TTS{Format: formatPCM24k},
	}
	s := newServer(t, f)
	c := dial(t, s.url, nil)
	m := c.mic()
	m.say(agenttest.Speech(time.Second, 24000, 1))
	c.until(realtimeapi.TypeResponseCreated)
	for range 25 { // half a second of the reply
		c.until(realtimeapi.TypeResponseOutputAudioDelta)
	}
	m.say(agenttest.Speech(time.Second, 24000, 2))
	_, seen := c.until(realtimeapi.TypeInputAudioBufferSpeechStarted)
	done, after := c.until(realtimeapi.TypeResponseDone)
	if slices.Contains(after, realtimeapi.TypeResponseOutputAudioDelta) {
		t.Errorf("audio after speech_started: %v", after)
	}
	r := done.(*realtimeapi.ResponseDone).Response
	heard := r.Output[0].Content[0].Transcript
	if r.Status != realtimeapi.StatusCancelled || r.StatusDetails == nil || r.StatusDetails.Reason != "turn_detected" ||
		r.Output[0].Status != "incomplete" || heard == "" || !strings.HasPrefix(longReply, heard) || heard == longReply {
		t.Errorf("response.done %s", jsonOf(t, done))
	}
	// The pause silenced the reply within the VAD's confirmation time.
	if n := strings.Count(strings.Join(seen, " "), realtimeapi.TypeResponseOutputAudioDelta); n > 30 {
		t.Errorf("%d audio deltas after the barge-in began", n)
	}
	// Crossed the server's response.done (the next response may have begun
	// already, so the client names the one it meant): no error.
	c.send(&realtimeapi.ResponseCancel{ResponseID: r.ID})
	tr, _ := c.until(realtimeapi.TypeInputAudioTranscriptionCompleted)
	if got := tr.(*realtimeapi.InputAudioTranscriptionCompleted).Transcript; got != bargeIn {
		t.Errorf("the barge-in turn was heard as %q", got)
	}
	next, rest := c.until(realtimeapi.TypeResponseDone)
	if slices.Contains(rest, realtimeapi.TypeError) || next.(*realtimeapi.ResponseDone).Response.Output[0].Content[0].Transcript != explanation {
		t.Errorf("after the barge-in: %v, %s", rest, jsonOf(t, next))
	}
	reqs := f.llm.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d LLM requests", len(reqs))
	}
	msgs := reqs[1].Messages
	if a := msgs[len(msgs)-2]; a.Content != heard || !a.Interrupted {
		t.Errorf("the second request has %+v before the user's words, want %q interrupted", a, heard)
	}
}
