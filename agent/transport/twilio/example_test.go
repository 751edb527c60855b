package twilio_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/harkvoice/hark/agent/transport/twilio"
)

func ExampleNewTwiMLHandler() {
	h, err := twilio.NewTwiMLHandler(twilio.WithTwiMLToken("s3cret"))
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "http://voice.example.com/twilio/voice", nil))
	fmt.Println(rec.Body.String())
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <Response><Connect><Stream url="wss://voice.example.com/twilio/stream"><Parameter name="token" value="s3cret"></Parameter></Stream></Connect></Response>
}
