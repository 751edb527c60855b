package rtserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/pcm"
)

// Formats of the audio a client sends and receives.
var (
	formatPCM24k = pcm.Format{Rate: 24000, Channels: 1}
	formatG711   = pcm.Format{Rate: 8000, Channels: 1}
)

// defaultSession is the configuration a connection starts with, as
// session.created reports it: audio out, 24 kHz PCM both ways, server VAD
// that answers and interrupts.
func defaultSession(id, model string) realtimeapi.Session {
	yes := true
	empty := ""
	return realtimeapi.Session{
		Type:             realtimeapi.SessionRealtime,
		Object:           "realtime.session",
		ID:               id,
		Model:            model,
		OutputModalities: []string{"audio"},
		Instructions:     &empty,
		Audio: &realtimeapi.SessionAudio{
			Input: &realtimeapi.AudioInput{
				Format: &realtimeapi.AudioFormat{Type: realtimeapi.FormatPCM, Rate: 24000},
				TurnDetection: realtimeapi.WithTurnDetection(realtimeapi.TurnDetection{
					Type: realtimeapi.TurnServerVAD, CreateResponse: &yes, InterruptResponse: &yes,
				}),
			},
			Output: &realtimeapi.AudioOutput{
				Format: &realtimeapi.AudioFormat{Type: realtimeapi.FormatPCM, Rate: 24000},
				Voice:  "alloy",
			},
		},
		Tools:           []realtimeapi.Tool{},
		ToolChoice:      json.RawMessage(`"auto"`),
		MaxOutputTokens: json.RawMessage(`"inf"`),
	}
}

// paramError is a client event that asks for something invalid: it
// becomes an error event naming the parameter.
type paramError struct {
	code, param, msg string
}

func (e *paramError) Error() string { return e.msg }

func invalid(param, format string, args ...any) *paramError {
	return &paramError{code: "invalid_value", param: param, msg: fmt.Sprintf(format, args...)}
}

func unsupported(param, format string, args ...any) *paramError {
	return &paramError{code: "unsupported_value", param: param, msg: fmt.Sprintf(format, args...)}
}

// checkFormat validates an audio format: 24 kHz PCM, μ-law or A-law.
func checkFormat(f *realtimeapi.AudioFormat, param string) error {
	switch {
	case f == nil:
		return nil
	case f.Type == realtimeapi.FormatPCM && (f.Rate == 0 || f.Rate == 24000):
		return nil
	case f.Type == realtimeapi.FormatPCMU, f.Type == realtimeapi.FormatPCMA:
		return nil
	case f.Type == realtimeapi.FormatPCM:
		return unsupported(param+".rate", "audio/pcm is supported at 24000 Hz only, not %d", f.Rate)
	}
	return invalid(param+".type", "unsupported audio format %q: use audio/pcm (24000 Hz), audio/pcmu or audio/pcma", f.Type)
}

// wireFormat is the PCM format of a GA audio format.
func wireFormat(f *realtimeapi.AudioFormat) pcm.Format {
	if f != nil && (f.Type == realtimeapi.FormatPCMU || f.Type == realtimeapi.FormatPCMA) {
		return formatG711
	}
	return formatPCM24k
}

// checkModalities validates output_modalities: ["audio"] or ["text"].
func checkModalities(m []string, param string) error {
	if m == nil {
		return nil
	}
	if len(m) != 1 || (m[0] != "audio" && m[0] != "text") {
		return invalid(param, `output_modalities must be ["audio"] or ["text"], not %q`, m)
	}
	return nil
}

// checkTools validates function tools.
func checkTools(tools []realtimeapi.Tool, param string) error {
	seen := map[string]bool{}
	for i, t := range tools {
		p := fmt.Sprintf("%s[%d]", param, i)
		switch {
		case t.Type != "function":
			return unsupported(p+".type", "only function tools are supported, not %q", t.Type)
		case t.Name == "":
			return invalid(p+".name", "a function tool needs a name")
		case seen[t.Name]:
			return invalid(p+".name", "tool %q is declared twice", t.Name)
		case len(t.Parameters) > 0 && !json.Valid(t.Parameters):
			return invalid(p+".parameters", "tool %q: parameters are not valid JSON", t.Name)
		}
		seen[t.Name] = true
	}
	return nil
}

// checkToolChoice validates tool_choice: auto, none, required or a
// function by name.
func checkToolChoice(raw json.RawMessage, param string) error {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "auto" || s == "none" || s == "required" {
			return nil
		}
		return invalid(param, `tool_choice must be "auto", "none", "required" or a function, not %q`, s)
	}
	var f struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &f) != nil || f.Type != "function" || f.Name == "" {
		return invalid(param, `tool_choice must be "auto", "none", "required" or {"type":"function","name":...}`)
	}
	return nil
}

// toolsOff reports whether tool_choice is "none".
func toolsOff(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte(`"none"`))
}

// mergeSession checks an update against the session and returns the
// session with the update applied; an invalid update changes nothing.
func mergeSession(cur realtimeapi.Session, up realtimeapi.Session) (realtimeapi.Session, error) {
	switch {
	case up.Type != "" && up.Type != realtimeapi.SessionRealtime:
		return cur, invalid("session.type", "this is a %q session; session.type %q is not supported here", realtimeapi.SessionRealtime, up.Type)
	case up.Modalities != nil || up.InputAudioFormat != "" || up.OutputAudioFormat != "" || up.InputAudioTranscription != nil ||
		up.InputAudioNoiseReduction != nil || up.TurnDetection.Set || up.Voice != "":
		return cur, unsupported("session", "the beta session shape is not supported: use session.audio.input and session.audio.output")
	}
	if err := checkModalities(up.OutputModalities, "session.output_modalities"); err != nil {
		return cur, err
	}
	if err := checkTools(up.Tools, "session.tools"); err != nil {
		return cur, err
	}
	if err := checkToolChoice(up.ToolChoice, "session.tool_choice"); err != nil {
		return cur, err
	}
	next := cur
	// Copy the nested audio configuration so the update does not write
	// through to cur.
	audio := *cur.Audio
	in, out := *audio.Input, *audio.Output
	audio.Input, audio.Output = &in, &out
	next.Audio = &audio
	if a := up.Audio; a != nil {
		if i := a.Input; i != nil {
			if err := checkFormat(i.Format, "session.audio.input.format"); err != nil {
				return cur, err
			}
			if td := i.TurnDetection; td.Set && td.Value != nil &&
				td.Value.Type != realtimeapi.TurnServerVAD && td.Value.Type != realtimeapi.TurnSemanticVAD {
				return cur, invalid("session.audio.input.turn_detection.type", "turn_detection.type must be %q or %q, not %q",
					realtimeapi.TurnServerVAD, realtimeapi.TurnSemanticVAD, td.Value.Type)
			}
			if i.Format != nil {
				in.Format = normalFormat(i.Format)
			}
			if i.Transcription != nil {
				in.Transcription = i.Transcription
			}
			if i.NoiseReduction != nil {
				in.NoiseReduction = i.NoiseReduction
			}
			if i.TurnDetection.Set {
				in.TurnDetection = withTurnDefaults(i.TurnDetection)
			}
		}
		if o := a.Output; o != nil {
			if err := checkFormat(o.Format, "session.audio.output.format"); err != nil {
				return cur, err
			}
			if o.Format != nil {
				out.Format = normalFormat(o.Format)
			}
			if o.Voice != "" {
				out.Voice = o.Voice
			}
			if o.Speed != nil {
				out.Speed = o.Speed
			}
		}
	}
	if up.OutputModalities != nil {
		next.OutputModalities = slices.Clone(up.OutputModalities)
	}
	if up.Instructions != nil {
		s := *up.Instructions
		next.Instructions = &s
	}
	if up.Tools != nil {
		next.Tools = slices.Clone(up.Tools)
	}
	for _, f := range []struct {
		dst *json.RawMessage
		src json.RawMessage
	}{
		{&next.ToolChoice, up.ToolChoice}, {&next.MaxOutputTokens, up.MaxOutputTokens},
		{&next.Tracing, up.Tracing}, {&next.Truncation, up.Truncation}, {&next.Prompt, up.Prompt},
	} {
		if len(f.src) > 0 {
			*f.dst = slices.Clone(f.src)
		}
	}
	if up.Include != nil {
		next.Include = slices.Clone(up.Include)
	}
	if up.ParallelToolCalls != nil {
		v := *up.ParallelToolCalls
		next.ParallelToolCalls = &v
	}
	return next, nil
}

// normalFormat spells a format as the session reports it.
func normalFormat(f *realtimeapi.AudioFormat) *realtimeapi.AudioFormat {
	out := *f
	if out.Type == realtimeapi.FormatPCM {
		out.Rate = 24000
	}
	return &out
}

// withTurnDefaults fills create_response and interrupt_response, which
// default to true.
func withTurnDefaults(f realtimeapi.TurnDetectionField) realtimeapi.TurnDetectionField {
	if f.Value == nil {
		return realtimeapi.NoTurnDetection
	}
	td := *f.Value
	yes := true
	if td.CreateResponse == nil {
		td.CreateResponse = &yes
	}
	if td.InterruptResponse == nil {
		td.InterruptResponse = &yes
	}
	return realtimeapi.WithTurnDetection(td)
}
