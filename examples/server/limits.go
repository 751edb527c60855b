package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"
)

// limitsConfig bounds what clients can hold and how the server stops.
type limitsConfig struct {
	maxSessions  int           // per transport: WebRTC, device, Twilio
	readTimeout  time.Duration // a whole request, headers and body
	idleTimeout  time.Duration // a keep-alive connection between requests
	drainTimeout time.Duration // how long shutdown waits for replies to finish

	raw map[string]*string // flag values, parsed by check
}

// addLimitFlags registers the limits' flags on fs.
func addLimitFlags(fs *flag.FlagSet, env func(name, def string) string, c *limitsConfig) {
	c.raw = map[string]*string{}
	for _, f := range []struct{ name, envName, def, usage string }{
		{"max-sessions", "HARK_MAX_SESSIONS", "64", "sessions each transport (WebRTC, device, Twilio) serves at once; more get 503"},
		{"read-timeout", "HARK_READ_TIMEOUT", "30s", "longest time to read a request, headers and body (WebSockets set their own deadlines once upgraded)"},
		{"idle-timeout", "HARK_IDLE_TIMEOUT", "60s", "how long an idle keep-alive connection stays open"},
		{"drain-timeout", "HARK_DRAIN_TIMEOUT", "10s", "on SIGTERM, how long replies in progress may take to finish before sessions get a goodbye and close 1001"},
	} {
		c.raw[f.name] = fs.String(f.name, env(f.envName, f.def), f.usage+" ($"+f.envName+")")
	}
}

// check parses the flag values.
func (c *limitsConfig) check() error {
	n, err := strconv.Atoi(*c.raw["max-sessions"])
	if err != nil || n < 1 {
		return fmt.Errorf("-max-sessions %q: want a positive number", *c.raw["max-sessions"])
	}
	c.maxSessions = n
	for name, d := range map[string]*time.Duration{"read-timeout": &c.readTimeout, "idle-timeout": &c.idleTimeout, "drain-timeout": &c.drainTimeout} {
		v, err := time.ParseDuration(*c.raw[name])
		if err != nil || v <= 0 {
			return fmt.Errorf("-%s %q: want a positive duration such as 10s", name, *c.raw[name])
		}
		*d = v
	}
	return nil
}

// orDefault returns c, or the flags' defaults if c was never set (a config
// built without flags, as in tests).
func (c limitsConfig) orDefault() limitsConfig {
	if c.maxSessions > 0 {
		return c
	}
	return limitsConfig{maxSessions: 64, readTimeout: 30 * time.Second, idleTimeout: time.Minute, drainTimeout: 10 * time.Second}
}
