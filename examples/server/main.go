package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(1)
	}
}

// run parses args, serves until ctx is done and shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	eng, err := newEngines(cfg, log)
	if err != nil {
		return err
	}
	defer eng.close()
	ln, err := net.Listen("tcp", cfg.addr())
	if err != nil {
		return err
	}
	return serve(ctx, cfg, eng, log, ln)
}

// serve answers on ln until ctx is done, then drains: it stops accepting,
// lets replies in progress finish (up to -drain-timeout), ends every
// session (WebSocket clients get a goodbye and close 1001), waits for the
// WebSocket handlers, which http.Server.Shutdown does not wait for, and
// returns.
func serve(ctx context.Context, cfg config, eng *engines, log *slog.Logger, ln net.Listener) error {
	cfg.limits = cfg.limits.orDefault()
	srv, err := newServer(cfg, eng, log)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	// Sessions live in base, not in the request's connection: cancelling
	// it is what ends them at shutdown.
	base, endSessions := context.WithCancel(context.Background())
	defer endSessions()
	defer srv.close()
	stopSIP, err := startSIP(base, cfg, eng, log)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	defer stopSIP()

	hs := &http.Server{
		Handler:           srv,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: min(10*time.Second, cfg.limits.readTimeout),
		ReadTimeout:       cfg.limits.readTimeout,
		IdleTimeout:       cfg.limits.idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if cfg.tlsCert != "" {
		scheme = "https"
	}
	log.Info("hark demo server", "url", scheme+"://"+ln.Addr().String()+"/", "engines", eng.name,
		"language", cfg.language, "preset", cfg.preset.String(), "webrtc_loopback_only", srv.loopbackICE)
	errc := make(chan error, 1)
	go func() {
		if cfg.tlsCert != "" {
			errc <- hs.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	_, sessions := srv.busy()
	log.Info("shutting down: draining", "sessions", sessions, "drain_timeout", cfg.limits.drainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), cfg.limits.drainTimeout)
	defer cancel()
	srv.draining.Store(true)
	if err := hs.Shutdown(dctx); err != nil { // no new connections; plain requests finish
		log.Warn("requests still in progress at the drain deadline", "err", err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = serr
	}
	srv.drain(dctx)
	endSessions() // WebSocket sessions: goodbye, close 1001
	if cerr := srv.close(); cerr != nil {
		log.Debug("closing WebRTC sessions", "err", cerr)
	}
	stopSIP()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	if werr := srv.waitRequests(wctx); werr != nil {
		log.Warn("WebSocket handlers still running at exit", "err", werr)
	}
	log.Info("stopped")
	return err
}

// isLoopbackHost reports whether host names this machine only.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
