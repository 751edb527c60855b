package livekit

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/livekit/protocol/auth"
	lkp "github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

// Session is the conversation a Worker runs for each job; *agent.Session
// implements it.
type Session interface {
	// Run converses until ctx is done or the Conn's ReadAudio returns
	// io.EOF (the caller left).
	Run(ctx context.Context) error
	// SendText adds a typed user turn (LiveKit's "lk.chat" text stream).
	SendText(text string)
	// Interrupt cancels the reply being spoken.
	Interrupt()
}

// Job describes a call the server dispatched to the worker.
type Job struct {
	// ID is the server's job id.
	ID string
	// Room is the room's name.
	Room string
	// Metadata is the dispatch's metadata (free-form, set by whoever
	// dispatched the agent).
	Metadata string
	// Participant is the identity of the participant the job is for (jobs
	// of type publisher or participant), empty for room jobs: the agent
	// then listens to the first participant that publishes a microphone.
	Participant string
}

// NewSessionFunc makes the session for a job once its Conn has joined the
// room. An error fails the job.
type NewSessionFunc func(job Job, c *Conn) (Session, error)

// Worker is a LiveKit agent worker running Hark sessions: it registers with
// the server over the agent protocol, reports its load, accepts dispatched
// jobs up to its maximum, joins each job's room and runs a session there.
type Worker struct {
	url        string // the server, ws:// or wss://
	key        string
	secret     string
	newSession NewSessionFunc
	cfg        config

	mu       sync.Mutex
	slots    *slots
	jobs     map[string]context.CancelCauseFunc
	workerID string
	out      chan outMsg   // to the current connection, nil between connections
	idle     chan struct{} // closed and replaced whenever no job holds a slot
	ready    chan struct{} // closed at the first registration
	readyOne sync.Once
	statusN  uint64

	wg sync.WaitGroup // jobs
}

// NewWorker returns a worker for the LiveKit server at serverURL (ws://,
// wss://, http:// or https://; a LiveKit Cloud project URL works) using
// the API key and secret. newSession makes each job's session.
func NewWorker(serverURL, apiKey, apiSecret string, newSession NewSessionFunc, opts ...Option) (*Worker, error) {
	u, err := wsURL(serverURL)
	if err != nil {
		return nil, err
	}
	if apiKey == "" || apiSecret == "" {
		return nil, fmt.Errorf("%w: missing API key or secret", ErrConfig)
	}
	if newSession == nil {
		return nil, fmt.Errorf("%w: nil NewSessionFunc", ErrConfig)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	cfg.apiKey, cfg.apiSecret = apiKey, apiSecret
	return &Worker{
		url: u, key: apiKey, secret: apiSecret, newSession: newSession, cfg: cfg,
		slots: newSlots(cfg.maxJobs), jobs: map[string]context.CancelCauseFunc{},
		idle: make(chan struct{}), ready: make(chan struct{}),
	}, nil
}

// wsURL turns a server URL into its WebSocket form without a trailing
// slash.
func wsURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: server URL: %v", ErrConfig, err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: server URL %q: want ws, wss, http or https", ErrConfig, s)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: server URL %q has no host", ErrConfig, s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Ready is closed once the server accepted the worker's first
// registration. (LiveKit dispatches a room only to workers registered when
// the room is created.)
func (w *Worker) Ready() <-chan struct{} { return w.ready }

// Jobs returns how many calls the worker is running.
func (w *Worker) Jobs() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.jobs)
}

// Run registers the worker and serves jobs until ctx is done, then drains:
// it tells the server it takes no new jobs, waits for its calls to end (up
// to the drain timeout, after which it ends them with ErrDrainTimeout), and
// returns nil. A lost connection to the server is retried with backoff;
// calls in progress go on meanwhile. Run returns an error only when the
// first registration fails (bad credentials, no server).
func (w *Worker) Run(ctx context.Context) error {
	// Jobs and the connection outlive ctx while draining.
	base := context.WithoutCancel(ctx)
	jobsCtx, endJobs := context.WithCancelCause(base)
	defer endJobs(nil)
	connCtx, closeConn := context.WithCancel(base)
	defer closeConn()

	registered := make(chan error, 1)
	connDone := make(chan struct{})
	go func() {
		defer close(connDone)
		w.connectLoop(connCtx, jobsCtx, registered)
	}()
	select {
	case err := <-registered:
		if err != nil {
			closeConn()
			<-connDone
			return err
		}
	case <-ctx.Done():
	}
	var sweepDone chan struct{}
	if w.cfg.sweepInterval > 0 {
		sweepDone = make(chan struct{})
		go func() {
			defer close(sweepDone)
			w.sweepLoop(ctx)
		}()
	}

	<-ctx.Done()
	w.cfg.log.Info("livekit: draining", "jobs", w.Jobs())
	w.mu.Lock()
	w.slots.drain()
	w.mu.Unlock()
	w.sendStatus()
	timer := time.NewTimer(w.cfg.drainTimeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		idle, ch := w.slots.idle(), w.idle
		w.mu.Unlock()
		if idle {
			break
		}
		select {
		case <-ch:
			continue
		case <-timer.C:
			endJobs(ErrDrainTimeout)
		}
		break
	}
	w.wg.Wait()
	closeConn()
	<-connDone
	if sweepDone != nil {
		<-sweepDone
	}
	return nil
}

// connectLoop keeps a connection to the server, reconnecting with backoff.
// The first registration's outcome goes to registered.
func (w *Worker) connectLoop(ctx, jobsCtx context.Context, registered chan<- error) {
	backoff := 500 * time.Millisecond
	first := true
	for {
		err := w.serve(ctx, jobsCtx, func(err error) {
			if first {
				registered <- err
				first = false
			}
			if err == nil {
				backoff = 500 * time.Millisecond
			}
		})
		if ctx.Err() != nil {
			return
		}
		if first {
			registered <- err
			return
		}
		w.cfg.log.Warn("livekit: worker connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}

// serve runs one connection: register, then handle server messages and
// send pings and status until the connection fails or ctx is done.
func (w *Worker) serve(ctx, jobsCtx context.Context, onRegister func(error)) error {
	tok, err := auth.NewAccessToken(w.key, w.secret).
		SetVideoGrant(&auth.VideoGrant{Agent: true}).
		SetValidFor(time.Hour).ToJWT()
	if err != nil {
		return fmt.Errorf("%w: token: %v", ErrConfig, err)
	}
	hdr := http.Header{"Authorization": {"Bearer " + tok}}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ws, resp, err := websocket.DefaultDialer.DialContext(dialCtx, w.url+"/agent?protocol=1", hdr)
	cancel()
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("%w: %s", ErrRegister, resp.Status)
		}
		return fmt.Errorf("%w: dial: %v", ErrRegister, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	defer stop()
	defer ws.Close()

	out := make(chan outMsg, 64)
	writeErr := make(chan error, 1)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		var failed error
		for o := range out {
			if failed == nil {
				failed = writeWorker(ws, o.m)
				if failed != nil {
					writeErr <- failed
					_ = ws.Close()
				}
			}
			if o.sent != nil {
				close(o.sent)
			}
		}
	}()
	defer func() {
		w.mu.Lock()
		w.out = nil
		w.mu.Unlock()
		close(out)
		<-writerDone
	}()

	ping := uint32(w.cfg.pingInterval / time.Second)
	out <- outMsg{m: &lkp.WorkerMessage{Message: &lkp.WorkerMessage_Register{Register: &lkp.RegisterWorkerRequest{
		Type: lkp.JobType_JT_ROOM, AgentName: w.cfg.agentName, Version: w.cfg.version,
		PingInterval: max(ping, 1),
	}}}}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	msg, err := readServer(ws)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRegister, err)
	}
	reg := msg.GetRegister()
	if reg == nil {
		return fmt.Errorf("%w: first server message is %T", ErrRegister, msg.GetMessage())
	}
	w.mu.Lock()
	w.workerID = reg.GetWorkerId()
	w.out = out
	w.mu.Unlock()
	w.cfg.log.Info("livekit: worker registered", "worker", reg.GetWorkerId(), "agent", w.cfg.agentName)
	onRegister(nil)
	w.readyOne.Do(func() { close(w.ready) })
	w.sendStatus()

	readErr := make(chan error, 1)
	msgs := make(chan *lkp.ServerMessage, 16)
	go func() {
		defer close(msgs)
		for {
			_ = ws.SetReadDeadline(time.Now().Add(3 * w.cfg.pingInterval))
			m, err := readServer(ws)
			if err != nil {
				readErr <- err
				return
			}
			msgs <- m
		}
	}()
	tick := time.NewTicker(w.cfg.pingInterval)
	defer tick.Stop()
	expire := time.NewTicker(time.Second)
	defer expire.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return <-readErr
			}
			w.handle(jobsCtx, m)
		case err := <-writeErr:
			return err
		case <-tick.C:
			w.send(&lkp.WorkerMessage{Message: &lkp.WorkerMessage_Ping{Ping: &lkp.WorkerPing{Timestamp: time.Now().UnixMilli()}}})
			w.sendStatus()
		case now := <-expire.C:
			w.mu.Lock()
			gone := w.slots.expire(now, offerTTL)
			w.mu.Unlock()
			if len(gone) > 0 {
				w.jobEnded()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// outMsg is a message for the connection's writer; sent, if set, is
// closed once it was written (or the connection failed).
type outMsg struct {
	m    *lkp.WorkerMessage
	sent chan struct{}
}

func writeWorker(ws *websocket.Conn, m *lkp.WorkerMessage) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	_ = ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.WriteMessage(websocket.BinaryMessage, b)
}

func readServer(ws *websocket.Conn) (*lkp.ServerMessage, error) {
	for {
		typ, b, err := ws.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ != websocket.BinaryMessage {
			continue
		}
		m := &lkp.ServerMessage{}
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, fmt.Errorf("livekit: server message: %w", err)
		}
		return m, nil
	}
}

// send queues m for the current connection; without one it is dropped
// (the status is sent again after the next registration).
func (w *Worker) send(m *lkp.WorkerMessage) { w.queue(m, nil) }

// queue queues m and reports whether it was queued.
func (w *Worker) queue(m *lkp.WorkerMessage, sent chan struct{}) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.out == nil {
		return false
	}
	select {
	case w.out <- outMsg{m: m, sent: sent}:
		return true
	default:
		w.cfg.log.Warn("livekit: worker send queue full; message dropped")
		return false
	}
}

// sendJobStatusWait reports a job's final status and waits (briefly) until
// it was written, so that it reaches the server before the agent leaves
// the room.
func (w *Worker) sendJobStatusWait(id string, st lkp.JobStatus) {
	sent := make(chan struct{})
	m := &lkp.WorkerMessage{Message: &lkp.WorkerMessage_UpdateJob{UpdateJob: &lkp.UpdateJobStatus{JobId: id, Status: st}}}
	if !w.queue(m, sent) {
		return
	}
	select {
	case <-sent:
	case <-time.After(2 * time.Second):
	}
}

// sendStatus reports load, job count and draining.
func (w *Worker) sendStatus() {
	w.mu.Lock()
	load, n, full := w.slots.status()
	draining := w.slots.draining
	w.statusN++
	seq := w.statusN
	w.mu.Unlock()
	st := lkp.WorkerStatus_WS_AVAILABLE
	if full {
		st = lkp.WorkerStatus_WS_FULL
	}
	w.send(&lkp.WorkerMessage{Message: &lkp.WorkerMessage_UpdateWorker{UpdateWorker: &lkp.UpdateWorkerStatus{
		Status: &st, Load: load, JobCount: uint32(n), Draining: draining, Seq: seq,
	}}})
}

func (w *Worker) sendJobStatus(id string, st lkp.JobStatus, errText string) {
	w.send(&lkp.WorkerMessage{Message: &lkp.WorkerMessage_UpdateJob{UpdateJob: &lkp.UpdateJobStatus{
		JobId: id, Status: st, Error: errText,
	}}})
}

// handle acts on one server message.
func (w *Worker) handle(jobsCtx context.Context, m *lkp.ServerMessage) {
	switch {
	case m.GetAvailability() != nil:
		job := m.GetAvailability().GetJob()
		w.mu.Lock()
		ok := w.slots.offer(job.GetId(), time.Now())
		w.mu.Unlock()
		res := &lkp.AvailabilityResponse{JobId: job.GetId(), Available: ok}
		if ok {
			res.ParticipantIdentity = participantIdentity(time.Now(), job.GetId())
			res.ParticipantName = w.cfg.participantName
		}
		w.cfg.log.Debug("livekit: availability", "job", job.GetId(), "room", job.GetRoom().GetName(), "available", ok)
		w.send(&lkp.WorkerMessage{Message: &lkp.WorkerMessage_Availability{Availability: res}})
		w.sendStatus()
	case m.GetAssignment() != nil:
		a := m.GetAssignment()
		id := a.GetJob().GetId()
		w.mu.Lock()
		ok := w.slots.assign(id)
		w.mu.Unlock()
		if !ok {
			w.cfg.log.Warn("livekit: assignment for a job not offered; declined", "job", id)
			w.sendJobStatus(id, lkp.JobStatus_JS_FAILED, "worker did not offer to take this job")
			return
		}
		u := a.GetUrl()
		if u == "" {
			u = w.url
		}
		w.startJob(jobsCtx, a.GetJob(), u, a.GetToken())
	case m.GetTermination() != nil:
		id := m.GetTermination().GetJobId()
		w.mu.Lock()
		cancel := w.jobs[id]
		w.mu.Unlock()
		if cancel != nil {
			w.cfg.log.Info("livekit: job terminated by the server", "job", id)
			cancel(ErrTerminated)
		}
	case m.GetPong() != nil, m.GetRegister() != nil:
	default:
		w.cfg.log.Debug("livekit: unhandled server message", "type", fmt.Sprintf("%T", m.GetMessage()))
	}
}

// participantIdentity names the agent in a room so that identities sort by
// the time they were made: when two workers end up in the same room, the
// later one leaves (see ErrDuplicateAgent).
func participantIdentity(now time.Time, jobID string) string {
	return fmt.Sprintf("agent-%013x-%s", now.UnixMilli(), jobID)
}

// startJob runs a job in its own goroutine.
func (w *Worker) startJob(jobsCtx context.Context, job *lkp.Job, serverURL, token string) {
	ctx, cancel := context.WithCancelCause(jobsCtx)
	id := job.GetId()
	w.mu.Lock()
	w.jobs[id] = cancel
	w.mu.Unlock()
	w.sendStatus()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer cancel(nil)
		log := w.cfg.log.With("job", id, "room", job.GetRoom().GetName())
		err := w.runJob(ctx, job, serverURL, token, log)
		st, text := lkp.JobStatus_JS_SUCCESS, ""
		if err != nil {
			st, text = lkp.JobStatus_JS_FAILED, err.Error()
			log.Warn("livekit: job failed", "err", err)
		} else {
			log.Info("livekit: job done")
		}
		w.mu.Lock()
		delete(w.jobs, id)
		w.slots.finish(id)
		w.mu.Unlock()
		if err != nil {
			w.sendJobStatus(id, st, text)
		}
		w.jobEnded()
	}()
}

// jobEnded reports the new status and wakes a drain waiting for idleness.
func (w *Worker) jobEnded() {
	w.mu.Lock()
	if w.slots.idle() {
		close(w.idle)
		w.idle = make(chan struct{})
	}
	w.mu.Unlock()
	w.sendStatus()
}

// runJob joins the room, runs the session and leaves. The job is reported
// successful before the room is left (the server records a job whose agent
// left first as failed). A session ended by the worker (termination,
// draining, another agent in the room) or by the caller leaving succeeds.
func (w *Worker) runJob(ctx context.Context, job *lkp.Job, serverURL, token string, log *slog.Logger) error {
	j := Job{ID: job.GetId(), Room: job.GetRoom().GetName(), Metadata: job.GetMetadata(),
		Participant: job.GetParticipant().GetIdentity()}
	c, err := dial(ctx, serverURL, token, j, w.cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	w.sendJobStatus(j.ID, lkp.JobStatus_JS_RUNNING, "")
	sess, err := w.newSession(j, c)
	if err != nil {
		return fmt.Errorf("livekit: new session: %w", err)
	}
	c.setSession(sess)
	// A session starts listening without saying so.
	_ = c.SendEvent(transport.Event{Type: transport.EventState, State: transport.StateListening})
	sctx, release := c.sessionContext(ctx)
	err = sess.Run(sctx)
	if err != nil && sctx.Err() != nil {
		log.Info("livekit: call ended", "cause", context.Cause(sctx))
		err = nil
	}
	release()
	if err != nil {
		return err
	}
	w.sendJobStatusWait(j.ID, lkp.JobStatus_JS_SUCCESS)
	return nil
}
