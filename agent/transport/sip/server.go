package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/harkvoice/hark/agent/transport"
)

// Session is the conversation a Server runs for each call. *agent.Session
// implements it.
type Session = transport.Session

// NewSessionFunc creates the session for an incoming call, before it is
// answered; conn is its transport (conn.Call() says who calls whom). An
// error refuses the call.
type NewSessionFunc func(conn *Conn) (Session, error)

// Server is a SIP user agent that answers calls and runs a session on
// each.
type Server struct {
	newSession NewSessionFunc
	cfg        config

	mu        sync.Mutex
	listening bool
	closing   bool
	packet    map[string]net.PacketConn // udp listeners by network
	stream    map[string]net.Listener   // tcp and tls listeners by network
	calls     map[string]*call          // by Call-ID
	legs      map[string]*leg           // attended hand-offs' calls to people, by Call-ID
	handlers  sync.WaitGroup
	active    atomic.Int32
	sdpID     atomic.Uint64
}

// NewServer returns a server that runs newSession's session on every call
// it answers. Call Listen (optional) and Serve.
func NewServer(newSession NewSessionFunc, opts ...Option) (*Server, error) {
	if newSession == nil {
		return nil, fmt.Errorf("%w: nil session constructor", ErrOption)
	}
	s := &Server{newSession: newSession, packet: map[string]net.PacketConn{}, stream: map[string]net.Listener{}, calls: map[string]*call{}, legs: map[string]*leg{}}
	s.cfg.mediaTimeout = defaultMediaTimeout
	for _, o := range opts {
		if err := o(&s.cfg); err != nil {
			return nil, err
		}
	}
	c := &s.cfg
	if len(c.listens) == 0 {
		lo := netip.MustParseAddrPort("127.0.0.1:5060")
		c.listens = []listen{{network: "udp", addr: lo}, {network: "tcp", addr: lo}}
	}
	seen := map[string]bool{}
	for _, l := range c.listens {
		if seen[l.network] {
			return nil, fmt.Errorf("%w: two %s listeners", ErrOption, l.network)
		}
		seen[l.network] = true
		if l.network == "tls" && c.tls == nil {
			return nil, fmt.Errorf("%w: a tls listener needs WithTLS", ErrOption)
		}
	}
	if !c.mediaIP.IsValid() {
		c.mediaIP = c.listens[0].addr.Addr()
	}
	if !c.externalIP.IsValid() {
		c.externalIP = c.mediaIP
		if c.externalIP.IsUnspecified() {
			ip, _, err := sip.ResolveInterfacesIP("ip4", nil)
			if err != nil {
				return nil, fmt.Errorf("%w: no address to announce for %v (set WithExternalAddress): %v", ErrOption, c.mediaIP, err)
			}
			c.externalIP, _ = netip.AddrFromSlice(ip.To4())
		}
	}
	if c.codecs == nil {
		c.codecs = []Codec{PCMU, PCMA}
		if Opus.available() {
			c.codecs = append(c.codecs, Opus)
		}
	}
	if a := &c.att; a.ring != 0 || a.sorry != "" || c.attended {
		if !c.attended {
			return nil, fmt.Errorf("%w: WithRingTimeout and WithTransferFailedMessage need WithAttendedTransfer", ErrOption)
		}
		if a.ring == 0 {
			a.ring = 30 * time.Second
		}
		if a.sorry == "" {
			a.sorry = "I'm sorry, nobody can take your call right now. I can keep helping you meanwhile."
		}
	}
	if c.handoffWait == 0 {
		c.handoffWait = 10 * time.Second
	}
	if c.maxCalls == 0 {
		c.maxCalls = 1000
	}
	if c.jitter == 0 {
		c.jitter = 3
	}
	if c.userAgent == "" {
		c.userAgent = "hark"
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return s, nil
}

// Listen binds the signalling sockets. Serve calls it if it was not called
// before; calling it first lets Addr report ports picked by the system.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listening {
		return nil
	}
	for _, l := range s.cfg.listens {
		addr := l.addr.String()
		var err error
		switch l.network {
		case "udp":
			var pc net.PacketConn
			pc, err = net.ListenPacket("udp", addr)
			if err == nil {
				s.packet[l.network] = pc
			}
		default:
			var ln net.Listener
			ln, err = net.Listen("tcp", addr)
			if err == nil {
				s.stream[l.network] = ln
			}
		}
		if err != nil {
			s.closeListenersLocked()
			return fmt.Errorf("sip: listen %s %s: %w", l.network, addr, err)
		}
	}
	s.listening = true
	return nil
}

// Addr returns the address the server listens on for network ("udp",
// "tcp" or "tls"), or an invalid address if it does not (or has not
// called Listen yet).
func (s *Server) Addr(network string) netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a net.Addr
	if pc, ok := s.packet[network]; ok {
		a = pc.LocalAddr()
	} else if ln, ok := s.stream[network]; ok {
		a = ln.Addr()
	} else {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// Close releases the sockets of a server that Listened but will not Serve
// (Serve releases them when it returns).
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeListenersLocked()
	s.packet, s.stream = map[string]net.PacketConn{}, map[string]net.Listener{}
	s.listening = false
	return nil
}

func (s *Server) closeListenersLocked() {
	for _, pc := range s.packet {
		_ = pc.Close()
	}
	for _, ln := range s.stream {
		_ = ln.Close()
	}
}

// Serve answers calls until ctx is done, then ends the calls in progress
// (hanging up with BYE), unregisters and returns. It returns an error if
// a listener fails.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(s.cfg.userAgent), sipgo.WithUserAgentHostname(s.cfg.externalIP.String()))
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(s.cfg.log))
	if err != nil {
		return fmt.Errorf("sip: server: %w", err)
	}
	uas := map[string]*sipgo.DialogUA{}
	for _, l := range s.cfg.listens {
		if uas[l.network], err = s.dialogUA(ua, l.network); err != nil {
			return err
		}
	}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if toTag(req) != "" {
			s.inDialog(req, tx, s.handleReInvite)
			return
		}
		dua := uas[sip.NetworkToLower(req.Transport())]
		if dua == nil {
			dua = uas[s.cfg.listens[0].network]
		}
		s.handle(ctx, dua, req, tx)
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		if c := s.lookup(req); c != nil {
			_ = c.d.ReadAck(req, tx)
		}
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if l := s.lookupLeg(req); l != nil {
			if err := l.d.ReadBye(req, tx); err != nil {
				respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
			}
			return
		}
		s.inDialog(req, tx, func(c *call, req *sip.Request, tx sip.ServerTransaction) {
			if err := c.d.ReadBye(req, tx); err != nil {
				respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
			}
		})
	})
	srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL matching a pending INVITE is answered by the
		// transaction layer; this one matched nothing.
		respond(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
	})
	srv.OnInfo(func(req *sip.Request, tx sip.ServerTransaction) { s.inDialog(req, tx, s.handleInfo) })
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) { s.inDialog(req, tx, s.handleNotify) })
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		respond(req, tx, sip.StatusOK, "OK", nil, sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY"),
			sip.NewHeader("Accept", "application/sdp"))
	})

	errc := make(chan error, len(s.cfg.listens))
	var serving sync.WaitGroup
	s.mu.Lock()
	for network, pc := range s.packet {
		serving.Go(func() { errc <- serveErr(network, srv.ServeUDP(pc)) })
	}
	for network, ln := range s.stream {
		if network == "tls" {
			serving.Go(func() { errc <- serveErr(network, srv.ServeTLS(tls.NewListener(ln, s.cfg.tls))) })
			continue
		}
		serving.Go(func() { errc <- serveErr(network, srv.ServeTCP(ln)) })
	}
	s.mu.Unlock()
	regCtx, stopRegistering := context.WithCancel(ctx)
	defer stopRegistering()
	var registering sync.WaitGroup
	if r := s.cfg.register; r != nil {
		registering.Go(func() { s.keepRegistered(regCtx, uas[s.cfg.listens[0].network], r) })
	}
	s.cfg.log.Info("sip: listening", "addrs", s.addrs(), "codecs", s.cfg.codecs)

	var err2 error
	select {
	case <-ctx.Done():
	case err2 = <-errc:
		stopRegistering()
	}
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.handlers.Wait()
	stopRegistering()
	registering.Wait() // unregistering needs the sockets: close them after
	s.mu.Lock()
	s.closeListenersLocked()
	s.mu.Unlock()
	_ = ua.Close()
	serving.Wait()
	return err2
}

// dialogUA returns the client and Contact used for calls arriving on
// network.
func (s *Server) dialogUA(ua *sipgo.UserAgent, network string) (*sipgo.DialogUA, error) {
	bound := s.Addr(network)
	opts := []sipgo.ClientOption{
		sipgo.WithClientLogger(s.cfg.log),
		sipgo.WithClientHostname(s.cfg.externalIP.String()),
		sipgo.WithClientPort(int(bound.Port())),
	}
	if network == "udp" {
		// Send from the listening socket, so replies come back to it.
		opts = append(opts, sipgo.WithClientConnectionAddr(bound.String()))
	}
	client, err := sipgo.NewClient(ua, opts...)
	if err != nil {
		return nil, fmt.Errorf("sip: client: %w", err)
	}
	scheme := "sip"
	if network == "tls" {
		scheme = "sips"
	}
	contact := sip.ContactHeader{Address: sip.Uri{
		Scheme: scheme, User: s.cfg.userAgent, Host: s.cfg.externalIP.String(), Port: int(bound.Port()),
		UriParams: sip.NewParams(), Headers: sip.NewParams(),
	}}
	if network != "udp" {
		contact.Address.UriParams.Add("transport", network)
	}
	return &sipgo.DialogUA{Client: client, ContactHDR: contact}, nil
}

func (s *Server) addrs() []string {
	var out []string
	for _, l := range s.cfg.listens {
		out = append(out, l.network+":"+s.Addr(l.network).String())
	}
	return out
}

// serveErr drops the error a listener returns when it is closed.
func serveErr(network string, err error) error {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("sip: serve %s: %w", network, err)
}

// respond answers req with a response built from it.
func respond(req *sip.Request, tx sip.ServerTransaction, code int, reason string, body []byte, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	_ = tx.Respond(res)
}

// call is one call the server is running.
type call struct {
	conn   *Conn
	d      *sipgo.DialogServerSession
	dua    *sipgo.DialogUA     // places an attended hand-off's call
	leg    atomic.Pointer[leg] // the person's call, once bridged
	notify chan int            // final status of a REFER's NOTIFYs
	bye    sync.Once
}

// hangup sends BYE once, unless the far end already ended the dialog.
// Concurrent callers wait for the first.
func (c *call) hangup() {
	c.bye.Do(func() {
		if c.d.Context().Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.d.Bye(ctx); err != nil {
			c.conn.log.Debug("sip: hang-up failed", "err", err)
		}
	})
}

func (s *Server) lookup(req *sip.Request) *call {
	h := req.CallID()
	if h == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[h.Value()]
}

// inDialog runs fn for a request within a call, or answers 481.
func (s *Server) inDialog(req *sip.Request, tx sip.ServerTransaction, fn func(*call, *sip.Request, sip.ServerTransaction)) {
	c := s.lookup(req)
	if c == nil {
		respond(req, tx, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil)
		return
	}
	fn(c, req, tx)
}

// handle answers one INVITE and runs its session until the call ends.
func (s *Server) handle(ctx context.Context, dua *sipgo.DialogUA, req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		respond(req, tx, sip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()
	if n := s.active.Add(1); int(n) > s.cfg.maxCalls {
		s.active.Add(-1)
		s.cfg.log.Warn("sip: call refused", "err", ErrBusy)
		respond(req, tx, sip.StatusBusyHere, "Busy Here", nil)
		return
	}
	defer s.active.Add(-1)

	d, err := dua.ReadInvite(req, tx)
	if err != nil {
		s.cfg.log.Warn("sip: INVITE refused", "err", err)
		respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
		return
	}
	defer d.Close()
	callID := req.CallID().Value()
	log := s.cfg.log.With("call", callID)
	_ = d.Respond(sip.StatusTrying, "Trying", nil)
	off, err := parseOffer(req.Body())
	var m media
	if err == nil {
		m, err = negotiate(off, s.cfg.codecs)
	}
	if err != nil {
		log.Warn("sip: call refused", "err", err)
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil, warning(err))
		return
	}
	pc, err := s.listenRTP()
	if err != nil {
		log.Error("sip: call refused", "err", err)
		_ = d.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
		return
	}
	defer pc.Close()
	cd, err := m.codec.newCoder()
	if err != nil {
		log.Error("sip: call refused", "err", err)
		_ = d.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
		return
	}
	local := netip.AddrPortFrom(s.cfg.externalIP, uint16(pc.LocalAddr().(*net.UDPAddr).Port))
	info := Call{ID: callID, From: req.From().Address.String(), To: req.To().Address.String(), Codec: m.codec, Remote: m.remote, Local: local}
	c := &call{conn: newConn(info, &s.cfg, log, pc, cd, m), d: d, dua: dua, notify: make(chan int, 1)}
	conn := c.conn
	conn.transfer = func(ctx context.Context, h *Handoff) error {
		if s.cfg.attended {
			return s.attendedTransfer(ctx, c, h)
		}
		h.Method = MethodRefer
		return s.transfer(ctx, c, h.Target)
	}
	sess, err := s.newSession(conn)
	if err == nil && sess == nil {
		err = errors.New("the session constructor returned no session")
	}
	if err != nil {
		log.Error("sip: session not created", "err", err)
		_ = d.Respond(sip.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	conn.sess = sess

	s.mu.Lock()
	s.calls[callID] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.calls, callID)
		s.mu.Unlock()
	}()
	var reading sync.WaitGroup
	reading.Go(conn.readLoop)
	defer func() {
		_ = pc.Close()
		reading.Wait()
		conn.close()
	}()

	answer := answerSDP(m, local, s.sdpID.Add(1)+rand.Uint64N(1<<40), 1)
	if err := d.RespondSDP(answer); err != nil {
		log.Info("sip: call not answered", "err", err)
		conn.finish(err)
		return
	}
	log.Info("sip: call answered", "from", info.From, "to", info.To, "codec", m.codec, "rtp", m.remote)
	conn.startKeepAlive()

	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(errSessionEnded)
	stop := context.AfterFunc(d.Context(), func() { conn.finish(errHungUp) })
	defer stop()
	var watch sync.WaitGroup
	watch.Go(func() { endWhenGone(callCtx, cancel, conn.done) })
	runErr := sess.Run(callCtx)
	cancel(errSessionEnded)
	watch.Wait()
	conn.finish(errSessionEnded)
	if l := c.leg.Load(); l != nil {
		s.holdBridge(ctx, c, l)
	}
	c.hangup()
	switch {
	case runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, errHungUp):
		log.Error("sip: call ended", "err", runErr)
	default:
		log.Info("sip: call ended", "reason", conn.err)
	}
}

// warning is a Warning header (RFC 3261 §20.43) carrying err.
func warning(err error) sip.Header {
	text := strings.NewReplacer(`"`, "'", "\r", " ", "\n", " ").Replace(err.Error())
	return sip.NewHeader("Warning", `399 hark "`+truncate(text)+`"`)
}

// listenRTP binds a UDP socket for one call's RTP, in the configured port
// range (even ports, as RFC 3550 §11 recommends) or on any free port.
func (s *Server) listenRTP() (*net.UDPConn, error) {
	ip := s.cfg.mediaIP
	if s.cfg.portMin == 0 {
		return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	}
	span := (s.cfg.portMax-s.cfg.portMin)/2 + 1
	first := rand.IntN(span)
	var err error
	for i := range min(span, 64) {
		port := s.cfg.portMin + 2*((first+i)%span)
		var pc *net.UDPConn
		if pc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port)))); err == nil {
			return pc, nil
		}
	}
	return nil, fmt.Errorf("sip: no free RTP port in %d-%d: %w", s.cfg.portMin, s.cfg.portMax, err)
}

// grace is how long a session may take to notice, by itself, that its call
// ended before its context is cancelled.
const grace = 2 * time.Second

// endWhenGone cancels ctx with errHungUp once done has been closed for
// grace. It returns when ctx is done.
func endWhenGone(ctx context.Context, cancel context.CancelCauseFunc, done <-chan struct{}) {
	select {
	case <-ctx.Done():
		return
	case <-done:
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		cancel(errHungUp)
	}
}

func toTag(req *sip.Request) string {
	to := req.To()
	if to == nil {
		return ""
	}
	tag, _ := to.Params.Get("tag")
	return tag
}

// handleInfo delivers a key sent by SIP INFO (application/dtmf-relay or
// application/dtmf).
func (s *Server) handleInfo(cl *call, req *sip.Request, tx sip.ServerTransaction) {
	c := cl.conn
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(h.Value()))
	}
	var digit string
	var err error
	switch ct {
	case "application/dtmf-relay":
		digit, err = parseDTMFRelay(req.Body())
	case "application/dtmf":
		digit, err = parseDTMFBody(req.Body())
	default:
		respond(req, tx, sip.StatusUnsupportedMediaType, "Unsupported Media Type", nil)
		return
	}
	if err != nil {
		c.log.Warn("sip: INFO refused", "err", err)
		respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
		return
	}
	// The key is delivered before the 200: a caller sends its next INFO
	// only after the final response to the last (RFC 6086), and sipgo
	// handles each request on its own goroutine, so answering first let
	// the next key overtake this one.
	c.pressed(digit)
	respond(req, tx, sip.StatusOK, "OK", nil)
}

// handleReInvite answers a re-INVITE: the same codec at a possibly new
// address or direction (hold).
func (s *Server) handleReInvite(cl *call, req *sip.Request, tx sip.ServerTransaction) {
	c := cl.conn
	if err := cl.d.ReadRequest(req, tx); err != nil {
		respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
		return
	}
	off, err := parseOffer(req.Body())
	var m media
	if err == nil {
		m, err = negotiate(off, []Codec{c.call.Codec})
	}
	if err == nil && m.pt != c.media.pt {
		err = fmt.Errorf("%w: payload type %d changed to %d mid-call", ErrNoCodec, c.media.pt, m.pt)
	}
	if err != nil {
		c.log.Warn("sip: re-INVITE refused", "err", err)
		respond(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here", nil, warning(err))
		return
	}
	c.setMedia(m.remote, m.dir)
	m.dtmfPT = c.media.dtmfPT
	body := answerSDP(m, c.call.Local, s.sdpID.Add(1), 2)
	respond(req, tx, sip.StatusOK, "OK", body, sip.NewHeader("Content-Type", "application/sdp"), sip.HeaderClone(cl.d.InviteResponse.Contact()))
	c.log.Info("sip: media updated", "rtp", m.remote, "direction", m.dir)
}

// setMedia moves the call's RTP to remote and sets our direction.
func (c *Conn) setMedia(remote netip.AddrPort, dir string) {
	c.wmu.Lock()
	c.media.dir = dir
	c.wmu.Unlock()
	c.remote.Store(&remote)
	c.relatch.Store(true)
}

// handleNotify takes the NOTIFYs of a transfer (message/sipfrag bodies,
// RFC 3515) and passes their final status on.
func (s *Server) handleNotify(c *call, req *sip.Request, tx sip.ServerTransaction) {
	code, err := parseSipfrag(req.Body())
	if err != nil {
		c.conn.log.Warn("sip: NOTIFY refused", "err", err)
		respond(req, tx, sip.StatusBadRequest, "Bad Request", nil)
		return
	}
	respond(req, tx, sip.StatusOK, "OK", nil)
	if code >= 200 {
		select {
		case c.notify <- code:
		default:
		}
	}
}

// parseSipfrag reads the status code of a message/sipfrag body
// ("SIP/2.0 200 OK"). Errors wrap ErrTransfer.
func parseSipfrag(b []byte) (int, error) {
	line, _, _ := strings.Cut(string(b[:min(len(b), 256)]), "\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "SIP/2.0" {
		return 0, fmt.Errorf("%w: sipfrag %q", ErrTransfer, truncate(line))
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 699 {
		return 0, fmt.Errorf("%w: sipfrag status %q", ErrTransfer, truncate(f[1]))
	}
	return code, nil
}

// transfer sends a blind REFER to target and waits for the far end's
// final NOTIFY; on success it hangs up.
func (s *Server) transfer(ctx context.Context, c *call, target string) error {
	var uri sip.Uri
	if err := sip.ParseUri(target, &uri); err != nil {
		return fmt.Errorf("%w: target %q: %v", ErrTransfer, target, err)
	}
	if err := s.refer(ctx, c, uri.String()); err != nil {
		return err
	}
	c.conn.finish(errTransferred)
	c.hangup()
	return nil
}

// refer sends the caller a REFER to referTo and waits for the final
// NOTIFY (or the caller's hanging up). Errors wrap ErrTransfer.
func (s *Server) refer(ctx context.Context, c *call, referTo string) error {
	contact := c.d.InviteRequest.Contact()
	req := sip.NewRequest(sip.REFER, contact.Address)
	req.AppendHeader(sip.NewHeader("Refer-To", "<"+referTo+">"))
	req.AppendHeader(sip.NewHeader("Referred-By", "<"+c.d.InviteResponse.Contact().Address.String()+">"))
	res, err := c.d.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("%w: REFER: %v", ErrTransfer, err)
	}
	if res.StatusCode != sip.StatusAccepted && res.StatusCode != sip.StatusOK {
		return fmt.Errorf("%w: REFER answered %d %s", ErrTransfer, res.StatusCode, res.Reason)
	}
	select {
	case code := <-c.notify:
		if code >= 300 {
			return fmt.Errorf("%w: the transfer target answered %d", ErrTransfer, code)
		}
	case <-c.conn.done:
		return nil // the caller left for the target first
	case <-ctx.Done():
		return fmt.Errorf("%w: no final NOTIFY: %v", ErrTransfer, context.Cause(ctx))
	}
	return nil
}

// parseDTMFRelay reads an application/dtmf-relay body ("Signal=5" and
// "Duration=160" lines). Errors wrap ErrDTMF.
func parseDTMFRelay(b []byte) (string, error) {
	if len(b) > 1024 {
		return "", fmt.Errorf("%w: body of %d bytes", ErrDTMF, len(b))
	}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
			continue
		}
		return dtmfDigit(strings.TrimSpace(v))
	}
	return "", fmt.Errorf("%w: no Signal= line", ErrDTMF)
}

// parseDTMFBody reads an application/dtmf body: the key alone.
func parseDTMFBody(b []byte) (string, error) {
	if len(b) > 64 {
		return "", fmt.Errorf("%w: body of %d bytes", ErrDTMF, len(b))
	}
	return dtmfDigit(strings.TrimSpace(string(b)))
}

// dtmfDigit checks a key: 0-9, *, #, A-D, or an event number 0-15.
func dtmfDigit(v string) (string, error) {
	if n, err := strconv.Atoi(v); err == nil && n >= 10 && n < 16 {
		return dtmfEvent{event: uint8(n)}.digit(), nil
	}
	v = strings.ToUpper(v)
	if len(v) == 1 && strings.Contains("0123456789*#ABCD", v) {
		return v, nil
	}
	return "", fmt.Errorf("%w: key %q", ErrDTMF, truncate(v))
}
