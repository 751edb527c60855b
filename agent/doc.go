// Package agent runs voice conversations: a Session owns one conversation and
// wires a Transport's audio through decode, resampling, voice-activity
// detection, STT, LLM, the sentence chunker, TTS and the paced playout clock
// back to the Transport, with a fast interrupt path that silences playout the
// moment the user talks over the agent.
//
// # Lanes
//
// One goroutine reads the transport, resamples to the VAD's rate and runs
// the detector; every microphone frame and the VAD events it completed go to
// the session loop on a control lane that is always drained before the data
// lane (reply progress, playout progress, client commands). Replies run in
// their own goroutines under a turn context (pipeline.Generations); every
// item they produce carries their generation, so the playout drops stale
// audio with one atomic load per frame.
//
// # Barge-in
//
// When the VAD confirms speech while a reply is thinking or speaking, the
// playout is paused (silent from the next 20 ms frame) and the transport is
// flushed. In the default pause-then-decide mode the reply then waits for the
// words: a stop word ("stop", "wait", "espera", "停", ...) or enough words
// cancel it, and the speech becomes the next user turn; no words, only
// backchannels ("uh-huh", "okay", "sí", "嗯") or too few words resume it from
// where it paused. A streaming recogniser's interim words decide as soon as
// they are heard (a word counts once it holds from one partial result to
// the next, and one more than the minimum is needed; once the speech has
// gone on for 700 ms without its voice stopping, longer than a backchannel,
// one fewer than the minimum is enough), and words that would resume the
// reply resume it as soon as the voice stops, before the VAD has confirmed
// the end of the speech (tentatively: the voice coming back pauses it
// again). Cancelling cancels the reply's LLM, TTS and tool calls with
// pipeline.ErrInterrupted, and the history keeps only the words the user
// heard (exact per chunk, estimated by position within one), with the
// assistant message marked Interrupted and every tool call still answered.
// Text spoken with Say(text, Uninterruptible()) is never paused; a user turn
// that ends while it plays is answered once it has played. The whole
// decision is one state machine without goroutines or clock of its own
// (interrupt.go), fed by the session loop, which carries out its actions.
//
// # Echo guard
//
// While the agent speaks, each microphone window is compared with the audio
// recently sent (normalised cross-correlation at 4 kHz over 600 ms of delays,
// then tracked around the delay found); windows that are the agent's own
// voice coming back through a speakerphone do not count as speech, unless
// the microphone is louder than that echo can be (the user talking over it).
// The signal processing lives in package vad/echoguard.
//
// # Transports
//
// A Transport (package agent/transport states the contract) delivers the
// user's audio in frames of any format and length, takes the agent's audio
// in 20 ms frames paced by the session, and drops buffered agent audio on
// Flush. When its input ends (io.EOF), the user's turn in progress is still
// recognised and kept in the history before Run returns.
//
// # Logging
//
// Sessions log through the logger given with WithLogger, or slog.Default():
// provider failures at warn level, the session's decisions at debug level.
// Every failure is also reported as an EventError.
//
// # Turn ends
//
// A user turn ends after a silence that depends on how its words end: 200 ms
// (WithEndOfTurn) after words that may end a turn; 1.5 s more
// (WithNumberHold) after an unfinished phrase (an article, preposition,
// conjunction or filler, per language: words.json) or digits, spelled
// letters or an email address that may go on, so that a caller reading out
// "one two ... three four" is not cut off; at once after a code complete for
// what the conversation expects (WithCodeFormats, the tools' parameter
// schemas). A streaming recogniser that can (pipeline.StreamCommitter) is
// asked for its final words when the user stops speaking, so they come
// while the end of the turn is awaited.
//
// # Escalation
//
// WithEscalation (off by default) scores every user turn's frustration
// from 0 to 1 — the voice's pitch, level and speaking rate against the
// caller's own calm turns (package vad/prosody), per-language cues
// (escalation.json), a request said again, a person asked for, and the
// model's own judgement through the built-in report_frustration tool — and
// reports it in EventFrustration, the Recorder (FrustrationRecorder) and
// the history (pipeline.Message.Frustration on user messages; the model is
// told in a system note). Frustrated turns get short, apologetic, slower
// replies; a person asked for, or accepted when offered after repeated
// high scores, hands the call over: EventHandoff carries the reason and a
// summary of the conversation (Event.Summary), as for a tool returning
// Handoff (whose summary is made from the history).
package agent
