package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/aec"
	"github.com/harkvoice/hark/vad/silero"
)

// nullTransport is a Transport that is never read.
type nullTransport struct{ Transport }

func (nullTransport) OutputFormat() pcm.Format { return pcm.Mono16k }

// stages are the providers New requires.
func stages() []Option {
	return []Option{
		WithSTT(pipeline.STTFunc(nil)),
		WithLLM(pipeline.LLMFunc(nil)),
		WithTTS(pipeline.TTSFunc(nil)),
	}
}

func TestNewFailsWithoutTheDefaultModel(t *testing.T) {
	missing := fmt.Errorf("%w: /cache/silero_vad.onnx; fetch it with `go run getmodel`", silero.ErrModelNotFound)
	defer func(f func() (*silero.Weights, error)) { loadSilero = f }(loadSilero)
	loadSilero = func() (*silero.Weights, error) { return nil, missing }
	_, err := New(nullTransport{}, stages()...)
	if !errors.Is(err, silero.ErrModelNotFound) || !strings.Contains(err.Error(), "go run getmodel") {
		t.Errorf("New = %v, want the model's error with its fetch command", err)
	}
	if _, err := New(nullTransport{}, append(stages(), WithVAD(func() (vad.Model, error) { return nil, nil }))...); err != nil {
		t.Errorf("New with WithVAD needs no model: %v", err)
	}
}

// TestPresets checks that options win over presets and presets over the
// defaults, whatever the order of the options.
func TestPresets(t *testing.T) {
	vadOpt := WithVAD(func() (vad.Model, error) { return nil, nil })
	for _, tc := range []struct {
		name string
		opts []Option
		want tuning
	}{
		{"default", nil, tuning{endOfTurn: 200 * time.Millisecond, numberHold: 1500 * time.Millisecond,
			policy: InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 1500 * time.Millisecond, MinWords: 2},
			vad:    vad.Params{MinSilence: 200 * time.Millisecond}}},
		{"practice", []Option{WithPreset(PresetLanguagePractice)}, tuning{endOfTurn: 1200 * time.Millisecond, numberHold: 3 * time.Second,
			policy: InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 2500 * time.Millisecond, MinWords: 3},
			vad:    vad.Params{MinSilence: vad.DefaultMinSilence}}},
		{"option before preset", []Option{WithEndOfTurn(700 * time.Millisecond), WithNumberHold(0), WithPreset(PresetSmartSpeaker)},
			tuning{endOfTurn: 700 * time.Millisecond,
				policy: InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 1500 * time.Millisecond, MinWords: 2},
				echo:   EchoGuard{Threshold: 0.3}, aec: setOn, vad: vad.Params{Activation: 0.6, MinSpeech: 96 * time.Millisecond, MinSilence: 200 * time.Millisecond}}},
		{"echo canceller off over preset", []Option{WithEchoCanceller(false), WithPreset(PresetSmartSpeaker)},
			tuning{endOfTurn: 600 * time.Millisecond, numberHold: 1500 * time.Millisecond,
				policy: InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 1500 * time.Millisecond, MinWords: 2},
				echo:   EchoGuard{Threshold: 0.3}, aec: setOff, vad: vad.Params{Activation: 0.6, MinSpeech: 96 * time.Millisecond, MinSilence: 200 * time.Millisecond}}},
		{"policy over preset", []Option{WithPreset(PresetLanguagePractice), WithInterruptionPolicy(InterruptionPolicy{MinWords: 1})},
			tuning{endOfTurn: 1200 * time.Millisecond, numberHold: 3 * time.Second,
				policy: InterruptionPolicy{Window: 1500 * time.Millisecond, LongSpeech: 2500 * time.Millisecond, MinWords: 1},
				vad:    vad.Params{MinSilence: vad.DefaultMinSilence}}},
	} {
		s, err := New(nullTransport{}, append(append(stages(), vadOpt), tc.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.cfg.tuning; fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: tuning %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// aecTransport asks for the echo canceller, or not.
type aecTransport struct {
	nullTransport
	want bool
}

func (t aecTransport) WantsEchoCancellation() bool { return t.want }

// TestEchoCancellerChoice: the option wins over the transport, the
// transport over the preset; bad canceller options fail New.
func TestEchoCancellerChoice(t *testing.T) {
	vadOpt := WithVAD(func() (vad.Model, error) { return nil, nil })
	for _, tc := range []struct {
		name string
		tr   Transport
		opts []Option
		want bool
	}{
		{"default", nullTransport{}, nil, false},
		{"smart speaker", nullTransport{}, []Option{WithPreset(PresetSmartSpeaker)}, true},
		{"transport asks", aecTransport{want: true}, nil, true},
		{"transport declines over preset", aecTransport{want: false}, []Option{WithPreset(PresetSmartSpeaker)}, false},
		{"option over transport", aecTransport{want: true}, []Option{WithEchoCanceller(false)}, false},
		{"option on", nullTransport{}, []Option{WithEchoCanceller(true, aec.WithFilterLength(128*time.Millisecond))}, true},
	} {
		s, err := New(tc.tr, append(append(stages(), vadOpt), tc.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		if s.aec != tc.want {
			t.Errorf("%s: canceller on %v, want %v", tc.name, s.aec, tc.want)
		}
	}
	if _, err := New(nullTransport{}, append(stages(), vadOpt, WithEchoCanceller(true, aec.WithFilterLength(time.Hour)))...); !errors.Is(err, ErrOption) {
		t.Errorf("bad canceller option: %v, want ErrOption", err)
	}
}
