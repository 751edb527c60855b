// Command server is Hark's demo server: a web page that talks to a voice
// agent over WebRTC, the device WebSocket endpoint, the Twilio Media
// Streams endpoints, /healthz and /metrics, in one binary.
//
//	go run ./examples/server                  # offline engines, http://127.0.0.1:8080
//	OPENAI_API_KEY=... go run ./examples/server -engines openai
//	OPENAI_API_KEY=... go run ./examples/server -engines realtime   # streaming recognition
//
// Every flag can also be set with the environment variable shown in -help;
// see README.md for the endpoints.
package main
