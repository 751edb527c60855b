// Package wstest is the test client the WebSocket transports' tests share:
// a connection whose messages a read loop decodes into a channel, writes
// serialised as gorilla/websocket requires, and a microphone that sends a
// frame every 20 ms, of queued speech or of silence, as a real client does.
// Each transport's tests keep only their protocol: how a message decodes
// and how a frame of samples is sent.
package wstest
