package agent

import (
	"errors"
	"fmt"
)

// Errors returned by sessions.
var (
	// ErrOption reports an invalid option value.
	ErrOption = errors.New("agent: invalid option")
	// ErrNoTransport reports a nil Transport.
	ErrNoTransport = errors.New("agent: nil transport")
	// ErrMissingStage reports a session without a required stage (STT, LLM
	// or TTS).
	ErrMissingStage = errors.New("agent: missing pipeline stage")
	// ErrRunning reports a second concurrent Run of one session.
	ErrRunning = errors.New("agent: session already running")
	// ErrTimeout reports a provider that did not answer in time.
	ErrTimeout = errors.New("agent: provider timeout")
	// ErrUnknownTool reports a tool call naming no registered tool.
	ErrUnknownTool = errors.New("agent: unknown tool")
	// ErrToolSchema reports a tool whose parameters are not a JSON schema
	// of type object, or a type NewTool cannot make one from.
	ErrToolSchema = errors.New("agent: invalid tool schema")
	// ErrToolArguments reports a model's tool call whose arguments do not
	// fit the tool's schema; the model gets it as the call's result.
	ErrToolArguments = errors.New("agent: tool arguments do not fit the schema")
	// ErrHandoff is wrapped by the error Handoff returns.
	ErrHandoff = errors.New("agent: handoff to a human")
)

// StageError reports a provider failure in one pipeline stage.
type StageError struct {
	Stage string // "stt", "llm", "tts", "tool", "transport"
	Err   error
}

// Error describes the failure.
func (e *StageError) Error() string { return fmt.Sprintf("agent: %s: %v", e.Stage, e.Err) }

// Unwrap returns the provider's error.
func (e *StageError) Unwrap() error { return e.Err }

// HandoffError is returned by a tool to hand the caller to a human; the
// session emits EventHandoff with Reason.
type HandoffError struct {
	Reason string
}

// Error describes the handoff.
func (e *HandoffError) Error() string { return "agent: handoff to a human: " + e.Reason }

// Unwrap returns ErrHandoff.
func (e *HandoffError) Unwrap() error { return ErrHandoff }

// Handoff returns the error a tool returns to hand the caller to a human.
func Handoff(reason string) error { return &HandoffError{Reason: reason} }
