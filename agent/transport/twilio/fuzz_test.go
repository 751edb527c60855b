package twilio

import (
	"errors"
	"testing"
)

// FuzzTwilioMessage checks that any message parses to a checked Message or
// to an error wrapping ErrMessage, and that the connection's handling of a
// parsed message never panics.
func FuzzTwilioMessage(f *testing.F) {
	for _, s := range []string{
		`{"event":"connected","protocol":"Call","version":"1.0.0"}`,
		`{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC1","streamSid":"MZ1","callSid":"CA1","tracks":["inbound"],"customParameters":{"token":"t"},"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"streamSid":"MZ1"}`,
		`{"event":"start","start":{"streamSid":"MZ1","mediaFormat":{"encoding":"audio/l16","sampleRate":16000}}}`,
		`{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"//79/A=="},"streamSid":"MZ1"}`,
		`{"event":"media","media":{"track":"outbound","payload":"AA=="}}`,
		`{"event":"media","media":{"payload":"***"}}`,
		`{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}`,
		`{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"chunk#1"}}`,
		`{"event":"stop","sequenceNumber":"5","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}`,
		`{"event":"clear"}`,
		`{"event":5}`,
		`{}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMessage(data)
		if err != nil {
			if !errors.Is(err, ErrMessage) {
				t.Fatalf("error %v does not wrap ErrMessage", err)
			}
			return
		}
		c := benchConn()
		_ = c.handle(m)
		if m.Event == EventMedia && m.Media.At() < -1 {
			t.Fatalf("timestamp %v", m.Media.At())
		}
	})
}
