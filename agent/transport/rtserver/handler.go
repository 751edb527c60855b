package rtserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/agent/transport/internal/wscore"
)

// Session is the conversation a Handler runs for each connection;
// *agent.Session implements it.
type Session = transport.Session

// NewSessionFunc creates the session of a connection. Build it on conn
// with the connection's wrappers of the LLM and TTS:
//
//	agent.New(conn, agent.WithLLM(conn.LLM(llm)), agent.WithTTS(conn.TTS(tts)), ...)
//
// conn.Model() is the model the client asked for. An error refuses the
// client with an error event.
type NewSessionFunc = transport.NewSessionFunc[*Conn]

// Subprotocol prefixes and names a client may offer.
const (
	subprotocolRealtime = "realtime"
	subprotocolKey      = "openai-insecure-api-key."
)

// Handler serves the OpenAI Realtime API over WebSocket (GET /v1/realtime
// when mounted there) and runs a session on each connection.
type Handler struct {
	newSession NewSessionFunc
	cfg        config
}

// NewHandler returns a handler that runs newSession's session on every
// connection. The session's context is the request's (cancel
// http.Server.BaseContext's context to end sessions on shutdown; clients
// get close 1001). When the client goes, ReadAudio returns io.EOF; a
// session that has not returned 2 s later has its context cancelled.
func NewHandler(newSession NewSessionFunc, opts ...Option) (*Handler, error) {
	var c config
	if err := wscore.Setup(newSession, &c, opts, ErrOption); err != nil {
		return nil, err
	}
	if c.maxMsg == 0 {
		c.maxMsg = DefaultMaxMessageBytes
		c.core.MaxMessage = 4 * c.maxMsg
	}
	if c.perSec == 0 {
		c.perSec, c.burst = DefaultRate, DefaultBurst
	}
	if c.maxError == 0 {
		c.maxError = 1000
	}
	c.core.PingInterval, c.core.ReadTimeout = 20*time.Second, 60*time.Second
	c.core.Subprotocols = []string{subprotocolRealtime}
	c.core.CheckOrigin = func(*http.Request) bool { return true } // browsers authenticate with a key
	c.core.SessionFailed = sessionFailed
	c.core.Farewell = farewell
	c.core.CloseCode = closeCode
	c.core.SetDefaults()
	return &Handler{newSession: newSession, cfg: c}, nil
}

// ServeHTTP checks the model and the key, upgrades the request, runs the
// session and closes the connection, leaving no goroutine behind.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("intent") == "transcription" || q.Get("call_id") != "" {
		httpError(w, http.StatusBadRequest, "unsupported_value", "only realtime conversations (?model=) are served here, not transcription sessions or calls")
		return
	}
	model := q.Get("model")
	if model == "" {
		model = DefaultModel
	}
	if !h.cfg.modelOK(model) {
		httpError(w, http.StatusBadRequest, "model_not_found", "The model `"+model+"` does not exist or you do not have access to it.")
		return
	}
	if !h.cfg.keyOK(apiKey(r)) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		httpError(w, http.StatusUnauthorized, "invalid_api_key", "Incorrect API key provided.")
		return
	}
	ws, done := h.cfg.core.Accept(w, r)
	if ws == nil {
		return
	}
	defer done()
	ws.SetReadLimit(int64(h.cfg.core.MaxMessage))
	id := sessionID()
	log := h.cfg.core.Log.With("session", id, "model", model, "remote", r.RemoteAddr)
	c := &Conn{
		core:  wscore.New(ws, &h.cfg.core, log),
		cfg:   &h.cfg,
		log:   log,
		model: model,
		limit: rate.NewLimiter(rate.Limit(h.cfg.perSec), h.cfg.burst),
		m:     newMachine(id, model),
	}
	sess, err := wscore.NewSession(h.newSession, r, c)
	if err != nil {
		log.Error("session not created", "err", err)
		msg, _ := realtimeapi.Marshal(&realtimeapi.ErrorEvent{EventID: "event_0", Error: realtimeapi.APIError{
			Type: realtimeapi.ErrorServer, Code: "session_failed", Message: "the server could not start a session"}})
		wscore.Reject(ws, h.cfg.core.WriteTimeout, msg, websocket.CloseInternalServerErr, "session failed")
		return
	}
	c.sess = sess
	c.mu.Lock()
	c.m.created()
	err = c.flush()
	c.mu.Unlock()
	if err != nil {
		return
	}
	log.Info("realtime session started")
	c.core.Serve(r.Context(), sess.Run, c.read)
	c.end()
}

// sessionFailed tells the client that its session ended with an error.
func sessionFailed(c *wscore.Conn, err error) {
	msg, merr := realtimeapi.Marshal(&realtimeapi.ErrorEvent{EventID: "event_end", Error: realtimeapi.APIError{
		Type: realtimeapi.ErrorServer, Code: "session_failed", Message: "the session ended: " + err.Error()}})
	if merr == nil {
		_ = c.Control(msg)
	}
}

// farewell tells a client whose message went over the hard size limit why
// it is disconnected.
func farewell(reason error) []byte {
	if !errors.Is(reason, websocket.ErrReadLimit) {
		return nil
	}
	msg, _ := realtimeapi.Marshal(&realtimeapi.ErrorEvent{EventID: "event_end", Error: realtimeapi.APIError{
		Type: realtimeapi.ErrorInvalidRequest, Code: "message_too_large", Message: ErrTooLarge.Error() + ": connection closed"}})
	return msg
}

// closeCode closes a connection whose message went over the hard size
// limit with 1009.
func closeCode(reason error) (int, string, bool) {
	if errors.Is(reason, websocket.ErrReadLimit) {
		return websocket.CloseMessageTooBig, ErrTooLarge.Error(), true
	}
	return 0, "", false
}

// apiKey returns the key a client presented: "Authorization: Bearer KEY",
// or the subprotocol "openai-insecure-api-key.KEY".
func apiKey(r *http.Request) string {
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(k)
	}
	for _, p := range websocket.Subprotocols(r) {
		if k, ok := strings.CutPrefix(p, subprotocolKey); ok {
			return k
		}
	}
	return ""
}

// httpError refuses a request with an OpenAI-shaped JSON error.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]realtimeapi.APIError{
		"error": {Type: realtimeapi.ErrorInvalidRequest, Code: code, Message: msg},
	})
}

// sessionID returns a new random session id.
func sessionID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return "sess_" + hex.EncodeToString(b)
}
