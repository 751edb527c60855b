package aectest

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Spec names one scene of the standard set.
type Spec struct {
	Name        string
	RT60        float64       // seconds
	Delay       time.Duration // bulk delay from playout to loudspeaker
	EchoToNear  float64       // dB, the echo's level relative to the user's
	NoiseToNear float64       // dB, the noise's level relative to the user's (0: none)
	Seed        uint64        // room geometry and noise
}

// Specs is the standard set: reverberation times from 0.2 to 0.6 s,
// transport delays from 20 to 300 ms, the echo 0 to 20 dB below the user,
// quiet rooms (noise 60 dB below the user) and noisy ones. The first is
// the headline scene (RT60 0.4 s).
var Specs = []Spec{
	{Name: "rt0.4-d100ms-echo-10dB", RT60: 0.4, Delay: 100 * time.Millisecond, EchoToNear: -10, NoiseToNear: -60, Seed: 1},
	{Name: "rt0.2-d20ms-echo0dB", RT60: 0.2, Delay: 20 * time.Millisecond, EchoToNear: 0, NoiseToNear: -60, Seed: 2},
	{Name: "rt0.4-d300ms-echo0dB-noise-30dB", RT60: 0.4, Delay: 300 * time.Millisecond, EchoToNear: 0, NoiseToNear: -30, Seed: 5},
	{Name: "rt0.6-d200ms-echo-20dB", RT60: 0.6, Delay: 200 * time.Millisecond, EchoToNear: -20, NoiseToNear: -60, Seed: 3},
	{Name: "rt0.6-d150ms-echo-10dB-noise-40dB", RT60: 0.6, Delay: 150 * time.Millisecond, EchoToNear: -10, NoiseToNear: -40, Seed: 4},
}

// FarClips and NearClips are the files of testdata/speech the standard
// scenes play: the agent's voices and the user's.
var (
	FarClips  = []string{"agent_reply_slt.wav", "shipping_awb.wav", "order_slt.wav", "timer_awb.wav", "stop_slt.wav"}
	NearClips = []string{"order_rms.wav", "return_kal16.wav", "wait_rms.wav", "okay_rms.wav", "uhhuh_awb.wav"}
)

// Build renders the scene at rate from far and near clips laid out by
// Timeline: a room of the spec's reverberation with a smart speaker (its
// loudspeaker 0.5 m from the microphone) and the user 1.5 m away, the
// near end at -26 dBFS.
func (s Spec) Build(rate int, far, near []Clip) (*Scene, error) {
	if len(far) == 0 || len(near) == 0 {
		return nil, fmt.Errorf("aectest: %s: no clips", s.Name)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 1))
	room := RandomRoom(rng, s.RT60, 0.5)
	talker := room
	if p, ok := room.Around(rng, room.Mic, 1.5); ok {
		talker.Source = p // else where the loudspeaker is
	}
	fp, np, length := Timeline(far, near)
	return Build(SceneConfig{
		Rate: rate, Echo: room, Talker: talker, Delay: s.Delay,
		NearLevel: -26, EchoToNear: s.EchoToNear, NoiseToNear: s.NoiseToNear,
		Length: length, Far: fp, Near: np, Seed: s.Seed,
	})
}
