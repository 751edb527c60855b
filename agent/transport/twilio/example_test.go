package twilio_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/harkvoice/hark/agent/transport/twilio"
)

func ExampleNewTwiMLHandler() {
	h, err := twilio.NewTwiMLHandler(twilio.WithStreamURL("wss://voice.example.com/twilio/stream"),
		twilio.WithParameter("line", "support"))
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://10.0.0.7:8080/twilio/voice", nil))
	fmt.Println(rec.Body.String())
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <Response><Connect><Stream url="wss://voice.example.com/twilio/stream"><Parameter name="line" value="support"></Parameter></Stream></Connect></Response>
}

// The TwiML handler gives each call a credential for its stream; the
// stream handler accepts it once, for that call only.
func ExampleStreamAuth() {
	auth, err := twilio.NewStreamAuth([]byte("a secret of at least 16 bytes"), 30*time.Second)
	if err != nil {
		panic(err)
	}
	cred := auth.Issue("CA0123")
	fmt.Println(auth.Check("CA0999", cred))
	fmt.Println(auth.Check("CA0123", cred))
	fmt.Println(auth.Check("CA0123", cred))
	// Output:
	// twilio: unauthorized: the stream credential is not for this call
	// <nil>
	// twilio: unauthorized: the stream credential was used already
}
