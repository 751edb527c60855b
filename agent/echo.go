package agent

import (
	"fmt"

	"github.com/harkvoice/hark/vad/echoguard"
)

// newEchoGuard returns the echo guard cfg describes (see package
// vad/echoguard); zero fields keep its defaults.
func newEchoGuard(cfg EchoGuard) (*echoguard.Guard, error) {
	var opts []echoguard.Option
	if cfg.Threshold != 0 {
		opts = append(opts, echoguard.WithThreshold(cfg.Threshold))
	}
	if cfg.MaxDelay != 0 {
		opts = append(opts, echoguard.WithMaxDelay(cfg.MaxDelay))
	}
	g, err := echoguard.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOption, err)
	}
	return g, nil
}
