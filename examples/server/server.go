package main

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"

	pion "github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/language"
	"github.com/harkvoice/hark/agent/promrec"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/device"
	"github.com/harkvoice/hark/agent/transport/twilio"
	"github.com/harkvoice/hark/agent/transport/webrtc"
)

//go:embed web
var webFiles embed.FS

// Paths the server answers.
const (
	pathWebRTC       = "/webrtc"
	pathDevice       = "/device"
	pathTwilioVoice  = "/twilio/voice"
	pathTwilioStream = "/twilio/stream"
)

// server routes every endpoint to its handler.
type server struct {
	mux         *http.ServeMux
	webrtc      *webrtc.Handler
	loopbackICE bool
	*guard      // requests, sessions and draining (guard.go)
}

// newServer builds the handlers; eng makes the conversations.
func newServer(cfg config, eng *engines, log *slog.Logger) (*server, error) {
	cfg.limits = cfg.limits.orDefault()
	metrics := promrec.New()
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		return nil, err
	}
	if err := reg.Register(prometheus.NewGoCollector()); err != nil {
		return nil, err
	}
	s := &server{mux: http.NewServeMux(), loopbackICE: cfg.iceLoopback, guard: newGuard(log)}

	// session starts a conversation on any transport; the WebRTC page may
	// pick the language with ?lang= (ServeHTTP has checked it) and the
	// server-side echo canceller with ?aec=on or off (default: the preset's,
	// or what the device's hello asks for).
	session := func(r *http.Request, tr agent.Transport, lang string) (transport.Session, error) {
		if q := r.URL.Query().Get("lang"); q != "" {
			var err error
			if lang, err = language.Parse(q); err != nil {
				return nil, err
			}
		}
		extra := []agent.Option{agent.WithMetrics(metrics)}
		if on, set, err := echoQuery(r); err != nil {
			return nil, err
		} else if set {
			extra = append(extra, agent.WithEchoCanceller(on))
		}
		cb := &callback{}
		extra = append(extra, agent.WithEventHandler(cb.onEvent))
		sess, err := agent.New(tr, eng.options(cfg, lang, log.With("remote", r.RemoteAddr), extra...)...)
		if err != nil {
			return nil, err
		}
		cb.s = sess
		return s.track(sess), nil
	}

	// WebRTC: the page's calls.
	wopts := []webrtc.Option{webrtc.WithLogger(log), webrtc.WithMaxSessions(cfg.limits.maxSessions)}
	if cfg.iceLoopback {
		wopts = append(wopts, webrtc.WithLoopbackOnly())
	}
	if len(cfg.iceServers) > 0 {
		wopts = append(wopts, webrtc.WithICEServers(cfg.iceServers...))
	}
	if len(cfg.publicIPs) > 0 {
		wopts = append(wopts, webrtc.WithPublicIPs(cfg.publicIPs...))
	}
	if cfg.portMax > 0 {
		wopts = append(wopts, webrtc.WithUDPPortRange(cfg.portMin, cfg.portMax))
	}
	wh, err := webrtc.NewHandler(func(r *http.Request, c *webrtc.Conn) (webrtc.Session, error) {
		return session(r, c, cfg.language)
	}, wopts...)
	if err != nil {
		return nil, err
	}
	s.webrtc = wh
	fail := func(err error) (*server, error) { return nil, errors.Join(err, wh.Close()) }
	authed := requireToken(cfg.token, wh)
	s.mux.Handle(pathWebRTC, authed)
	s.mux.Handle(pathWebRTC+"/", authed)

	// Device WebSocket and Twilio Media Streams.
	dopts := []device.Option{device.WithLogger(log), device.WithMaxSessions(cfg.limits.maxSessions)}
	if cfg.token != "" {
		dopts = append(dopts, device.WithToken(cfg.token))
	}
	dh, err := device.NewHandler(func(r *http.Request, c *device.Conn) (device.Session, error) {
		lang := c.Hello().Language // checked by the device package
		if lang == "" {
			lang = cfg.language
		}
		return session(r, c, lang)
	}, dopts...)
	if err != nil {
		return fail(err)
	}
	s.mux.Handle(pathDevice, dh)
	voice, th, err := twilioHandlers(cfg, log, func(r *http.Request, c *twilio.Conn) (twilio.Session, error) {
		return session(r, c, cfg.language)
	})
	if err != nil {
		return fail(err)
	}
	s.mux.Handle(pathTwilioStream, th)
	s.mux.Handle(pathTwilioVoice, voice)
	for name, n := range map[string]func() int{"webrtc": wh.Sessions, "device": dh.Sessions, "twilio": th.Sessions} {
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "hark_" + name + "_sessions",
			Help: "Sessions running over " + name + ".",
		}, func() float64 { return float64(n()) })); err != nil {
			return fail(err)
		}
	}

	// OpenAI Realtime API clients (realtime.go).
	rt, err := newRealtimeEndpoint(cfg, eng, log, metrics, s.track)
	if err != nil {
		return fail(err)
	}
	s.mux.Handle(pathRealtime, rt)

	// The page, its settings, health and metrics.
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		return fail(err)
	}
	s.mux.Handle("/", http.FileServerFS(web))
	pageCfg, err := json.Marshal(map[string]any{
		"signal_path": pathWebRTC,
		"ice_servers": append([]pion.ICEServer{}, cfg.iceServers...),
	})
	if err != nil {
		return fail(err)
	}
	s.mux.HandleFunc("/config.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(pageCfg)
	})
	s.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.Handle("/metrics", requireToken(cfg.token, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	return s, nil
}

// close ends every WebRTC session.
func (s *server) close() error { return s.webrtc.Close() }

// callbackLine is what the demo, which has no person to hand a call to,
// tells a caller it hands over.
const callbackLine = "A person from our team will call you back shortly."

// callback speaks callbackLine once the reply that hands the caller over
// has played (the page shows the hand-off's summary).
type callback struct {
	s       *agent.Session
	pending bool
}

// onEvent runs on the session loop, after New has set s.
func (c *callback) onEvent(ev agent.Event) {
	switch ev.Type {
	case agent.EventHandoff:
		c.pending = true
	case agent.EventAgentDone:
		if c.pending {
			c.pending = false
			c.s.Say(callbackLine)
		}
	}
}
