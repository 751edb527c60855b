package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/harkvoice/hark/pipeline"
)

// Tool is a function the model may call: its description and JSON schema
// (pipeline.Tool) and the Go function that runs it.
type Tool struct {
	pipeline.Tool
	// Func runs the call with the model's JSON arguments and returns the
	// result given back to the model. Returning Handoff(reason) hands the
	// caller to a human. ctx is cancelled on timeout or interruption.
	Func func(ctx context.Context, args json.RawMessage) (string, error)
	// Timeout bounds one call (DefaultToolTimeout when zero).
	Timeout time.Duration
}
