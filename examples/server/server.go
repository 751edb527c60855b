package main

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	pion "github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/promrec"
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
}

// newServer builds the handlers; eng makes the conversations.
func newServer(cfg config, eng *engines, log *slog.Logger) (*server, error) {
	metrics := promrec.New()
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		return nil, err
	}
	if err := reg.Register(prometheus.NewGoCollector()); err != nil {
		return nil, err
	}
	s := &server{mux: http.NewServeMux(), loopbackICE: cfg.iceLoopback}

	// session starts a conversation on any transport; the WebRTC page may
	// pick the language with ?lang=.
	session := func(r *http.Request, tr agent.Transport, lang string) (*agent.Session, error) {
		if q := r.URL.Query().Get("lang"); q != "" {
			lang = q
		}
		return agent.New(tr, eng.options(cfg, lang, log.With("remote", r.RemoteAddr),
			agent.WithMetrics(metrics))...)
	}

	// WebRTC: the page's calls.
	wopts := []webrtc.Option{webrtc.WithLogger(log)}
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
		sess, err := session(r, c, cfg.language)
		if err != nil {
			return nil, err
		}
		return sess, nil
	}, wopts...)
	if err != nil {
		return nil, err
	}
	s.webrtc = wh
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hark_webrtc_sessions",
		Help: "WebRTC sessions running.",
	}, func() float64 { return float64(wh.Sessions()) })); err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	authed := requireToken(cfg.token, wh)
	s.mux.Handle(pathWebRTC, authed)
	s.mux.Handle(pathWebRTC+"/", authed)

	// Device WebSocket and Twilio Media Streams.
	dopts := []device.Option{device.WithLogger(log)}
	topts := []twilio.Option{twilio.WithLogger(log)}
	twopts := []twilio.TwiMLOption{twilio.WithStreamPath(pathTwilioStream)}
	if cfg.token != "" {
		dopts = append(dopts, device.WithToken(cfg.token))
		topts = append(topts, twilio.WithToken(cfg.token))
		twopts = append(twopts, twilio.WithTwiMLToken(cfg.token))
	}
	if cfg.publicURL != "" {
		u, err := url.Parse(strings.TrimSuffix(cfg.publicURL, "/"))
		if err != nil || u.Host == "" {
			return nil, errors.Join(fmt.Errorf("-public-url %q: want https://host[/path]", cfg.publicURL), wh.Close())
		}
		twopts = append(twopts, twilio.WithStreamURL("wss://"+u.Host+u.Path+pathTwilioStream))
	}
	if cfg.twilioAuthToken != "" {
		public := ""
		if cfg.publicURL != "" {
			public = strings.TrimSuffix(cfg.publicURL, "/") + pathTwilioVoice
		}
		twopts = append(twopts, twilio.WithSignatureValidation(cfg.twilioAuthToken, public))
	}
	dh, err := device.NewHandler(func(r *http.Request, c *device.Conn) (device.Session, error) {
		lang := c.Hello().Language
		if lang == "" {
			lang = cfg.language
		}
		sess, err := session(r, c, lang)
		if err != nil {
			return nil, err
		}
		return sess, nil
	}, dopts...)
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	s.mux.Handle(pathDevice, dh)
	th, err := twilio.NewHandler(func(r *http.Request, c *twilio.Conn) (twilio.Session, error) {
		sess, err := session(r, c, cfg.language)
		if err != nil {
			return nil, err
		}
		return sess, nil
	}, topts...)
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	s.mux.Handle(pathTwilioStream, th)
	twiml, err := twilio.NewTwiMLHandler(twopts...)
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	s.mux.Handle(pathTwilioVoice, twiml)

	// OpenAI Realtime API clients (realtime.go).
	rt, err := newRealtimeEndpoint(cfg, eng, log, metrics)
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	s.mux.Handle(pathRealtime, rt)

	// The page, its settings, health and metrics.
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		return nil, errors.Join(err, wh.Close())
	}
	s.mux.Handle("/", http.FileServerFS(web))
	pageCfg, err := json.Marshal(map[string]any{
		"signal_path": pathWebRTC,
		"ice_servers": append([]pion.ICEServer{}, cfg.iceServers...),
	})
	if err != nil {
		return nil, errors.Join(err, wh.Close())
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
	s.mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s, nil
}

// ServeHTTP routes a request.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// close ends every WebRTC session.
func (s *server) close() error { return s.webrtc.Close() }

// requireToken lets a request through only if it carries token as a Bearer
// token or a ?token= parameter; an empty token lets everything through.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("token")
		if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			got = h
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
