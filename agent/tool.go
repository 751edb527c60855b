package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sashabaranov/go-openai/jsonschema"

	"github.com/harkvoice/hark/pipeline"
)

// Tool is a function the model may call: its description and JSON schema
// (pipeline.Tool) and the Go function that runs it. NewTool makes one from
// a Go function whose arguments are a struct.
type Tool struct {
	pipeline.Tool
	// Func runs the call with the model's JSON arguments and returns the
	// result given back to the model. Returning Handoff(reason) hands the
	// caller to a human. ctx is cancelled on timeout or interruption.
	Func func(ctx context.Context, args json.RawMessage) (string, error)
	// Timeout bounds one call (DefaultToolTimeout when zero).
	Timeout time.Duration
}

// NewTool makes a Tool whose arguments are a JSON object decoded into an A,
// a struct. The schema the model sees is generated from A with go-openai's
// jsonschema package: property names from the fields' json tags, a
// `description:"..."` tag describes a field, `enum:"a,b"` lists its values,
// and fields without omitempty are required. Arguments that do not fit the
// schema are answered to the model as an error (wrapping ErrToolArguments)
// and f is not called. A type that has no such schema (a map, an
// interface, not a struct) is reported with ErrToolSchema.
func NewTool[A any](name, description string, f func(ctx context.Context, args A) (string, error)) (Tool, error) {
	var zero A
	def, err := jsonschema.GenerateSchemaForType(zero)
	if err != nil {
		return Tool{}, fmt.Errorf("%w: tool %q: %w", ErrToolSchema, name, err)
	}
	if def.Type != jsonschema.Object {
		return Tool{}, fmt.Errorf("%w: tool %q: arguments of type %T are not a struct", ErrToolSchema, name, zero)
	}
	params, err := json.Marshal(def)
	if err != nil {
		return Tool{}, fmt.Errorf("%w: tool %q: %w", ErrToolSchema, name, err)
	}
	return Tool{
		Tool: pipeline.Tool{Name: name, Description: description, Parameters: params},
		Func: func(ctx context.Context, raw json.RawMessage) (string, error) {
			var args A
			if err := def.Unmarshal(string(raw), &args); err != nil {
				return "", fmt.Errorf("%w: %s: %w", ErrToolArguments, raw, err)
			}
			return f(ctx, args)
		},
	}, nil
}

// checkSchema reports what is wrong with a tool's parameters: they must be
// empty (no arguments) or a JSON schema of type object.
func checkSchema(params json.RawMessage) error {
	if len(params) == 0 {
		return nil
	}
	var def jsonschema.Definition
	if err := json.Unmarshal(params, &def); err != nil {
		return err
	}
	if def.Type != jsonschema.Object {
		return fmt.Errorf(`type is %q, want "object"`, def.Type)
	}
	return nil
}
