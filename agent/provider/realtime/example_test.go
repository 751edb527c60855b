package realtime_test

import (
	"context"
	"fmt"
	"time"

	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/codecs/pcm"
)

// A stream is fed audio as the user speaks; Commit at the end of speech
// starts the transcription, whose deltas show as the partial result, and
// Close returns the final transcript.
func Example() {
	srv := realtimetest.NewServer() // stands in for wss://api.openai.com/v1
	defer srv.Close()
	srv.Transcription(realtimetest.Reply{Text: "What time is it?"})

	rec, err := realtime.New(realtime.WithBaseURL(srv.URL), realtime.WithAPIKey("sk-..."))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := rec.StartStream(context.Background(), pcm.Mono16k, "en-US")
	if err != nil {
		fmt.Println(err)
		return
	}
	speech := make([]int16, pcm.Mono16k.Samples(time.Second))
	for i := 0; i < len(speech); i += 320 {
		_ = st.Write(speech[i : i+320]) // 20 ms frames from the microphone
	}
	st.(*realtime.Stream).Commit() // the VAD says the user stopped
	tr, err := st.Close()
	fmt.Printf("%q %s %v %v\n", tr.Text, tr.Language, tr.Final, err)
	c := srv.Connections()[0]
	fmt.Println(c.Query.Get("intent"), c.Events[0], len(c.Commits), "commit")
	// Output:
	// "What time is it?" en true <nil>
	// transcription session.update 1 commit
}
