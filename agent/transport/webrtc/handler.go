package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/transport/internal/frameq"
	"github.com/harkvoice/hark/codecs/opus"
)

// maxOfferSize limits the SDP offer read from a request body.
const maxOfferSize = 64 << 10

// Handler serves WHIP-style signalling and runs a Session per peer:
//
//	POST   <path>       body: SDP offer (application/sdp)
//	                    201 Created, Location: <path>/<id>, body: SDP answer
//	DELETE <path>/<id>  ends that session (200 OK, or 404 if unknown)
//
// Mount it at a path and at the path plus "/":
//
//	mux.Handle("/webrtc", h)
//	mux.Handle("/webrtc/", h)
type Handler struct {
	cfg        config
	api        *pion.API
	mux        ice.UDPMux // loopback only
	newSession NewSessionFunc

	mu     sync.Mutex
	conns  map[string]*Conn
	closed bool
	wg     sync.WaitGroup
}

// NewHandler returns a Handler that runs the session newSession makes for
// every peer. Close it to end all sessions.
func NewHandler(newSession NewSessionFunc, opts ...Option) (*Handler, error) {
	if newSession == nil {
		return nil, fmt.Errorf("%w: nil NewSessionFunc", ErrOption)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, newSession: newSession, conns: map[string]*Conn{}}

	me := &pion.MediaEngine{}
	if err := me.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: opusCodec,
		PayloadType:        111,
	}, pion.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("webrtc: register Opus: %w", err)
	}
	ir := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("webrtc: interceptors: %w", err)
	}
	se := pion.SettingEngine{LoggerFactory: slogFactory{log: cfg.log}}
	se.SetSCTPMaxMessageSize(uint32(cfg.maxMessage))
	se.SetICETimeouts(5*time.Second, 10*time.Second, 2*time.Second)
	if len(cfg.publicIPs) > 0 {
		if err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External:        cfg.publicIPs,
			AsCandidateType: pion.ICECandidateTypeHost,
			Mode:            pion.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOption, err)
		}
	}
	if cfg.portMax > 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.portMin, cfg.portMax); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOption, err)
		}
	}
	if cfg.loopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
		pc, err := listenLoopbackUDP()
		if err != nil {
			return nil, err
		}
		h.mux = pion.NewICEUDPMux(se.LoggerFactory.NewLogger("udpmux"), pc)
		se.SetICEUDPMux(h.mux)
	}
	h.api = pion.NewAPI(pion.WithMediaEngine(me), pion.WithInterceptorRegistry(ir), pion.WithSettingEngine(se))
	return h, nil
}

var opusCodec = pion.RTPCodecCapability{
	MimeType:    pion.MimeTypeOpus,
	ClockRate:   rtpRate,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// ServeHTTP handles POST (offer) and DELETE (end a session).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.offer(w, r)
	case http.MethodDelete:
		if err := h.Delete(path.Base(r.URL.Path)); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Allow", "POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Handler) offer(w http.ResponseWriter, r *http.Request) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/sdp" {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferSize))
	if err != nil {
		http.Error(w, "reading offer: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	c, answer, err := h.connect(r, string(body))
	switch {
	case errors.Is(err, ErrOffer):
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case errors.Is(err, ErrSessionLimit), errors.Is(err, ErrClosed):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		h.cfg.log.Error("webrtc: offer", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", path.Join(r.URL.Path, c.ID()))
	w.WriteHeader(http.StatusCreated)
	if _, err := io.WriteString(w, answer); err != nil {
		h.cfg.log.Debug("webrtc: write answer", "err", err)
	}
}

// connect answers an SDP offer and starts a session for the peer. It
// returns once ICE gathering is complete (the answer holds every candidate).
func (h *Handler) connect(r *http.Request, offer string) (*Conn, string, error) {
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return nil, "", ErrClosed
	case len(h.conns) >= h.cfg.maxSessions:
		h.mu.Unlock()
		return nil, "", fmt.Errorf("%w (%d)", ErrSessionLimit, h.cfg.maxSessions)
	case h.pendingLocked(clientAddr(r)) >= h.cfg.maxPending:
		h.mu.Unlock()
		return nil, "", fmt.Errorf("%w: %d sessions of this client are waiting for their peer to connect", ErrSessionLimit, h.cfg.maxPending)
	}
	h.mu.Unlock()

	pc, err := h.api.NewPeerConnection(pion.Configuration{ICEServers: h.cfg.iceServers})
	if err != nil {
		return nil, "", fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	c, err := h.newConn(pc, clientAddr(r))
	if err != nil {
		return nil, "", errors.Join(err, pc.Close())
	}
	answer, err := h.negotiate(r.Context(), c, offer)
	var sess Session
	if err == nil {
		sess, err = h.newSession(r, c)
		if err == nil && sess == nil {
			err = errors.New("webrtc: NewSessionFunc returned no session")
		}
	}
	if err != nil {
		return nil, "", errors.Join(err, c.close(err))
	}
	c.setSession(sess)
	if err := h.start(c, sess); err != nil {
		return nil, "", errors.Join(err, c.close(err))
	}
	return c, answer, nil
}

// pendingLocked counts the sessions of a client address whose peer has
// not connected yet.
func (h *Handler) pendingLocked(client string) int {
	n := 0
	for _, c := range h.conns {
		if c.client == client && !c.isConnected() {
			n++
		}
	}
	return n
}

// clientAddr returns the address (without port) a request came from.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (h *Handler) newConn(pc *pion.PeerConnection, client string) (*Conn, error) {
	out, err := pion.NewTrackLocalStaticRTP(opusCodec, "audio", "hark")
	if err != nil {
		return nil, fmt.Errorf("webrtc: local track: %w", err)
	}
	// In-band FEC lets the browser rebuild a lost packet from the next.
	enc, err := opus.NewEncoder(rtpRate, 1, opus.WithFEC(5))
	if err != nil {
		return nil, fmt.Errorf("webrtc: opus encoder: %w", err)
	}
	id := newID()
	c := &Conn{
		id:         id,
		client:     client,
		pc:         pc,
		log:        h.cfg.log.With("session", id),
		maxMessage: h.cfg.maxMessage,
		msgs:       rate.NewLimiter(rate.Limit(h.cfg.msgRate), h.cfg.msgBurst),
		refusals:   rate.NewLimiter(1, 5),
		in:         frameq.New(inQueue, overrunReport),
		done:       make(chan struct{}),
		connected:  make(chan struct{}),
		finished:   make(chan struct{}),
		enc:        enc,
		pace:       newPacer(out),
	}
	sender, err := pc.AddTrack(out)
	if err != nil {
		return nil, fmt.Errorf("webrtc: add track: %w", err)
	}
	c.goRead(func() { c.readRTCP(sender) })

	var trackOnce sync.Once
	pc.OnTrack(func(t *pion.TrackRemote, _ *pion.RTPReceiver) {
		if t.Kind() == pion.RTPCodecTypeAudio {
			trackOnce.Do(func() { c.goRead(func() { c.readTrack(t) }) })
		}
	})
	pc.OnDataChannel(c.attachDataChannel)
	pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		c.log.Debug("webrtc: connection state", "state", s.String())
		switch s {
		case pion.PeerConnectionStateConnected:
			c.markConnected()
		case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed:
			c.end(io.EOF)
		}
	})
	return c, nil
}

// negotiate applies the offer and returns the answer with all candidates.
func (h *Handler) negotiate(ctx context.Context, c *Conn, offer string) (string, error) {
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrOffer, err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrOffer, err)
	}
	gathered := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("webrtc: set answer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("webrtc: gathering candidates: %w", context.Cause(ctx))
	}
	return c.pc.LocalDescription().SDP, nil
}

// start registers c and runs sess until it ends.
func (h *Handler) start(c *Conn, sess Session) error {
	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		return ErrClosed
	case len(h.conns) >= h.cfg.maxSessions:
		// Offers negotiated at the same time went past the first check.
		h.mu.Unlock()
		return fmt.Errorf("%w (%d)", ErrSessionLimit, h.cfg.maxSessions)
	case !c.isConnected() && h.pendingLocked(c.client) >= h.cfg.maxPending:
		h.mu.Unlock()
		return fmt.Errorf("%w: %d sessions of this client are waiting for their peer to connect", ErrSessionLimit, h.cfg.maxPending)
	}
	h.conns[c.id] = c
	h.wg.Add(1)
	h.mu.Unlock()

	ctx, cancel := context.WithCancelCause(context.Background())
	c.setCancel(cancel)
	timeout := h.cfg.connectTimeout
	timer := time.AfterFunc(timeout, func() {
		if !c.isConnected() {
			c.end(&ConnectError{
				Timeout:   timeout,
				ICEState:  c.pc.ICEConnectionState().String(),
				PeerState: c.pc.ConnectionState().String(),
			})
		}
	})
	c.log.Info("webrtc: session started")
	go func() {
		defer h.wg.Done()
		err := sess.Run(ctx)
		timer.Stop()
		cancel(nil)
		closeErr := c.close(io.EOF)
		h.mu.Lock()
		delete(h.conns, c.id)
		h.mu.Unlock()
		switch {
		case errors.Is(c.err, ErrConnectTimeout):
			c.log.Warn("webrtc: session failed", "err", c.err)
		case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF):
			c.log.Warn("webrtc: session ended", "err", err)
		default:
			c.log.Info("webrtc: session ended")
		}
		if closeErr != nil {
			c.log.Debug("webrtc: close peer connection", "err", closeErr)
		}
		close(c.finished)
	}()
	return nil
}

// Delete ends the session with the given id and waits until it has
// stopped; an unknown id returns an error wrapping ErrNoSession.
func (h *Handler) Delete(id string) error {
	h.mu.Lock()
	c, ok := h.conns[id]
	h.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrNoSession, id)
	}
	c.end(io.EOF)
	<-c.finished
	return nil
}

// Sessions returns how many sessions are running.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Close ends every session, waits for them to stop and releases the
// handler's socket. Later offers get 503 Service Unavailable.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	conns := make([]*Conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.end(io.EOF)
	}
	h.wg.Wait()
	if h.mux != nil {
		return h.mux.Close()
	}
	return nil
}
