package webrtc_test

import (
	"fmt"
	"log"
	"net/http"

	pion "github.com/pion/webrtc/v4"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/webrtc"
)

// A server that answers browsers' offers at /webrtc and runs an
// agent.Session for each call.
func ExampleNewHandler() {
	// STT, LLM, TTS and VAD for every session (see agent.New).
	var sessionOptions []agent.Option

	h, err := webrtc.NewHandler(func(r *http.Request, c *webrtc.Conn) (webrtc.Session, error) {
		s, err := agent.New(c, append(sessionOptions, agent.WithLanguage(r.URL.Query().Get("lang")))...)
		if err != nil {
			return nil, err
		}
		return s, nil
	}, webrtc.WithICEServers(pion.ICEServer{URLs: []string{"stun:stun.example.org:3478"}}))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	http.Handle("/webrtc", h)
	http.Handle("/webrtc/", h)
	// http.ListenAndServe(...)
}

func ExampleParseClientMessage() {
	for _, msg := range []string{
		`{"type": "text", "text": "What are your opening hours?"}`,
		`{"type": "stop"}`,
		`{"type": "image", "mime_type": "image/bmp", "data": "Qk0="}`,
	} {
		m, err := webrtc.ParseClientMessage([]byte(msg))
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s %q\n", m.Type, m.Text)
	}
	// Output:
	// text "What are your opening hours?"
	// stop ""
	// webrtc: bad client message: unsupported image type "image/bmp"
}
