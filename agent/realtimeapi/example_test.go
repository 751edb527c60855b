package realtimeapi_test

import (
	"errors"
	"fmt"

	"github.com/harkvoice/hark/agent/realtimeapi"
)

// A transcription client configures the session, then reads the server's
// events by type.
func Example() {
	msg, _ := realtimeapi.Marshal(realtimeapi.SessionUpdate{Session: realtimeapi.Session{
		Type: realtimeapi.SessionTranscription,
		Audio: &realtimeapi.SessionAudio{Input: &realtimeapi.AudioInput{
			Format:        &realtimeapi.AudioFormat{Type: realtimeapi.FormatPCM, Rate: 24000},
			Transcription: &realtimeapi.Transcription{Model: "gpt-4o-transcribe", Language: "en"},
			TurnDetection: realtimeapi.NoTurnDetection, // the client commits each turn
		}},
	}})
	fmt.Println(string(msg))

	for _, in := range []string{
		`{"type":"conversation.item.input_audio_transcription.delta","item_id":"item_1","content_index":0,"delta":"Hello"}`,
		`{"type":"conversation.item.input_audio_transcription.completed","item_id":"item_1","content_index":0,"transcript":"Hello there."}`,
		`{"type":"error","error":{"type":"invalid_request_error","code":"input_audio_buffer_commit_empty","message":"buffer too small"}}`,
		`{"type":"session.teleported"}`,
	} {
		ev, err := realtimeapi.DecodeServer([]byte(in))
		switch ev := ev.(type) {
		case *realtimeapi.InputAudioTranscriptionDelta:
			fmt.Println("partial:", ev.Delta)
		case *realtimeapi.InputAudioTranscriptionCompleted:
			fmt.Println("final:", ev.Transcript)
		case *realtimeapi.ErrorEvent:
			fmt.Println("error:", ev.Error.Code)
		case nil:
			fmt.Println("unknown:", errors.Is(err, realtimeapi.ErrUnknownEvent))
		}
	}
	// Output:
	// {"type":"session.update","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":24000},"transcription":{"model":"gpt-4o-transcribe","language":"en"},"turn_detection":null}}}}
	// partial: Hello
	// final: Hello there.
	// error: input_audio_buffer_commit_empty
	// unknown: true
}
