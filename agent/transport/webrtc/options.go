package webrtc

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	pion "github.com/pion/webrtc/v4"
)

// DefaultConnectTimeout is how long a peer may take to reach the
// "connected" state.
const DefaultConnectTimeout = 10 * time.Second

// Option configures a Handler.
type Option func(*config) error

type config struct {
	iceServers     []pion.ICEServer
	publicIPs      []string
	portMin        uint16
	portMax        uint16
	loopbackOnly   bool
	connectTimeout time.Duration
	maxSessions    int
	maxPending     int
	maxMessage     int
	msgRate        float64
	msgBurst       int
	log            *slog.Logger
}

// WithICEServers sets the STUN and TURN servers offered to ICE. Without them
// only host candidates are gathered, which works on a LAN.
func WithICEServers(servers ...pion.ICEServer) Option {
	return func(c *config) error {
		for _, s := range servers {
			if len(s.URLs) == 0 {
				return fmt.Errorf("%w: ICE server without URLs", ErrOption)
			}
		}
		c.iceServers = append(c.iceServers, servers...)
		return nil
	}
}

// WithPublicIPs announces ips instead of the machine's own addresses in
// host candidates: for a server behind 1:1 NAT (a cloud VM with a public
// address) whose UDP ports are forwarded.
func WithPublicIPs(ips ...string) Option {
	return func(c *config) error {
		if len(ips) == 0 {
			return fmt.Errorf("%w: no public IPs", ErrOption)
		}
		for _, ip := range ips {
			if net.ParseIP(ip) == nil {
				return fmt.Errorf("%w: public IP %q", ErrOption, ip)
			}
		}
		c.publicIPs = append(c.publicIPs, ips...)
		return nil
	}
}

// WithUDPPortRange limits the UDP ports ICE listens on to [lo, hi], for
// firewalls.
func WithUDPPortRange(lo, hi uint16) Option {
	return func(c *config) error {
		if lo == 0 || hi < lo {
			return fmt.Errorf("%w: UDP port range %d-%d", ErrOption, lo, hi)
		}
		c.portMin, c.portMax = lo, hi
		return nil
	}
}

// WithLoopbackOnly restricts ICE to IPv4 UDP on 127.0.0.1: loopback
// candidates only, no mDNS, and one filtered UDP socket that drops datagrams
// from (and refuses writes to) any other address. For tests and for a demo
// used from a browser on the same machine.
func WithLoopbackOnly() Option {
	return func(c *config) error {
		c.loopbackOnly = true
		return nil
	}
}

// WithConnectTimeout sets how long a peer may take to connect
// (DefaultConnectTimeout by default).
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: connect timeout %v", ErrOption, d)
		}
		c.connectTimeout = d
		return nil
	}
}

// WithMaxSessions limits how many sessions run at once (default 64); further
// offers get 503 Service Unavailable.
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: max sessions %d", ErrOption, n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithMaxPending limits how many sessions of one client address may be
// waiting for their peer to connect (default 2): a client that repeats
// offers it never connects holds at most that many slots until they time
// out, not all of them. Its further offers get 503 Service Unavailable.
// (Behind a reverse proxy every client has the proxy's address: have the
// proxy limit offers per client instead, or raise this.)
func WithMaxPending(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: max pending %d", ErrOption, n)
		}
		c.maxPending = n
		return nil
	}
}

// WithMessageRate limits the data channel messages a client may send: a
// sustained rate and a burst (default 10 per second, burst 20). Messages
// over it are refused with an error event (at most one a second).
func WithMessageRate(perSecond float64, burst int) Option {
	return func(c *config) error {
		if perSecond <= 0 || burst < 1 {
			return fmt.Errorf("%w: message rate %g/s burst %d", ErrOption, perSecond, burst)
		}
		c.msgRate, c.msgBurst = perSecond, burst
		return nil
	}
}

// WithMaxMessageSize limits data channel messages from the client, in bytes
// (default 256 KiB, what browsers send at most); an image travels base64
// encoded in one message.
func WithMaxMessageSize(n int) Option {
	return func(c *config) error {
		if n < 1024 {
			return fmt.Errorf("%w: max message size %d", ErrOption, n)
		}
		c.maxMessage = n
		return nil
	}
}

// WithLogger sets the logger for the handler, its connections and pion
// (pion's own messages go out at debug level unless they are errors). The
// default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		c.log = l
		return nil
	}
}

func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if err := o(&c); err != nil {
			return config{}, err
		}
	}
	if c.connectTimeout == 0 {
		c.connectTimeout = DefaultConnectTimeout
	}
	if c.maxSessions == 0 {
		c.maxSessions = 64
	}
	if c.maxMessage == 0 {
		c.maxMessage = 256 << 10
	}
	if c.maxPending == 0 {
		c.maxPending = 2
	}
	if c.msgRate == 0 {
		c.msgRate, c.msgBurst = 10, 20
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.loopbackOnly && (len(c.iceServers) > 0 || len(c.publicIPs) > 0 || c.portMax > 0) {
		return config{}, fmt.Errorf("%w: loopback-only ICE uses no ICE servers, public IPs or port range", ErrOption)
	}
	return c, nil
}
