package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/webrtc"
)

// rtcServer is the server side of the WebRTC sections: Hark's WebRTC
// transport mounted on an HTTP server on 127.0.0.1.
type rtcServer struct {
	url  string
	h    *webrtc.Handler
	srv  *http.Server
	done chan struct{}
}

// startRTCServer serves WHIP-style signalling whose sessions newSession
// makes, with ICE confined to loopback.
func startRTCServer(newSession func(c *webrtc.Conn) (*agent.Session, error)) (*rtcServer, error) {
	h, err := webrtc.NewHandler(func(_ *http.Request, c *webrtc.Conn) (webrtc.Session, error) {
		return newSession(c)
	}, webrtc.WithLoopbackOnly())
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = h.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/webrtc", h)
	mux.Handle("/webrtc/", h)
	s := &rtcServer{url: "http://" + ln.Addr().String() + "/webrtc", h: h,
		srv: &http.Server{Handler: mux}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// close ends every session and the HTTP server.
func (s *rtcServer) close() error {
	err := s.h.Close()
	if e := s.srv.Shutdown(context.Background()); e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	<-s.done
	return err
}
