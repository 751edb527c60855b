// Package livekittest runs Hark's LiveKit transport against a real
// livekit-server: Isolate re-runs a test binary or program inside a network
// namespace of its own (a veth pair, nothing routed out), StartServer
// starts the server built by `make deps` there, and Client is a caller made
// with LiveKit's Go SDK that speaks into its microphone track and records
// the agent's audio, events, transcripts and state.
package livekittest
