package echoguard

import "github.com/harkvoice/hark/vad"

// Wrap returns m with the guard in front: each window's speech probability
// is suppressed by how much the window looks like the reference played.
func (g *Guard) Wrap(m vad.Model) vad.Model { return model{Model: m, g: g} }

// model is a vad.Model whose windows matching the agent's own recent
// output do not count as speech.
type model struct {
	vad.Model
	g *Guard
}

// Probability implements vad.Model.
func (m model) Probability(window []float32) (float32, error) {
	p, err := m.Model.Probability(window)
	if err != nil {
		return p, err
	}
	return m.g.Suppress(p, m.g.Score(window, m.Model.Rate())), nil
}
