package openai

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// Defaults used when no option says otherwise.
const (
	DefaultBaseURL          = "https://api.openai.com/v1"
	DefaultLLMModel         = "gpt-4o-mini"
	DefaultSTTModel         = "whisper-1"
	DefaultTTSModel         = "tts-1"
	DefaultVoice            = "alloy"
	DefaultSpeechRate       = 24000
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 20 * time.Second
	DefaultIdleTimeout      = 10 * time.Second
	DefaultRetries          = 2
	DefaultInterruptedNote  = "[the user interrupted you here]"
)

// Client talks to an OpenAI-compatible server. It implements pipeline.STT,
// pipeline.LLM and pipeline.TTS and is safe for concurrent use.
type Client struct {
	api *goopenai.Client
	hc  *http.Client

	baseURL, apiKey              string
	llmModel, sttModel, ttsModel string
	voice                        string
	speechRate                   int
	speed                        float64
	instructions                 string
	sttFormat                    string
	temperature                  float32
	maxTokens                    int
	connect, firstByte, idle     time.Duration
	retries                      int
	backoff                      time.Duration
	interruptedNote              string
}

var (
	_ pipeline.STT = (*Client)(nil)
	_ pipeline.LLM = (*Client)(nil)
	_ pipeline.TTS = (*Client)(nil)
)

// Option configures a Client.
type Option func(*Client) error

// WithBaseURL sets the API base URL, such as "http://127.0.0.1:8080/v1" for
// llama-server or "http://localhost:11434/v1" for Ollama (default
// DefaultBaseURL).
func WithBaseURL(u string) Option {
	return func(c *Client) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%w: base URL %q", ErrInvalidOption, u)
		}
		c.baseURL = u
		return nil
	}
}

// WithAPIKey sets the bearer token sent with every request; servers that
// need none accept an empty key.
func WithAPIKey(key string) Option {
	return func(c *Client) error { c.apiKey = key; return nil }
}

// WithLLMModel sets the chat model (default DefaultLLMModel).
func WithLLMModel(model string) Option {
	return func(c *Client) error { return setString(&c.llmModel, "LLM model", model) }
}

// WithSTTModel sets the transcription model (default DefaultSTTModel).
func WithSTTModel(model string) Option {
	return func(c *Client) error { return setString(&c.sttModel, "STT model", model) }
}

// WithTTSModel sets the speech model (default DefaultTTSModel).
func WithTTSModel(model string) Option {
	return func(c *Client) error { return setString(&c.ttsModel, "TTS model", model) }
}

// WithVoice sets the voice used when a SpeechRequest names none (default
// DefaultVoice).
func WithVoice(voice string) Option {
	return func(c *Client) error { return setString(&c.voice, "voice", voice) }
}

func setString(field *string, what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidOption, what)
	}
	*field = v
	return nil
}

// WithSpeechRate sets the sample rate of the PCM the speech endpoint
// returns (default DefaultSpeechRate, as OpenAI sends).
func WithSpeechRate(rate int) Option {
	return func(c *Client) error {
		if (pcm.Format{Rate: rate, Channels: 1}).Validate() != nil {
			return fmt.Errorf("%w: speech rate %d", ErrInvalidOption, rate)
		}
		c.speechRate = rate
		return nil
	}
}

// WithSpeechSpeed sets the speaking rate, from 0.25 to 4 (default: the
// server's, 1); language learners may want 0.85.
func WithSpeechSpeed(speed float64) Option {
	return func(c *Client) error {
		if speed < 0.25 || speed > 4 {
			return fmt.Errorf("%w: speech speed %v", ErrInvalidOption, speed)
		}
		c.speed = speed
		return nil
	}
}

// WithSpeechInstructions sets how to speak ("warm and calm"); only some
// models, such as gpt-4o-mini-tts, follow instructions.
func WithSpeechInstructions(text string) Option {
	return func(c *Client) error { c.instructions = text; return nil }
}

// WithTranscriptionFormat sets the response_format of transcriptions:
// "verbose_json" (reports the language), "json" or "text". By default
// "json" is used for gpt-4o transcription models, which support nothing
// else, and "verbose_json" for the others.
func WithTranscriptionFormat(format string) Option {
	return func(c *Client) error {
		switch format {
		case "verbose_json", "json", "text":
			c.sttFormat = format
			return nil
		}
		return fmt.Errorf("%w: transcription format %q", ErrInvalidOption, format)
	}
}

// WithTemperature sets the sampling temperature of chat completions
// (default: the server's).
func WithTemperature(t float32) Option {
	return func(c *Client) error {
		if t < 0 || t > 2 {
			return fmt.Errorf("%w: temperature %v", ErrInvalidOption, t)
		}
		c.temperature = t
		return nil
	}
}

// WithMaxTokens caps the length of a chat reply (default: no cap).
func WithMaxTokens(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("%w: max tokens %d", ErrInvalidOption, n)
		}
		c.maxTokens = n
		return nil
	}
}

// WithHTTPClient sends requests through hc instead of a client of the
// package's own; WithConnectTimeout then has no effect.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("%w: nil HTTP client", ErrInvalidOption)
		}
		c.hc = hc
		return nil
	}
}

func durationOption(what string, d time.Duration, set func(*Client)) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("%w: %s %v", ErrInvalidOption, what, d)
		}
		set(c)
		return nil
	}
}

// WithConnectTimeout bounds making a connection, TLS included (default
// DefaultConnectTimeout).
func WithConnectTimeout(d time.Duration) Option {
	return durationOption("connect timeout", d, func(c *Client) { c.connect = d })
}

// WithFirstByteTimeout bounds the wait from sending a request to the first
// piece of the answer: the first chat delta, the first speech bytes, the
// whole transcription (default DefaultFirstByteTimeout).
func WithFirstByteTimeout(d time.Duration) Option {
	return durationOption("first-byte timeout", d, func(c *Client) { c.firstByte = d })
}

// WithIdleTimeout bounds the gap between two pieces of a streamed answer
// (default DefaultIdleTimeout).
func WithIdleTimeout(d time.Duration) Option {
	return durationOption("idle timeout", d, func(c *Client) { c.idle = d })
}

// WithRetries sets how many times a request is retried when no connection
// could be made (default DefaultRetries); requests that reached the server
// are never retried.
func WithRetries(n int) Option {
	return func(c *Client) error {
		if n < 0 {
			return fmt.Errorf("%w: retries %d", ErrInvalidOption, n)
		}
		c.retries = n
		return nil
	}
}

// WithInterruptedNote sets the text appended to an assistant message the
// user cut off, so the model knows its reply was not heard in full
// (default DefaultInterruptedNote).
func WithInterruptedNote(note string) Option {
	return func(c *Client) error { c.interruptedNote = note; return nil }
}

// New returns a Client. Without options it talks to OpenAI with no API key.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		baseURL: DefaultBaseURL, llmModel: DefaultLLMModel, sttModel: DefaultSTTModel,
		ttsModel: DefaultTTSModel, voice: DefaultVoice, speechRate: DefaultSpeechRate,
		connect: DefaultConnectTimeout, firstByte: DefaultFirstByteTimeout, idle: DefaultIdleTimeout,
		retries: DefaultRetries, backoff: 100 * time.Millisecond, interruptedNote: DefaultInterruptedNote,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.hc == nil {
		dialer := &net.Dialer{Timeout: c.connect, KeepAlive: 30 * time.Second}
		c.hc = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: c.connect,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	cfg := goopenai.DefaultConfig(c.apiKey)
	cfg.BaseURL = c.baseURL
	cfg.HTTPClient = &retryDoer{hc: c.hc, retries: c.retries, backoff: c.backoff}
	c.api = goopenai.NewClientWithConfig(cfg)
	return c, nil
}

// CloseIdleConnections closes the connections kept open for reuse.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// retryDoer retries a request whose connection could not be made.
type retryDoer struct {
	hc      *http.Client
	retries int
	backoff time.Duration
}

// Do sends req, retrying dial failures with a growing pause.
func (d *retryDoer) Do(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := d.hc.Do(req)
		if err == nil || attempt >= d.retries || !isDialError(err) || req.Context().Err() != nil {
			return resp, err
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return resp, err
			}
			body, berr := req.GetBody()
			if berr != nil {
				return resp, err
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		t := time.NewTimer(d.backoff << attempt)
		select {
		case <-req.Context().Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// watchdog cancels a request that waits too long for the next piece of its
// answer.
type watchdog struct {
	timer  *time.Timer
	cancel context.CancelCauseFunc
	idle   time.Duration
}

// watch derives a context that the returned watchdog cancels when first
// passes before the first call to progress, or idle between later calls.
func (c *Client) watch(parent context.Context) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{cancel: cancel, idle: c.idle}
	w.timer = time.AfterFunc(c.firstByte, func() { cancel(errStalled) })
	return ctx, w
}

// progress restarts the idle countdown.
func (w *watchdog) progress() { w.expire(w.idle) }

// expire makes the watchdog fire after d unless progress is called.
func (w *watchdog) expire(d time.Duration) { w.timer.Reset(d) }

// stop ends the watch and releases the context.
func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(nil)
}
