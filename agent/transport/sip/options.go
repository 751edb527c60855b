package sip

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/harkvoice/hark/pipeline"
)

// Option configures a Server.
type Option func(*config) error

// listen is one signalling transport to listen on.
type listen struct {
	network string // udp, tcp or tls
	addr    netip.AddrPort
}

// registration is a REGISTER binding kept at a registrar.
type registration struct {
	uri, user, password string
	expiry              time.Duration
}

type config struct {
	listens     []listen
	tls         *tls.Config
	mediaIP     netip.Addr // where RTP sockets bind
	externalIP  netip.Addr // the address written in SDP and Contact
	portMin     int
	portMax     int
	codecs      []Codec
	register    *registration
	dtmf        func(s Session, digit string)
	transferTo  string
	attended    bool // a hand-off bridges a second call (else: blind REFER)
	att         attendedConfig
	handoff     func(Handoff)
	handoffWait time.Duration
	maxCalls    int
	jitter      int
	symmetric   bool
	// mediaTimeout ends a call whose far end has sent no packet for this
	// long while the media flows both ways (0: never).
	mediaTimeout time.Duration
	userAgent    string
	log          *slog.Logger
}

// WithListen adds a signalling transport: network is "udp", "tcp" or
// "tls" (which needs WithTLS), addr a host:port ("127.0.0.1:5060"; port 0
// picks a free one, see Server.Addr). Without it the server listens on UDP
// and TCP at 127.0.0.1:5060.
func WithListen(network, addr string) Option {
	return func(c *config) error {
		network = strings.ToLower(network)
		switch network {
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("%w: network %q (udp, tcp or tls)", ErrOption, network)
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return fmt.Errorf("%w: listen address %q: %v", ErrOption, addr, err)
		}
		c.listens = append(c.listens, listen{network: network, addr: ap})
		return nil
	}
}

// WithTLS sets the certificate configuration of "tls" listeners.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) error {
		if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil) {
			return fmt.Errorf("%w: TLS configuration without a certificate", ErrOption)
		}
		c.tls = cfg
		return nil
	}
}

// WithMediaAddress sets the local address RTP sockets bind to (default:
// the first listen address's host).
func WithMediaAddress(ip string) Option {
	return func(c *config) error {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return fmt.Errorf("%w: media address %q: %v", ErrOption, ip, err)
		}
		c.mediaIP = a
		return nil
	}
}

// WithExternalAddress sets the address the far end reaches this server at,
// written in SDP and the Contact header, when it differs from the bound one
// (behind NAT).
func WithExternalAddress(ip string) Option {
	return func(c *config) error {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.IsUnspecified() {
			return fmt.Errorf("%w: external address %q", ErrOption, ip)
		}
		c.externalIP = a
		return nil
	}
}

// WithRTPPorts sets the range RTP sockets are bound in (default: any free
// port).
func WithRTPPorts(lo, hi int) Option {
	return func(c *config) error {
		if lo < 1024 || hi > 65535 || lo > hi {
			return fmt.Errorf("%w: RTP ports %d-%d", ErrOption, lo, hi)
		}
		c.portMin, c.portMax = lo, hi
		return nil
	}
}

// WithCodecs sets the codecs calls may use (default PCMU, PCMA and, in cgo
// builds, Opus). The offer's order decides among them.
func WithCodecs(codecs ...Codec) Option {
	return func(c *config) error {
		if len(codecs) == 0 {
			return fmt.Errorf("%w: no codecs", ErrOption)
		}
		for _, k := range codecs {
			if k.name == "" {
				return fmt.Errorf("%w: zero codec", ErrOption)
			}
			if !k.available() {
				return fmt.Errorf("%w: %s is not available in this build (needs cgo and libopus)", ErrOption, k)
			}
		}
		c.codecs = codecs
		return nil
	}
}

// WithRegister keeps this server registered at a registrar (uri such as
// "sip:hark@pbx.example.com"), authenticating with user and password if
// challenged, refreshing every expiry (default 1 h).
func WithRegister(uri, user, password string, expiry time.Duration) Option {
	return func(c *config) error {
		if !strings.HasPrefix(uri, "sip:") && !strings.HasPrefix(uri, "sips:") {
			return fmt.Errorf("%w: registrar %q is not a sip: URI", ErrOption, uri)
		}
		if expiry < 0 {
			return fmt.Errorf("%w: expiry %v", ErrOption, expiry)
		}
		if expiry == 0 {
			expiry = time.Hour
		}
		c.register = &registration{uri: uri, user: user, password: password, expiry: expiry}
		return nil
	}
}

// WithDTMF calls fn for every key the caller presses, sent as RFC 4733
// telephone-events or SIP INFO (application/dtmf-relay). It runs on a
// network goroutine: keep it short. Without it key presses are logged.
func WithDTMF(fn func(s Session, digit string)) Option {
	return func(c *config) error {
		c.dtmf = fn
		return nil
	}
}

// WithTransfer makes a hand-off (a tool returning agent.Handoff) transfer
// the call to uri ("sip:support@pbx.example.com") by a blind REFER, once
// the agent has finished speaking (or after WithHandoffWait). Without it a
// hand-off only calls the WithHandoff hook.
func WithTransfer(uri string) Option {
	return func(c *config) error {
		if !strings.HasPrefix(uri, "sip:") && !strings.HasPrefix(uri, "sips:") && !strings.HasPrefix(uri, "tel:") {
			return fmt.Errorf("%w: transfer target %q is not a sip:, sips: or tel: URI", ErrOption, uri)
		}
		c.transferTo, c.attended = uri, false
		return nil
	}
}

// attendedConfig configures attended hand-offs.
type attendedConfig struct {
	whisper pipeline.TTS  // says the summary to the person; nil: none
	ring    time.Duration // how long the person's phone may ring
	sorry   string        // said to the caller when nobody answers
}

// WithAttendedTransfer makes a hand-off bridge a second call instead of a
// blind REFER: once the agent's goodbye has played, Hark calls uri (the
// caller waits in silence), and when the person answers, whisper says the
// hand-off summary to them alone (Handoff.Summary; nil whisper says
// nothing). Then the caller is put through: by a REFER whose Refer-To
// carries Replaces (RFC 3891) when the caller's phone supports both
// (Allow: REFER, Supported: replaces), so the two phones talk directly;
// otherwise Hark relays the RTP of the two calls itself, and the session
// ends without hanging up. Either way the agent is out of the audio.
//
// If the person's phone is busy, refuses, or rings longer than
// WithRingTimeout, the caller hears WithTransferFailedMessage (spoken by
// the session, when it has a Say method as *agent.Session does) and the
// session goes on. The hand-off hook reports the outcome.
func WithAttendedTransfer(uri string, whisper pipeline.TTS) Option {
	return func(c *config) error {
		if !strings.HasPrefix(uri, "sip:") && !strings.HasPrefix(uri, "sips:") {
			return fmt.Errorf("%w: attended transfer target %q is not a sip: or sips: URI", ErrOption, uri)
		}
		c.transferTo, c.attended, c.att.whisper = uri, true, whisper
		return nil
	}
}

// WithRingTimeout sets how long an attended hand-off lets the person's
// phone ring before it gives up (default 30 s).
func WithRingTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: ring timeout %v", ErrOption, d)
		}
		c.att.ring = d
		return nil
	}
}

// WithTransferFailedMessage sets what the caller hears when an attended
// hand-off reaches nobody (default: "I'm sorry, nobody can take your call
// right now. I can keep helping you meanwhile.").
func WithTransferFailedMessage(text string) Option {
	return func(c *config) error {
		if strings.TrimSpace(text) == "" {
			return fmt.Errorf("%w: empty transfer-failed message", ErrOption)
		}
		c.att.sorry = text
		return nil
	}
}

// WithHandoff calls fn when a session hands its caller to a human, with
// the conversation so far and the transfer's outcome. It runs on its own
// goroutine.
func WithHandoff(fn func(Handoff)) Option {
	return func(c *config) error {
		c.handoff = fn
		return nil
	}
}

// WithHandoffWait sets how long a hand-off waits for the agent to finish
// its goodbye before transferring anyway (default 10 s).
func WithHandoffWait(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: hand-off wait %v", ErrOption, d)
		}
		c.handoffWait = d
		return nil
	}
}

// WithMaxCalls refuses calls (486 Busy Here) beyond n at once (default
// 1000).
func WithMaxCalls(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: max calls %d", ErrOption, n)
		}
		c.maxCalls = n
		return nil
	}
}

// WithJitterDepth sets how many later packets a missing RTP packet is
// waited for before it is concealed (default 3, 60 ms). Packets that
// arrive in order are never delayed.
func WithJitterDepth(packets int) Option {
	return func(c *config) error {
		if packets < 1 || packets >= jitterSlots {
			return fmt.Errorf("%w: jitter depth %d (1-%d)", ErrOption, packets, jitterSlots-1)
		}
		c.jitter = packets
		return nil
	}
}

// WithMediaTimeout ends a call, with a BYE, when the far end has sent no
// RTP or RTCP packet for d while the call is not on hold (default 30 s;
// 0 never ends a call this way). A phone that vanished without a BYE (a
// crashed PBX, a dropped NAT binding, a network cut) otherwise holds a
// session, and a call slot, for ever. Comfort noise, key presses and RTCP
// count as packets, so a silent caller whose phone suppresses silence is
// not cut off.
func WithMediaTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: media timeout %v", ErrOption, d)
		}
		c.mediaTimeout = d
		return nil
	}
}

// WithSymmetricRTP sends each call's RTP to the address the caller's first
// packet came from, and accepts packets only from there (RTP latching, for
// callers behind NAT whose SDP names a private address). Without it RTP
// goes to the address the SDP offer names and is accepted from anywhere.
func WithSymmetricRTP() Option {
	return func(c *config) error {
		c.symmetric = true
		return nil
	}
}

// WithUserAgent sets the User-Agent header and the user part of the
// Contact (default "hark").
func WithUserAgent(name string) Option {
	return func(c *config) error {
		if name == "" || strings.ContainsAny(name, " \t\r\n@:;") {
			return fmt.Errorf("%w: user agent %q", ErrOption, name)
		}
		c.userAgent = name
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrOption)
		}
		c.log = l
		return nil
	}
}
