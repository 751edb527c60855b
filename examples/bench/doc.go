// Command bench measures Hark and writes BENCHMARKS.md and bench.json:
//
//  1. barge-in latency over real WebRTC on loopback (a pion client talking
//     over the agent with flite speech, Silero VAD on the server);
//  2. voice-to-voice latency, end of user speech to the first agent audio
//     packet, broken down by stage, with the offline engines and with an
//     OpenAI-compatible server that answers at once;
//  3. how many device-WebSocket sessions one pinned core sustains with no
//     playout frame more than 10 ms late, and memory per idle and active
//     session;
//  4. per-frame costs of the codecs, the resampler and the VAD;
//  5. the echo canceller on synthetic rooms, beside speexdsp's when built
//     with the speexdsp tag (as make bench does);
//  6. barge-in and voice-to-voice latency through the OpenAI Realtime
//     endpoint (agent/transport/rtserver).
//
// Run it from the repository root:
//
//	make bench
//	go run ./examples/bench [-sections bargein,livekit,realtime,v2v,capacity,phone,frame,aec] [-trials 50] [-fresh-trials 20] [-turns 20] [-md FILE] [-json FILE]
//
// Progress goes to standard error. The capacity server and the scalar VAD
// benchmark run as child processes of the same program.
package main
