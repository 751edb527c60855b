package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup starts a fake server and a client for it.
func setup(t *testing.T, opts ...openai.Option) (*openaitest.Server, *openai.Client) {
	t.Helper()
	srv := openaitest.NewServer()
	c, err := openai.New(append([]openai.Option{openai.WithBaseURL(srv.URL), openai.WithAPIKey("test-key")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.CloseIdleConnections()
		srv.Close()
	})
	return srv, c
}

// collect runs a chat stream to its end.
func collect(ctx context.Context, c *openai.Client, req pipeline.Request) (text string, calls []pipeline.ToolCall, err error) {
	for d, err := range c.Stream(ctx, req) {
		if err != nil {
			return text, calls, err
		}
		text += d.Text
		if d.ToolCall != nil {
			calls = append(calls, *d.ToolCall)
		}
	}
	return text, calls, nil
}

// speak runs a synthesis to its end.
func speak(ctx context.Context, c *openai.Client, text string) ([]pcm.Frame, error) {
	var frames []pcm.Frame
	for fr, err := range c.Synthesize(ctx, pipeline.SpeechRequest{Text: text}) {
		if err != nil {
			return frames, err
		}
		frames = append(frames, fr)
	}
	return frames, nil
}

var hello = pipeline.Request{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "hi"}}}

func TestStreamText(t *testing.T) {
	srv, c := setup(t, openai.WithLLMModel("llama-3"), openai.WithTemperature(0.5), openai.WithMaxTokens(100))
	srv.RequireAPIKey("test-key")
	srv.Chat(openaitest.Text("Hello there. How are you?"))
	var deltas []string
	for d, err := range c.Stream(context.Background(), hello) {
		if err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, d.Text)
	}
	if got := strings.Join(deltas, ""); got != "Hello there. How are you?" || len(deltas) != 5 {
		t.Fatalf("deltas %q", deltas)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Chat == nil {
		t.Fatalf("requests %+v", reqs)
	}
	r := reqs[0].Chat
	if r.Model != "llama-3" || !r.Stream || r.Temperature != 0.5 || r.MaxTokens != 100 {
		t.Errorf("request %+v", r)
	}
	if len(r.Messages) != 1 || r.Messages[0].Role != "user" || r.Messages[0].Content != "hi" {
		t.Errorf("messages %+v", r.Messages)
	}
	if got := reqs[0].Header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("Authorization %q", got)
	}
}

func TestMaxTokensField(t *testing.T) {
	srv, c := setup(t, openai.WithLLMModel("o4-mini"), openai.WithMaxTokens(64))
	if _, _, err := collect(context.Background(), c, hello); err != nil {
		t.Fatal(err)
	}
	if r := srv.Requests()[0].Chat; r.MaxCompletionTokens != 64 || r.MaxTokens != 0 {
		t.Fatalf("max_completion_tokens %d, max_tokens %d", r.MaxCompletionTokens, r.MaxTokens)
	}
}

func TestStreamToolCalls(t *testing.T) {
	srv, c := setup(t)
	srv.Chat(openaitest.ChatReply{
		Deltas: []string{"Let me check."},
		ToolCalls: []openaitest.ToolCall{
			{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
			{Name: "get_time", Arguments: `{"zone":"Europe/Paris"}`},
		},
		FragmentSize: 3,
	})
	schema := json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)
	req := hello
	req.Tools = []pipeline.Tool{{Name: "get_weather", Description: "Weather now", Parameters: schema}, {Name: "get_time"}}
	text, calls, err := collect(context.Background(), c, req)
	if err != nil {
		t.Fatal(err)
	}
	want := []pipeline.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
		{ID: "call_1", Name: "get_time", Arguments: `{"zone":"Europe/Paris"}`},
	}
	if text != "Let me check." || len(calls) != 2 || calls[0] != want[0] || calls[1] != want[1] {
		t.Fatalf("text %q calls %+v", text, calls)
	}
	tools := srv.Requests()[0].Chat.Tools
	if len(tools) != 2 || tools[0].Function.Name != "get_weather" || tools[0].Function.Description != "Weather now" {
		t.Fatalf("tools %+v", tools)
	}
	var wantSchema any
	if err := json.Unmarshal(schema, &wantSchema); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tools[0].Function.Parameters, wantSchema) {
		t.Errorf("schema %v", tools[0].Function.Parameters)
	}
	if got, _ := json.Marshal(tools[1].Function.Parameters); string(got) != `{"properties":{},"type":"object"}` {
		t.Errorf("empty schema %s", got)
	}
}

func TestStreamHistory(t *testing.T) {
	srv, c := setup(t)
	png := []byte("\x89PNG\r\n\x1a\n-fake-png")
	req := pipeline.Request{
		Language: "es-ES",
		Messages: []pipeline.Message{
			{Role: pipeline.RoleSystem, Content: "You are helpful."},
			{Role: pipeline.RoleUser, Content: "What is this?", Images: []pipeline.Image{{Data: png, MIMEType: "image/png"}, {Data: []byte("GIF89a...")}}},
			{Role: pipeline.RoleAssistant, Content: "It is a", Interrupted: true},
			{Role: pipeline.RoleAssistant, ToolCalls: []pipeline.ToolCall{{ID: "c1", Name: "lookup", Arguments: `{"q":"x"}`}}},
			{Role: pipeline.RoleTool, ToolCallID: "c1", Content: "sunny"},
		},
	}
	if _, _, err := collect(context.Background(), c, req); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Requests()[0].Chat.Messages
	if len(msgs) != 5 {
		t.Fatalf("messages %+v", msgs)
	}
	if !strings.HasPrefix(msgs[0].Content, "You are helpful.") || !strings.Contains(msgs[0].Content, "Spanish (es-ES)") {
		t.Errorf("system %q", msgs[0].Content)
	}
	parts := msgs[1].MultiContent
	if len(parts) != 3 || parts[0].Text != "What is this?" ||
		parts[1].ImageURL.URL != "data:image/png;base64,iVBORw0KGgotZmFrZS1wbmc=" ||
		!strings.HasPrefix(parts[2].ImageURL.URL, "data:image/gif;base64,") {
		t.Errorf("user parts %+v", parts)
	}
	if msgs[2].Content != "It is a "+openai.DefaultInterruptedNote {
		t.Errorf("interrupted %q", msgs[2].Content)
	}
	if tc := msgs[3].ToolCalls; len(tc) != 1 || tc[0].ID != "c1" || tc[0].Function.Name != "lookup" || tc[0].Function.Arguments != `{"q":"x"}` {
		t.Errorf("assistant tool calls %+v", tc)
	}
	if msgs[4].Role != "tool" || msgs[4].ToolCallID != "c1" || msgs[4].Content != "sunny" {
		t.Errorf("tool message %+v", msgs[4])
	}
}

func TestStreamLanguageWithoutSystem(t *testing.T) {
	srv, c := setup(t)
	req := hello
	req.Language = "zh"
	if _, _, err := collect(context.Background(), c, req); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Requests()[0].Chat.Messages
	if len(msgs) != 2 || msgs[0].Role != "system" || msgs[0].Content != "Reply in Chinese (zh)." {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestStreamInvalidRequest(t *testing.T) {
	srv, c := setup(t)
	for name, req := range map[string]pipeline.Request{
		"role":      {Messages: []pipeline.Message{{Role: "robot", Content: "x"}}},
		"image":     {Messages: []pipeline.Message{{Role: pipeline.RoleUser, Images: []pipeline.Image{{}}}}},
		"tool id":   {Messages: []pipeline.Message{{Role: pipeline.RoleTool, Content: "x"}}},
		"tool name": {Messages: hello.Messages, Tools: []pipeline.Tool{{}}},
		"schema":    {Messages: hello.Messages, Tools: []pipeline.Tool{{Name: "f", Parameters: json.RawMessage("{")}}},
	} {
		if _, _, err := collect(context.Background(), c, req); !errors.Is(err, openai.ErrInvalidRequest) {
			t.Errorf("%s: err %v, want ErrInvalidRequest", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// each runs op once per API method: chat, transcription, speech.
var methods = []struct {
	name string
	op   func(ctx context.Context, c *openai.Client) error
}{
	{"chat", func(ctx context.Context, c *openai.Client) error { _, _, err := collect(ctx, c, hello); return err }},
	{"transcription", func(ctx context.Context, c *openai.Client) error {
		_, err := c.Transcribe(ctx, pcm.Frame{Samples: make([]int16, 1600), Format: pcm.Mono16k}, "")
		return err
	}},
	{"speech", func(ctx context.Context, c *openai.Client) error { _, err := speak(ctx, c, "Hello there."); return err }},
}

// script queues the same fault for whichever method runs next.
func script(srv *openaitest.Server, f openaitest.Fault) {
	srv.Chat(openaitest.ChatReply{Deltas: []string{"a ", "b ", "c ", "d"}, Fault: f})
	srv.Transcription(openaitest.TranscriptionReply{Text: "hi", Fault: f})
	srv.Speech(openaitest.SpeechReply{Audio: openaitest.Tone(200 * time.Millisecond), Fault: f})
}

func TestServerError(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			srv, c := setup(t)
			script(srv, openaitest.Fault{Status: 503, Message: "overloaded"})
			err := m.op(context.Background(), c)
			var apiErr *openai.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Message != "overloaded" || apiErr.Type != "server_error" {
				t.Fatalf("err %v, want *APIError 503", err)
			}
			if apiErr.Unwrap() == nil {
				t.Error("APIError unwraps to nil")
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no retry after sending)", n)
			}
		})
	}
}

func TestUnauthorized(t *testing.T) {
	srv, c := setup(t)
	srv.RequireAPIKey("other")
	srv.Chat(openaitest.Text("queued"))
	_, _, err := collect(context.Background(), c, hello)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err %v, want 401", err)
	}
	// The rejected request left the scripted reply for the next one.
	srv.RequireAPIKey("test-key")
	if text, _, err := collect(context.Background(), c, hello); err != nil || text != "queued" {
		t.Fatalf("after the key fix: %q, %v", text, err)
	}
}

func TestFirstByteTimeout(t *testing.T) {
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			srv, c := setup(t, openai.WithFirstByteTimeout(50*time.Millisecond))
			script(srv, openaitest.Fault{FirstByteDelay: 5 * time.Second})
			if err := m.op(context.Background(), c); !errors.Is(err, openai.ErrTimeout) {
				t.Fatalf("err %v, want ErrTimeout", err)
			}
		})
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, m := range []int{0, 2} { // chat, speech
		t.Run(methods[m].name, func(t *testing.T) {
			srv, c := setup(t, openai.WithIdleTimeout(50*time.Millisecond))
			script(srv, openaitest.Fault{ChunkDelay: 5 * time.Second})
			if err := methods[m].op(context.Background(), c); !errors.Is(err, openai.ErrTimeout) {
				t.Fatalf("err %v, want ErrTimeout", err)
			}
		})
	}
}

func TestStreamBroken(t *testing.T) {
	for _, m := range methods {
		for _, after := range []int{0, 2} {
			if after > 0 && m.name == "transcription" {
				continue // answered in one chunk
			}
			t.Run(m.name, func(t *testing.T) {
				srv, c := setup(t)
				script(srv, openaitest.Fault{Drop: true, DropAfter: after})
				if err := m.op(context.Background(), c); !errors.Is(err, openai.ErrStreamBroken) {
					t.Fatalf("drop after %d chunks: err %v, want ErrStreamBroken", after, err)
				}
				if n := len(srv.Requests()); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

func TestErrorEvent(t *testing.T) {
	srv, c := setup(t)
	srv.Chat(openaitest.ChatReply{Deltas: []string{"a ", "b ", "c"}, Fault: openaitest.Fault{Drop: true, DropAfter: 1, ErrorEvent: true, Message: "model crashed"}})
	text, _, err := collect(context.Background(), c, hello)
	var apiErr *openai.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 0 || apiErr.Message != "model crashed" || text != "a " {
		t.Fatalf("text %q, err %v; want an error event after the first delta", text, err)
	}
}

func TestCancel(t *testing.T) {
	srv, c := setup(t)
	srv.Chat(openaitest.ChatReply{Deltas: []string{"one ", "two"}, Fault: openaitest.Fault{ChunkDelay: 10 * time.Second}})
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var got []string
	var err error
	for d, e := range c.Stream(ctx, hello) {
		if e != nil {
			err = e
			break
		}
		got = append(got, d.Text)
		cancel(pipeline.ErrInterrupted) // the user barged in
	}
	if !errors.Is(err, pipeline.ErrInterrupted) || len(got) != 1 {
		t.Fatalf("got %q, err %v; want one delta then ErrInterrupted", got, err)
	}

	// Speech too; and a consumer that stops early leaves nothing behind.
	srv.Speech(openaitest.SpeechReply{Audio: openaitest.Tone(time.Second), Fault: openaitest.Fault{ChunkDelay: 10 * time.Second}})
	ctx, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for _, e := range c.Synthesize(ctx, pipeline.SpeechRequest{Text: "hi"}) {
		if e != nil {
			t.Fatal(e)
		}
		break
	}
	ctx, cancel3 := context.WithCancel(context.Background())
	cancel3()
	if _, err := c.Transcribe(ctx, pcm.Frame{Samples: make([]int16, 160), Format: pcm.Mono16k}, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("transcribe after cancel: %v", err)
	}
}

func TestSynthesize(t *testing.T) {
	srv, c := setup(t, openai.WithTTSModel("gpt-4o-mini-tts"), openai.WithVoice("nova"),
		openai.WithSpeechSpeed(0.85), openai.WithSpeechInstructions("Calm."))
	audio := make([]int16, 1234)
	for i := range audio {
		audio[i] = int16(i*37 - 20000)
	}
	srv.Speech(openaitest.SpeechReply{Audio: audio, ChunkBytes: 333})
	frames, err := speak(context.Background(), c, "Hello there.")
	if err != nil {
		t.Fatal(err)
	}
	var got []int16
	for i, fr := range frames {
		if fr.Format != pcm.Mono24k {
			t.Fatalf("frame %d format %v", i, fr.Format)
		}
		if i < len(frames)-1 && len(fr.Samples) != 480 {
			t.Errorf("frame %d has %d samples, want 480", i, len(fr.Samples))
		}
		if want := pcm.Mono24k.Duration(len(got)); fr.Timestamp != want {
			t.Errorf("frame %d timestamp %v, want %v", i, fr.Timestamp, want)
		}
		got = append(got, fr.Samples...)
	}
	if len(got) != len(audio) {
		t.Fatalf("%d samples, want %d", len(got), len(audio))
	}
	for i := range audio {
		if got[i] != audio[i] {
			t.Fatalf("sample %d = %d, want %d", i, got[i], audio[i])
		}
	}
	sp := srv.Requests()[0].Speech
	if sp.Model != "gpt-4o-mini-tts" || sp.Voice != "nova" || sp.ResponseFormat != "pcm" || sp.Input != "Hello there." ||
		sp.Speed != 0.85 || sp.Instructions != "Calm." {
		t.Errorf("request %+v", sp)
	}
	// A voice in the request wins; blank text sends nothing.
	for range c.Synthesize(context.Background(), pipeline.SpeechRequest{Text: "Hi.", Voice: "echo"}) {
	}
	for range c.Synthesize(context.Background(), pipeline.SpeechRequest{Text: "  "}) {
		t.Fatal("blank text yielded audio")
	}
	if reqs := srv.Requests(); len(reqs) != 2 || reqs[1].Speech.Voice != "echo" {
		t.Errorf("requests %+v", reqs)
	}
	// A request's speed scales the client's, within the API's range.
	for _, tc := range []struct{ speed, want float64 }{{0.9, 0.765}, {0.1, 0.25}, {1, 0.85}} {
		srv.Speech(openaitest.SpeechReply{Audio: audio})
		for range c.Synthesize(context.Background(), pipeline.SpeechRequest{Text: "Sorry.", Speed: tc.speed}) {
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Speech.Speed; math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("speed %v: sent %v, want %v", tc.speed, got, tc.want)
		}
	}
}

func TestTranscribe(t *testing.T) {
	tests := []struct {
		name       string
		opts       []openai.Option
		hint       string
		reply      openaitest.TranscriptionReply
		wantFormat string
		wantLang   string // sent
		want       pipeline.Transcript
	}{
		{
			name: "detected language", reply: openaitest.TranscriptionReply{Text: " ¿Dónde está? ", Language: "spanish"},
			wantFormat: "verbose_json", want: pipeline.Transcript{Text: "¿Dónde está?", Language: "es", Final: true},
		},
		{
			name: "hint", hint: "zh-CN", reply: openaitest.TranscriptionReply{Text: "你好"},
			wantFormat: "verbose_json", wantLang: "zh", want: pipeline.Transcript{Text: "你好", Language: "zh-CN", Final: true},
		},
		{
			name: "gpt-4o model", opts: []openai.Option{openai.WithSTTModel("gpt-4o-mini-transcribe")},
			hint: "en", reply: openaitest.TranscriptionReply{Text: "hello", Language: "french"},
			wantFormat: "json", wantLang: "en", want: pipeline.Transcript{Text: "hello", Language: "en", Final: true},
		},
		{
			name: "text format", opts: []openai.Option{openai.WithTranscriptionFormat("text")},
			reply:      openaitest.TranscriptionReply{Text: "plain words"},
			wantFormat: "text", want: pipeline.Transcript{Text: "plain words", Final: true},
		},
	}
	audio := pcm.Frame{Samples: make([]int16, 8000), Format: pcm.Mono16k}
	for i := range audio.Samples {
		audio.Samples[i] = int16(i % 300)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, tt.opts...)
			srv.Transcription(tt.reply)
			got, err := c.Transcribe(context.Background(), audio, tt.hint)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("transcript %+v, want %+v", got, tt.want)
			}
			tr := srv.Requests()[0].Transcription
			if tr == nil || tr.ResponseFormat != tt.wantFormat || tr.Language != tt.wantLang || tr.FileName != "audio.wav" {
				t.Fatalf("request %+v", tr)
			}
			fr, err := wav.Read(bytes.NewReader(tr.File))
			if err != nil || fr.Format != pcm.Mono16k || len(fr.Samples) != len(audio.Samples) || fr.Samples[299] != 299 {
				t.Errorf("uploaded WAV: %v, %v, %d samples", err, fr.Format, len(fr.Samples))
			}
		})
	}
}

func TestTranscribeEmpty(t *testing.T) {
	srv, c := setup(t)
	got, err := c.Transcribe(context.Background(), pcm.Frame{Format: pcm.Mono16k}, "en")
	if err != nil || got.Text != "" || !got.Final || got.Language != "en" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := c.Transcribe(context.Background(), pcm.Frame{Samples: []int16{1}}, ""); !errors.Is(err, openai.ErrInvalidRequest) {
		t.Fatalf("bad format: %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// flakyDialer fails its first n dials like a refused connection.
type flakyDialer struct {
	fail  int32
	dials atomic.Int32
}

func (d *flakyDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.dials.Add(1) <= d.fail {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

func TestRetryOnConnectError(t *testing.T) {
	for _, tt := range []struct {
		fail, retries int32
		ok            bool
	}{{fail: 2, retries: 2, ok: true}, {fail: 2, retries: 1, ok: false}} {
		d := &flakyDialer{fail: tt.fail}
		hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		srv, c := setup(t, openai.WithHTTPClient(hc), openai.WithRetries(int(tt.retries)))
		text, _, err := collect(context.Background(), c, hello)
		if tt.ok && (err != nil || text == "") {
			t.Errorf("fail %d retries %d: %q, %v", tt.fail, tt.retries, text, err)
		}
		if !tt.ok && !errors.Is(err, openai.ErrConnect) {
			t.Errorf("fail %d retries %d: err %v, want ErrConnect", tt.fail, tt.retries, err)
		}
		if got, want := d.dials.Load(), min(tt.fail, tt.retries)+1; got != want {
			t.Errorf("%d dials, want %d", got, want)
		}
		if n, want := len(srv.Requests()), map[bool]int{true: 1, false: 0}[tt.ok]; n != want {
			t.Errorf("%d requests reached the server, want %d", n, want)
		}
		hc.CloseIdleConnections()
	}
}

func TestConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := openai.New(openai.WithBaseURL("http://"+addr+"/v1"), openai.WithRetries(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range methods {
		if err := m.op(context.Background(), c); !errors.Is(err, openai.ErrConnect) {
			t.Errorf("%s: err %v, want ErrConnect", m.name, err)
		}
	}
}

func TestOptions(t *testing.T) {
	for name, opt := range map[string]openai.Option{
		"url":         openai.WithBaseURL("ftp://x"),
		"url parse":   openai.WithBaseURL("http://[::1"),
		"model":       openai.WithLLMModel(""),
		"stt":         openai.WithSTTModel(""),
		"tts":         openai.WithTTSModel(""),
		"voice":       openai.WithVoice(""),
		"rate":        openai.WithSpeechRate(0),
		"format":      openai.WithTranscriptionFormat("srt"),
		"temperature": openai.WithTemperature(3),
		"max tokens":  openai.WithMaxTokens(-1),
		"http":        openai.WithHTTPClient(nil),
		"connect":     openai.WithConnectTimeout(0),
		"first byte":  openai.WithFirstByteTimeout(-time.Second),
		"idle":        openai.WithIdleTimeout(0),
		"retries":     openai.WithRetries(-1),
		"speed":       openai.WithSpeechSpeed(5),
	} {
		if _, err := openai.New(opt); !errors.Is(err, openai.ErrInvalidOption) {
			t.Errorf("%s: err %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := openai.New(nil, openai.WithSpeechRate(22050), openai.WithConnectTimeout(time.Second), openai.WithInterruptedNote("")); err != nil {
		t.Errorf("valid options: %v", err)
	}
}

func BenchmarkStream(b *testing.B) {
	srv := openaitest.NewServer()
	defer srv.Close()
	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var first time.Duration
	for b.Loop() {
		start := time.Now()
		seen := false
		for _, err := range c.Stream(context.Background(), hello) {
			if err != nil {
				b.Fatal(err)
			}
			if !seen {
				first += time.Since(start)
				seen = true
			}
		}
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N), "first-delta-µs")
}

func BenchmarkSynthesize(b *testing.B) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetDefaultSpeech(openaitest.SpeechReply{Audio: openaitest.Tone(time.Second)})
	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	for b.Loop() {
		if _, err := speak(context.Background(), c, "Hello."); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCancel measures how long a reply stream takes to end after its
// context is cancelled (the barge-in path), with the server mid-stream.
func BenchmarkCancel(b *testing.B) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.SetDefaultChat(openaitest.ChatReply{Deltas: []string{"one ", "two"}, Fault: openaitest.Fault{ChunkDelay: time.Minute}})
	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var total time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancelCause(context.Background())
		var start time.Time
		for _, err := range c.Stream(ctx, hello) {
			if err != nil {
				break
			}
			start = time.Now()
			cancel(pipeline.ErrInterrupted)
		}
		total += time.Since(start)
		cancel(nil)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "cancel-µs")
}

func TestStreamEndsWithoutDone(t *testing.T) {
	// A server that finishes the reply but is slow to send [DONE] must not
	// hold up the end of the sequence.
	srv, c := setup(t, openai.WithIdleTimeout(time.Hour))
	srv.Chat(openaitest.ChatReply{Fault: openaitest.Fault{ChunkDelay: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := collect(ctx, c, hello); err != nil || ctx.Err() != nil {
		t.Fatalf("err %v, context %v", err, ctx.Err())
	}
}

func TestSynthesizeChunkSizes(t *testing.T) {
	srv, c := setup(t)
	audio := openaitest.Tone(50 * time.Millisecond)
	for size := 1; size < 2600; size = size*3 + 1 {
		srv.Speech(openaitest.SpeechReply{Audio: audio, ChunkBytes: size})
		frames, err := speak(context.Background(), c, "x")
		if err != nil {
			t.Fatal(err)
		}
		var got []int16
		for _, fr := range frames {
			got = append(got, fr.Samples...)
		}
		if !reflect.DeepEqual(got, audio) {
			t.Fatalf("chunks of %d bytes: %d samples back, want %d identical", size, len(got), len(audio))
		}
	}
}

func TestTranscribeConfidence(t *testing.T) {
	// Whisper's verbose_json segments carry average log-probabilities.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"task":"transcribe","language":"german","duration":3,"text":"Guten Tag",` +
			`"segments":[{"start":0,"end":1,"avg_logprob":-0.1},{"start":1,"end":3,"avg_logprob":-0.4}]}`))
	}))
	defer srv.Close()
	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	got, err := c.Transcribe(context.Background(), pcm.Frame{Samples: make([]int16, 16000), Format: pcm.Mono16k}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := float32(math.Exp((-0.1*1 - 0.4*2) / 3))
	if got.Text != "Guten Tag" || got.Language != "de" || math.Abs(float64(got.Confidence-want)) > 1e-6 {
		t.Fatalf("got %+v, want confidence %v", got, want)
	}
}
