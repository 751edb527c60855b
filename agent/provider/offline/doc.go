// Package offline bundles Hark's offline engines so that an agent runs with
// no account and no network: PocketSphinx for speech recognition (English,
// biased towards the dialogue domains' phrases), the dialogue engine in place
// of an LLM, Flite for English speech and eSpeak NG for other languages, a
// voice-activity model, and the demo tools the built-in domains call (an
// order table, a hand-off to a human, the time, kitchen timers and lights).
//
//	eng, err := offline.New()
//	...
//	defer eng.Close()
//	s, err := agent.New(transport, eng.SessionOptions()...)
//
// The dialogue engine is a dialogue engine, not a language model: it answers
// only what its domains describe (see package dialogue). Speech recognition
// is English only (the installed PocketSphinx model), and 8 kHz telephone
// audio is recognised poorly; typed turns (Session.SendText) and replies work
// in every language the domains have text for (English, Spanish and German
// in the built-in ones).
package offline
