// Package agenttest provides in-memory test doubles for agent sessions: a
// Transport whose microphone plays queued audio on a 20 ms clock and whose
// speaker records every frame with its time (and can send it back into the
// microphone through a room's impulse response, SetEcho), and scripted STT, LLM, TTS and
// VAD fakes. Combined with testing/synctest, a whole conversation runs in
// fake time, deterministically and instantly. LoadScenarios reads the
// turn-taking scenario files that examples/eval plays.
package agenttest
