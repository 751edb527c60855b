// Command phone is a phone support line on Twilio: callers ask where their
// order is, the agent looks it up with a tool, and a caller who wants a
// person (or presses 0) is handed to a human.
//
// It serves the Twilio voice webhook (TwiML that connects the call to a
// bidirectional Media Stream) and the stream itself, one agent session per
// call, with the phone preset. The speech and language engines are the
// offline ones by default, or any OpenAI-compatible server when configured.
// See README.md.
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/promrec"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/transport/twilio"
	"github.com/harkvoice/hark/pipeline"
)

const systemPrompt = `You are the phone support agent of Hark Outfitters, an online shop.
You are speaking on a phone line: answer in one or two short spoken sentences, no lists, no markup.
Read order numbers digit by digit. Use lookup_order for any question about an order.
If the caller asks for a person, is upset, or you cannot help, call transfer_to_human.`

// config is what the flags and environment set.
type config struct {
	addr, publicURL, token, twilioAuthToken string
	transferTo                              string
	sipListen, sipExternalIP, sipTransferTo string
	sipTransferMode                         string
	sipRegister, sipUser, sipPassword       string
	openAIBaseURL, openAIKey                string
	llmModel, sttModel, ttsModel, voice     string

	// whisper speaks the hand-off summary to the person in an attended
	// transfer: the engines' TTS.
	whisper pipeline.TTS
	onEvent func(agent.Event) // tests watch the sessions through it
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", ":8080", "listen address")
	flag.StringVar(&c.publicURL, "public-url", os.Getenv("PUBLIC_URL"), "public https:// base URL Twilio reaches this server at (required)")
	flag.StringVar(&c.token, "token", os.Getenv("HARK_TOKEN"), "secret the per-call stream credentials are signed with (default: a random one per run)")
	flag.StringVar(&c.twilioAuthToken, "twilio-auth-token", os.Getenv("TWILIO_AUTH_TOKEN"), "check X-Twilio-Signature on the webhook; also needed for -transfer-to")
	flag.StringVar(&c.transferTo, "transfer-to", os.Getenv("TRANSFER_TO"), "phone number (E.164) that hand-offs are dialled to; empty: hand-offs are only logged")
	flag.StringVar(&c.sipListen, "sip-listen", os.Getenv("SIP_LISTEN"), "also answer SIP calls on these transports, e.g. udp:0.0.0.0:5060,tcp:0.0.0.0:5060")
	flag.StringVar(&c.sipExternalIP, "sip-external-ip", os.Getenv("SIP_EXTERNAL_IP"), "address written in SDP and Contact when it differs from the bound one (NAT)")
	flag.StringVar(&c.sipTransferTo, "sip-transfer-to", os.Getenv("SIP_TRANSFER_TO"), "SIP URI hand-offs are transferred to (blind REFER); empty: hand-offs are only logged")
	flag.StringVar(&c.sipTransferMode, "sip-transfer-mode", os.Getenv("SIP_TRANSFER_MODE"), "how hand-offs reach -sip-transfer-to: blind (default, a REFER) or attended (call the person, whisper the summary, then put the caller through)")
	flag.StringVar(&c.sipRegister, "sip-register", os.Getenv("SIP_REGISTER"), "register with this registrar as this address of record, e.g. sip:hark@pbx.example.com")
	flag.StringVar(&c.sipUser, "sip-user", os.Getenv("SIP_USER"), "user name for the registrar's digest authentication")
	flag.StringVar(&c.sipPassword, "sip-password", os.Getenv("SIP_PASSWORD"), "password for the registrar's digest authentication")
	flag.StringVar(&c.openAIBaseURL, "openai-base-url", os.Getenv("OPENAI_BASE_URL"), "OpenAI-compatible API base URL; with it or a key, use those engines")
	flag.StringVar(&c.openAIKey, "openai-key", os.Getenv("OPENAI_API_KEY"), "API key of the OpenAI-compatible server")
	flag.StringVar(&c.llmModel, "llm-model", "", "LLM model (provider default if empty)")
	flag.StringVar(&c.sttModel, "stt-model", "", "speech-to-text model")
	flag.StringVar(&c.ttsModel, "tts-model", "", "text-to-speech model")
	flag.StringVar(&c.voice, "voice", "", "text-to-speech voice")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, log); err != nil {
		log.Error("phone line stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, log *slog.Logger) error {
	eng, err := engines(c)
	if err != nil {
		return err
	}
	defer eng.close()
	stages := eng.stages
	c.whisper = eng.tts
	h, wait, err := newHandler(c, stages, log)
	if err != nil {
		return err
	}
	defer wait()
	errc := make(chan error, 2)
	if c.sipListen != "" {
		stopSIP, err := startSIP(ctx, c, stages, log, errc)
		if err != nil {
			return err
		}
		defer stopSIP()
	}
	srv := &http.Server{Addr: c.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }} // cancelling ctx ends the calls
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("phone line ready", "addr", c.addr, "webhook", "/twilio/voice", "stream", "/twilio/stream")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shut)
}

// newHandler builds the webhook, stream and metrics handlers; wait waits
// for transfers in flight.
func newHandler(c config, stages []agent.Option, log *slog.Logger) (http.Handler, func(), error) {
	shop := newShop()
	metrics := promrec.New()
	reg := prometheus.NewRegistry()
	if err := reg.Register(metrics); err != nil {
		return nil, nil, err
	}
	var transfers sync.WaitGroup
	newSession := func(r *http.Request, conn *twilio.Conn) (twilio.Session, error) {
		start := conn.Start()
		callLog := log.With("call", start.CallSid)
		var handoff sync.Once
		var s *agent.Session
		opts := append(slices.Clip(stages),
			agent.WithPreset(agent.PresetPhone),
			agent.WithSystemPrompt(systemPrompt),
			agent.WithLanguage("en"),
			agent.WithTools(shop.tools()...),
			agent.WithLogger(callLog),
			agent.WithMetrics(metrics),
			agent.WithEventHandler(func(ev agent.Event) {
				if c.onEvent != nil {
					c.onEvent(ev)
				}
				switch ev.Type {
				case agent.EventUserFinal:
					callLog.Info("caller", "said", ev.Text)
				case agent.EventAgentText:
					callLog.Info("agent", "said", ev.Text)
				case agent.EventHandoff:
					callLog.Warn("hand-off to a human", "reason", ev.Text)
				case agent.EventAgentDone:
					// Once the goodbye after a hand-off has played, move
					// the call to a person.
					if !handedOff(s) || c.transferTo == "" {
						return
					}
					handoff.Do(func() {
						transfers.Add(1)
						go func() {
							defer transfers.Done()
							if err := transfer(start, c); err != nil {
								callLog.Error("transfer failed", "err", err)
								return
							}
							callLog.Info("call transferred", "to", c.transferTo)
						}()
					})
				}
			}))
		s, err := agent.New(conn, opts...)
		if err != nil {
			return nil, err
		}
		s.Say("Thanks for calling Hark Outfitters. How can I help you today?")
		return s, nil
	}

	topts := []twilio.Option{twilio.WithLogger(log),
		// Pressing 0 asks for a person, like saying it.
		twilio.WithDTMF(func(s twilio.Session, digit string) {
			if digit == "0" {
				s.SendText("I want to talk to a person")
			}
		})}
	// Each call's stream gets its own short-lived credential in the TwiML,
	// signed with a secret derived from -token (or a random one).
	secret := make([]byte, 32)
	if c.token != "" {
		sum := sha256.Sum256([]byte("hark twilio stream credentials\x00" + c.token))
		secret = sum[:]
	} else if _, err := rand.Read(secret); err != nil {
		return nil, nil, err
	}
	auth, err := twilio.NewStreamAuth(secret, 30*time.Second)
	if err != nil {
		return nil, nil, err
	}
	topts = append(topts, twilio.WithStreamAuth(auth))
	u, err := url.Parse(c.publicURL)
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("-public-url %q: want the https:// URL Twilio reaches this server at", c.publicURL)
	}
	twopts := []twilio.TwiMLOption{twilio.WithStreamCredentials(auth),
		twilio.WithStreamURL("wss://" + u.Host + strings.TrimSuffix(u.Path, "/") + "/twilio/stream")}
	if c.twilioAuthToken != "" {
		twopts = append(twopts, twilio.WithSignatureValidation(c.twilioAuthToken, strings.TrimSuffix(c.publicURL, "/")+"/twilio/voice"))
	}
	stream, err := twilio.NewHandler(newSession, topts...)
	if err != nil {
		return nil, nil, err
	}
	voice, err := twilio.NewTwiMLHandler(twopts...)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/twilio/voice", voice)
	mux.Handle("/twilio/stream", stream)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux, transfers.Wait, nil
}

// handedOff reports whether the session's history holds a hand-off.
func handedOff(s *agent.Session) bool {
	if s == nil {
		return false
	}
	for _, m := range s.History() {
		for _, tc := range m.ToolCalls {
			if tc.Name == "transfer_to_human" {
				return true
			}
		}
	}
	return false
}

// engineSet is what engines returns: the session's STT, LLM, TTS and VAD
// options, the TTS alone (attended transfers whisper with it), and what
// releases them.
type engineSet struct {
	stages []agent.Option
	tts    pipeline.TTS
	close  func()
}

// engines returns the STT, LLM, TTS and VAD: OpenAI-compatible when a base
// URL or key is configured, else the offline engines.
func engines(c config) (engineSet, error) {
	if c.openAIBaseURL == "" && c.openAIKey == "" {
		eng, err := offline.New()
		if err != nil {
			return engineSet{}, fmt.Errorf("offline engines (run `make deps`): %w", err)
		}
		// The dialogue engine calls lookup_order and transfer_to_human by
		// name; this program supplies its own implementations of both.
		return engineSet{
			stages: []agent.Option{agent.WithSTT(eng.STT), agent.WithLLM(eng.LLM), agent.WithTTS(eng.TTS), agent.WithVAD(eng.VAD)},
			tts:    eng.TTS,
			close:  func() { _ = eng.Close() },
		}, nil
	}
	var opts []openai.Option
	for _, o := range []struct {
		v   string
		opt func(string) openai.Option
	}{
		{c.openAIBaseURL, openai.WithBaseURL}, {c.openAIKey, openai.WithAPIKey},
		{c.llmModel, openai.WithLLMModel}, {c.sttModel, openai.WithSTTModel},
		{c.ttsModel, openai.WithTTSModel}, {c.voice, openai.WithVoice},
	} {
		if o.v != "" {
			opts = append(opts, o.opt(o.v))
		}
	}
	cl, err := openai.New(opts...)
	if err != nil {
		return engineSet{}, err
	}
	return engineSet{
		stages: []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(offline.NewVAD)},
		tts:    cl,
		close:  cl.CloseIdleConnections,
	}, nil
}

// order is one row of the shop's order table; the field names are the
// ones the offline dialogue engine's replies use.
type order struct {
	ID        string `json:"order_id"`
	Status    string `json:"status"`
	Item      string `json:"item,omitempty"`
	Carrier   string `json:"carrier,omitempty"`
	Shipped   string `json:"shipped,omitempty"`
	ETA       string `json:"eta,omitempty"`
	Delivered string `json:"delivered,omitempty"`
}

// shop is the back office the tools reach: here an in-memory table; in a
// real deployment, your order database.
type shop struct {
	orders map[string]order
}

func newShop() *shop {
	return &shop{orders: map[string]order{
		"1234": {ID: "1234", Status: "shipped", Item: "trail running shoes", Carrier: "UPS", Shipped: "Tuesday", ETA: "Friday"},
		"5678": {ID: "5678", Status: "processing", Item: "rain jacket"},
		"4321": {ID: "4321", Status: "delivered", Item: "camping stove", Delivered: "Monday"},
	}}
}

// tools are the functions the model may call.
func (sh *shop) tools() []agent.Tool {
	return []agent.Tool{
		{
			Tool: pipeline.Tool{
				Name:        "lookup_order",
				Description: "Look up an order by its number and return its status, item, carrier and dates.",
				Parameters:  json.RawMessage(`{"type":"object","properties":{"order_id":{"type":"string","description":"The order number, digits only"}},"required":["order_id"]}`),
			},
			Func:    sh.lookupOrder,
			Timeout: 3 * time.Second,
		},
		{
			Tool: pipeline.Tool{
				Name:        "transfer_to_human",
				Description: "Hand the caller over to a human support agent.",
				Parameters:  json.RawMessage(`{"type":"object","properties":{"reason":{"type":"string","description":"Why the caller needs a person"}},"required":["reason"]}`),
			},
			Func: func(_ context.Context, args json.RawMessage) (string, error) {
				var a struct {
					Reason string `json:"reason"`
				}
				if json.Unmarshal(args, &a) != nil || a.Reason == "" {
					a.Reason = "the caller asked for a person"
				}
				return "", agent.Handoff(a.Reason)
			},
		},
	}
}

func (sh *shop) lookupOrder(_ context.Context, args json.RawMessage) (string, error) {
	var a struct {
		OrderID json.RawMessage `json:"order_id"`
	}
	if err := json.Unmarshal(args, &a); err != nil {
		return "", fmt.Errorf("lookup_order: %w", err)
	}
	// Models send the number as a string or a number, sometimes spaced.
	id := strings.NewReplacer(`"`, "", " ", "", "-", "").Replace(string(a.OrderID))
	o, ok := sh.orders[id]
	if !ok {
		o = order{ID: id, Status: "not_found"}
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// transfer redirects the live call to c.transferTo with Twilio's REST API:
// the call leaves the media stream and dials the number.
func transfer(start twilio.Start, c config) error {
	if c.twilioAuthToken == "" || start.AccountSid == "" {
		return errors.New("-transfer-to needs -twilio-auth-token and the call's account SID")
	}
	twiml := `<Response><Dial>` + xmlEscape(c.transferTo) + `</Dial></Response>`
	endpoint := "https://api.twilio.com/2010-04-01/Accounts/" + url.PathEscape(start.AccountSid) +
		"/Calls/" + url.PathEscape(start.CallSid) + ".json"
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(url.Values{"Twiml": {twiml}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(start.AccountSid, c.twilioAuthToken)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("twilio answered %s", resp.Status)
	}
	return nil
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
