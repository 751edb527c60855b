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
	streamURL  string
	streamPath string
	params     []Parameter
	authToken  string
	publicURL  string
}

// Parameter is a <Parameter> of the <Stream>: Twilio passes it back in the
// start message's customParameters.
type Parameter struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// WithStreamURL sets the wss:// URL of the stream handler. Without it the
// URL is built from the request's host ("wss://HOST" + the stream path).
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

// WithStreamPath sets the path used with the request's host when no stream
// URL is set (default "/twilio/stream").
func WithStreamPath(path string) TwiMLOption {
	return func(c *twimlConfig) error {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("%w: stream path %q does not start with /", ErrOption, path)
		}
		c.streamPath = path
		return nil
	}
}

// WithParameter adds a custom parameter to the <Stream>.
func WithParameter(name, value string) TwiMLOption {
	return func(c *twimlConfig) error {
		if name == "" {
			return fmt.Errorf("%w: empty parameter name", ErrOption)
		}
		c.params = append(c.params, Parameter{Name: name, Value: value})
		return nil
	}
}

// WithTwiMLToken passes token to the stream as the "token" custom
// parameter, for the stream handler's WithToken.
func WithTwiMLToken(token string) TwiMLOption {
	return WithParameter(TokenParameter, token)
}

// WithSignatureValidation makes the handler check each webhook request's
// X-Twilio-Signature with the account's auth token, answering 403 when it
// does not match. publicURL is the webhook's URL as configured in Twilio
// (scheme and host as Twilio sees them, behind any proxy); empty means the
// request's own URL with scheme https.
func WithSignatureValidation(authToken, publicURL string) TwiMLOption {
	return func(c *twimlConfig) error {
		if authToken == "" {
			return fmt.Errorf("%w: empty auth token", ErrOption)
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
// TwiML that connects the call to a bidirectional Media Stream,
//
//	<Response><Connect><Stream url="wss://HOST/twilio/stream"/></Connect></Response>
//
// Point the phone number's voice webhook at it.
func NewTwiMLHandler(opts ...TwiMLOption) (http.Handler, error) {
	c := &twimlConfig{}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.streamPath == "" {
		c.streamPath = "/twilio/stream"
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
		if resp.Stream.URL == "" {
			resp.Stream.URL = "wss://" + r.Host + c.streamPath
		}
		resp.Stream.Params = c.params
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
	if u == "" {
		u = "https://" + r.Host + r.URL.RequestURI()
	} else if r.URL.RawQuery != "" && !strings.Contains(u, "?") {
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
