package twilio

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StreamAuth issues and checks stream credentials: one per call, valid for
// a short time and once, signed with HMAC-SHA256 under a server secret. The
// TwiML handler (WithStreamCredentials) puts a credential bound to the
// call's CallSid in the <Stream> parameter "token"; the stream handler
// (WithStreamAuth) accepts a stream only if its start message carries a
// credential for its callSid that has not expired or been used. No shared
// token ever appears in TwiML, so a TwiML response, fetched by anyone, opens
// at most the one stream of the call it names, for a few seconds.
type StreamAuth struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // credentials seen, until they expire
}

// credVersion prefixes every credential, so the format can change.
const credVersion = "v1"

// NewStreamAuth returns a StreamAuth whose credentials are signed with
// secret (at least 16 bytes; derive it from a configured secret, or take
// random bytes for a single server) and valid for ttl (Twilio opens the
// stream within a second or two of fetching the TwiML; 30 s is plenty).
func NewStreamAuth(secret []byte, ttl time.Duration) (*StreamAuth, error) {
	if len(secret) < 16 {
		return nil, fmt.Errorf("%w: stream secret of %d bytes (at least 16)", ErrOption, len(secret))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("%w: credential lifetime %v", ErrOption, ttl)
	}
	return &StreamAuth{key: append([]byte(nil), secret...), ttl: ttl, now: time.Now, used: map[string]time.Time{}}, nil
}

// Issue returns a credential for the stream of the call callSid.
func (a *StreamAuth) Issue(callSid string) string {
	exp := strconv.FormatInt(a.now().Add(a.ttl).Unix(), 10)
	return credVersion + "." + exp + "." + a.sign(callSid, exp)
}

// Check accepts cred for the stream of call callSid once, before it
// expires. Errors wrap ErrUnauthorized.
func (a *StreamAuth) Check(callSid, cred string) error {
	version, rest, _ := strings.Cut(cred, ".")
	exp, mac, _ := strings.Cut(rest, ".")
	if version != credVersion || callSid == "" {
		return fmt.Errorf("%w: no stream credential", ErrUnauthorized)
	}
	if !hmac.Equal([]byte(mac), []byte(a.sign(callSid, exp))) {
		return fmt.Errorf("%w: the stream credential is not for this call", ErrUnauthorized)
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	now := a.now()
	if err != nil || !now.Before(time.Unix(unix, 0)) {
		return fmt.Errorf("%w: the stream credential has expired", ErrUnauthorized)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for c, until := range a.used {
		if !now.Before(until) {
			delete(a.used, c)
		}
	}
	if _, ok := a.used[cred]; ok {
		return fmt.Errorf("%w: the stream credential was used already", ErrUnauthorized)
	}
	a.used[cred] = time.Unix(unix, 0)
	return nil
}

// sign returns the MAC of a call's credential with expiry exp.
func (a *StreamAuth) sign(callSid, exp string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(credVersion + "\x00" + callSid + "\x00" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
