package livekit

import (
	"fmt"
	"log/slog"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
)

// Option configures a Worker.
type Option func(*config) error

type config struct {
	agentName       string
	version         string
	participantName string
	maxJobs         int
	pingInterval    time.Duration
	drainTimeout    time.Duration
	sweepInterval   time.Duration
	sweepGrace      time.Duration
	log             *slog.Logger
	connectOpts     []lksdk.ConnectOption
	handoffMode     HandoffMode
	handoffNotify   func(Handoff)
	operatorPage    string
	apiKey          string // for the operator's token
	apiSecret       string
}

const (
	defaultMaxJobs      = 8
	defaultPing         = 10 * time.Second
	defaultDrainTimeout = 10 * time.Minute
	defaultSweepGrace   = 3 * time.Second
	// offerTTL is how long a slot stays held for a job the worker said it
	// would take; the server gives a worker 10 s to answer and then sends
	// the assignment at once.
	offerTTL = 20 * time.Second
)

// WithAgentName sets the agent name the worker registers under. Rooms get
// the agent only through an explicit dispatch naming it (a dispatch in a
// participant's token, CreateDispatch, or CreateRoom with agents). Without
// a name the worker takes every new room automatically.
func WithAgentName(name string) Option {
	return func(c *config) error {
		c.agentName = name
		return nil
	}
}

// WithVersion sets the version the worker reports when it registers.
func WithVersion(v string) Option {
	return func(c *config) error {
		c.version = v
		return nil
	}
}

// WithParticipantName sets the display name of the agent in rooms
// ("Hark" by default).
func WithParticipantName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty participant name", ErrConfig)
		}
		c.participantName = name
		return nil
	}
}

// WithMaxJobs sets how many calls the worker runs at once (8 by default).
// The load it reports grows with its calls up to just under the server's
// default target load (agents.target_load 0.7, above which LiveKit sends a
// worker no jobs); at the maximum it reports itself full and the server
// dispatches to other workers.
func WithMaxJobs(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: max jobs %d", ErrConfig, n)
		}
		c.maxJobs = n
		return nil
	}
}

// WithPingInterval sets how often the worker pings the server (10 s by
// default) and refreshes its status.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: ping interval %v", ErrConfig, d)
		}
		c.pingInterval = d
		return nil
	}
}

// WithDrainTimeout bounds draining: once Run's context is done the worker
// takes no new jobs and waits this long (10 min by default) for its calls
// to end, then ends the remaining ones.
func WithDrainTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: drain timeout %v", ErrConfig, d)
		}
		c.drainTimeout = d
		return nil
	}
}

// WithRoomSweep makes the worker look after rooms that lost their agent:
// every interval (jittered) it lists the server's rooms and dispatches its
// agent name again to any room where a caller is waiting with no agent of
// that name, for longer than the grace period. LiveKit itself does not
// re-dispatch a room whose worker died, so a surviving or restarted worker
// takes the call over. It needs an agent name (explicit dispatch), API
// credentials with room admin rights, and interval > 0; grace 0 means 3 s.
func WithRoomSweep(interval, grace time.Duration) Option {
	return func(c *config) error {
		if interval <= 0 || grace < 0 {
			return fmt.Errorf("%w: room sweep every %v after %v", ErrConfig, interval, grace)
		}
		c.sweepInterval = interval
		if grace > 0 {
			c.sweepGrace = grace
		}
		return nil
	}
}

// WithLogger sets the logger (slog.Default() by default).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrConfig)
		}
		c.log = l
		return nil
	}
}

// WithConnectOptions passes options to the LiveKit SDK when a job joins its
// room.
func WithConnectOptions(opts ...lksdk.ConnectOption) Option {
	return func(c *config) error {
		c.connectOpts = append(c.connectOpts, opts...)
		return nil
	}
}

func newConfig(opts []Option) (config, error) {
	c := config{}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.participantName == "" {
		c.participantName = "Hark"
	}
	if c.maxJobs == 0 {
		c.maxJobs = defaultMaxJobs
	}
	if c.pingInterval == 0 {
		c.pingInterval = defaultPing
	}
	if c.drainTimeout == 0 {
		c.drainTimeout = defaultDrainTimeout
	}
	if c.sweepGrace == 0 {
		c.sweepGrace = defaultSweepGrace
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.sweepInterval > 0 && c.agentName == "" {
		return c, fmt.Errorf("%w: the room sweep needs an agent name", ErrConfig)
	}
	return c, nil
}
