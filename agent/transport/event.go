package transport

import "time"

// State is where a session is in the conversation.
type State string

// Session states.
const (
	StateListening    State = "listening"     // waiting for the user
	StateUserSpeaking State = "user-speaking" // the VAD hears the user
	StateThinking     State = "thinking"      // STT/LLM/TTS working on a reply
	StateSpeaking     State = "speaking"      // playout is sending the reply
)

// EventType names a session event. The values are the "type" field of the
// JSON events the transports send to clients.
type EventType string

// Event types. Every event has Type and Turn (the generation of the reply
// it concerns, or the current one); the other fields set are listed per
// type, and all others are zero.
const (
	// EventState: State, the session's new state.
	EventState EventType = "state"
	// EventUserPartial: Text, a partial transcript of the user's speech so
	// far; Language when the recogniser reports it.
	EventUserPartial EventType = "user_partial"
	// EventUserFinal: Text, the final transcript of a user turn (or a typed
	// message); Language when known.
	EventUserFinal EventType = "user_final"
	// EventAgentText: Text, a chunk of the reply as its audio starts
	// playing; Language, the reply's language when known.
	EventAgentText EventType = "agent_text"
	// EventAgentDone: Text, the words of the reply, played to the end.
	// After a TTS failure it holds only what was synthesised, plus the
	// fallback line when that could be spoken.
	EventAgentDone EventType = "agent_done"
	// EventInterruption: Interruption. It comes twice for a paused reply:
	// first with Cancelled false when playout went silent, then with
	// Cancelled true if the reply was cancelled (EventResumed otherwise).
	EventInterruption EventType = "interruption"
	// EventResumed: no other field; the paused reply of Turn plays on (the
	// interruption was false).
	EventResumed EventType = "resumed"
	// EventMetrics: Metrics, one turn's stage latencies.
	EventMetrics EventType = "turn_metrics"
	// EventToolCall: Tool, a tool call and its outcome.
	EventToolCall EventType = "tool_call"
	// EventHandoff: Text, the reason the caller is handed to a human (a
	// tool returned agent.Handoff, or the escalation policy decided);
	// Summary, a short summary of the conversation for the person taking
	// over.
	EventHandoff EventType = "handoff"
	// EventFrustration: Frustration, how frustrated the user sounds, after
	// each user turn and when the model reports its own judgement.
	EventFrustration EventType = "frustration"
	// EventError: Text, what went wrong ("agent: stt: ..."). A provider
	// failing does not end the session.
	EventError EventType = "error"
)

// Event reports something that happened in a session. Only the fields named
// for its Type are set.
type Event struct {
	Type         EventType     `json:"type"`
	Turn         uint64        `json:"turn,omitempty"` // turn generation
	State        State         `json:"state,omitempty"`
	Text         string        `json:"text,omitempty"`
	Language     string        `json:"language,omitempty"`
	Interruption *Interruption `json:"interruption,omitempty"`
	Metrics      *TurnMetrics  `json:"metrics,omitempty"`
	Tool         *ToolEvent    `json:"tool,omitempty"`
	Summary      string        `json:"summary,omitempty"`
	Frustration  *Frustration  `json:"frustration,omitempty"`
}

// Interruption describes a barge-in.
type Interruption struct {
	// OnsetToSilence is the time from the first frame of the user's speech
	// to the last agent frame sent.
	OnsetToSilence time.Duration `json:"onset_to_silence_ns"`
	// ConfirmToSilence is the time from the VAD's confirmation to silence.
	ConfirmToSilence time.Duration `json:"confirm_to_silence_ns"`
	// Heard is the part of the reply the user heard; the history keeps it.
	Heard string `json:"heard"`
	// Cancelled is false while the reply is only paused (it may resume).
	Cancelled bool `json:"cancelled"`
}

// TurnMetrics are one turn's stage latencies, each measured from the VAD's
// end of user speech. Zero means the stage did not happen.
type TurnMetrics struct {
	STTFinal       time.Duration `json:"stt_final_ns"`
	LLMFirstToken  time.Duration `json:"llm_first_token_ns"`
	TTSFirstAudio  time.Duration `json:"tts_first_audio_ns"`
	FirstAudioSent time.Duration `json:"first_audio_sent_ns"`
	// EchoERLE is the echo canceller's echo return loss enhancement over
	// the agent's echo during the reply, in dB: after its adaptive filter,
	// and after its residual echo suppressor too. Zero when the canceller
	// is off or heard too little echo (less than 0.4 s).
	EchoERLE           float64 `json:"echo_erle_db,omitempty"`
	EchoERLESuppressed float64 `json:"echo_erle_suppressed_db,omitempty"`
}

// ToolEvent reports a tool call and its outcome.
type ToolEvent struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Result    string `json:"result,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Frustration is how frustrated the user sounds, from 0 (calm) to 1.
type Frustration struct {
	// Score combines the voice, the words and the model's judgement.
	Score float64 `json:"score"`
	// Level names the band of Score: "calm", "elevated" or "high".
	Level string `json:"level"`
	// Voice is the part from pitch, level and speaking rate against the
	// user's own calm turns; Words, the part from the words.
	Voice float64 `json:"voice"`
	Words float64 `json:"words"`
	// Cues name what raised the score: "pitch", "level", "rate",
	// "cue:<phrase>", "repeat" (the same request said again), "person"
	// (a human asked for), "model" (the model's judgement).
	Cues []string `json:"cues,omitempty"`
	// Reason is the model's explanation, when it reported.
	Reason string `json:"reason,omitempty"`
}
