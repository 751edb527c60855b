package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// TwiMLOption configures a TwiML handler.
type TwiMLOption func(*twimlConfig) error

type twimlConfig struct {
	streamURL string
	params    []Parameter
	auth      *StreamAuth
	authToken string
	publicURL string
}

// Parameter is a <Parameter> of the <Stream>: Twilio passes it back in the
// start message's customParameters.
type Parameter struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// WithStreamURL sets the wss:// URL of the stream handler, as Twilio
// reaches it (required: the URL never comes from the request, whose Host
// header the caller chooses).
func WithStreamURL(u string) TwiMLOption {
	return func(c *twimlConfig) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "wss" && p.Scheme != "ws") || p.Host == "" {
			return fmt.Errorf("%w: stream URL %q is not a ws:// or wss:// URL", ErrOption, u)
		}
		c.streamURL = u
		return nil
	}
}

// WithParameter adds a custom parameter to the <Stream>. Anyone who can
// fetch the TwiML can read it: never pass a secret this way.
func WithParameter(name, value string) TwiMLOption {
	return func(c *twimlConfig) error {
		if name == "" || name == TokenParameter {
			return fmt.Errorf("%w: parameter name %q (empty, or the credential's)", ErrOption, name)
		}
		c.params = append(c.params, Parameter{Name: name, Value: value})
		return nil
	}
}

// WithStreamCredentials gives each call's <Stream> a credential from a,
// bound to the call's CallSid, in the parameter "token"; the stream
// handler checks it with WithStreamAuth(a). A request without a CallSid
// (not from Twilio) is answered 400.
func WithStreamCredentials(a *StreamAuth) TwiMLOption {
	return func(c *twimlConfig) error {
		if a == nil {
			return fmt.Errorf("%w: nil StreamAuth", ErrOption)
		}
		c.auth = a
		return nil
	}
}

// WithSignatureValidation makes the handler check each webhook request's
// X-Twilio-Signature with the account's auth token, answering 403 when it
// does not match. publicURL is the webhook's URL as configured in Twilio
// (scheme and host as Twilio sees them, behind any proxy), required.
func WithSignatureValidation(authToken, publicURL string) TwiMLOption {
	return func(c *twimlConfig) error {
		if authToken == "" {
			return fmt.Errorf("%w: empty auth token", ErrOption)
		}
		if p, err := url.Parse(publicURL); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return fmt.Errorf("%w: webhook URL %q is not an http(s) URL", ErrOption, publicURL)
		}
		c.authToken, c.publicURL = authToken, publicURL
		return nil
	}
}

type twimlResponse struct {
	XMLName xml.Name `xml:"Response"`
	Stream  struct {
		URL    string      `xml:"url,attr"`
		Params []Parameter `xml:"Parameter"`
	} `xml:"Connect>Stream"`
}

// NewTwiMLHandler returns the webhook for incoming calls: it answers with
// TwiML that connects the call to a bidirectional Media Stream at the
// stream URL (WithStreamURL, required),
//
//	<Response><Connect><Stream url="wss://host/twilio/stream"/></Connect></Response>
//
// Point the phone number's voice webhook at it.
func NewTwiMLHandler(opts ...TwiMLOption) (http.Handler, error) {
	c := &twimlConfig{}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.streamURL == "" {
		return nil, fmt.Errorf("%w: no stream URL (WithStreamURL)", ErrOption)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.authToken != "" {
			if err := c.validate(r); err != nil {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		var resp twimlResponse
		resp.Stream.URL = c.streamURL
		if c.auth != nil {
			call := r.FormValue("CallSid")
			if call == "" {
				http.Error(w, "no CallSid: not a Twilio voice webhook request", http.StatusBadRequest)
				return
			}
			resp.Stream.Params = append(resp.Stream.Params, Parameter{Name: TokenParameter, Value: c.auth.Issue(call)})
		}
		resp.Stream.Params = append(resp.Stream.Params, c.params...)
		body, err := xml.Marshal(resp)
		if err != nil {
			http.Error(w, "twiml: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write([]byte(xml.Header))
		_, _ = w.Write(body)
	}), nil
}

// validate checks X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL +
// the POST parameters sorted by name, each name followed by its value)).
func (c *twimlConfig) validate(r *http.Request) error {
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Twilio-Signature"))
	if err != nil || len(got) == 0 {
		return ErrUnauthorized
	}
	u := c.publicURL
	if r.URL.RawQuery != "" && !strings.Contains(u, "?") {
		u += "?" + r.URL.RawQuery
	}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			return ErrUnauthorized
		}
	}
	if subtle.ConstantTimeCompare(got, Signature(c.authToken, u, r.PostForm)) != 1 {
		return ErrUnauthorized
	}
	return nil
}

// Signature computes the X-Twilio-Signature of a webhook request to rawURL
// with the given POST form (nil for GET), as raw HMAC-SHA1 bytes.
func Signature(authToken, rawURL string, form url.Values) []byte {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return mac.Sum(nil)
}
