package main

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/harkvoice/hark/agent/transport/twilio"
)

// streamCredentialTTL is how long the stream credential in a call's TwiML
// stays valid: Twilio opens the stream right after fetching the TwiML.
const streamCredentialTTL = 30 * time.Second

// twilioHandlers returns the voice webhook (TwiML) and the Media Streams
// handler. Each call's TwiML carries a credential for that call's stream
// only (twilio.StreamAuth), never the server's token; the stream URL comes
// from -public-url, never from the request. The webhook is guarded by
// Twilio's request signature when -twilio-auth-token is set, else by the
// server's token (give Twilio https://twilio:TOKEN@host/twilio/voice).
// Without -public-url the webhook answers 503.
func twilioHandlers(cfg config, log *slog.Logger, newSession twilio.NewSessionFunc) (http.Handler, *twilio.Handler, error) {
	secret := make([]byte, 32)
	if cfg.token != "" {
		// Derived, so that servers sharing the token accept each other's
		// credentials, and one-way, so that a credential reveals nothing.
		sum := sha256.Sum256([]byte("hark twilio stream credentials\x00" + cfg.token))
		secret = sum[:]
	} else if _, err := rand.Read(secret); err != nil {
		return nil, nil, err
	}
	auth, err := twilio.NewStreamAuth(secret, streamCredentialTTL)
	if err != nil {
		return nil, nil, err
	}
	stream, err := twilio.NewHandler(newSession, twilio.WithLogger(log), twilio.WithStreamAuth(auth),
		twilio.WithMaxSessions(cfg.limits.maxSessions))
	if err != nil {
		return nil, nil, err
	}
	if cfg.publicURL == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "Twilio calls need -public-url: the https:// URL Twilio reaches this server at", http.StatusServiceUnavailable)
		}), stream, nil
	}
	public := strings.TrimSuffix(cfg.publicURL, "/")
	u, err := url.Parse(public)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, fmt.Errorf("-public-url %q: want https://host[/path]", cfg.publicURL)
	}
	opts := []twilio.TwiMLOption{twilio.WithStreamCredentials(auth), twilio.WithStreamURL("wss://" + u.Host + u.Path + pathTwilioStream)}
	if cfg.twilioAuthToken != "" {
		opts = append(opts, twilio.WithSignatureValidation(cfg.twilioAuthToken, public+pathTwilioVoice))
	}
	voice, err := twilio.NewTwiMLHandler(opts...)
	if err != nil {
		return nil, nil, err
	}
	if cfg.twilioAuthToken == "" {
		voice = requireToken(cfg.token, voice)
	}
	return voice, stream, nil
}
