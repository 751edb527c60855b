package openaitest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func post(t *testing.T, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestChatStreamWire(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(openaitest.ChatReply{Deltas: []string{"Hi"}, ToolCalls: []openaitest.ToolCall{{Name: "f", Arguments: `{"a":1}`}}, FragmentSize: 4})
	resp, body := post(t, srv.URL+"/chat/completions", "application/json", `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	// role+text, tool head, 2 argument fragments, finish, [DONE]
	if len(events) != 6 || events[5] != "data: [DONE]" {
		t.Fatalf("events %q", events)
	}
	for _, want := range []string{`"delta":{"role":"assistant","content":"Hi"},"finish_reason":null`, `"id":"call_0","type":"function","function":{"name":"f","arguments":""}`, `{"index":0,"function":{"arguments":"{\"a\""}}`, `"arguments":":1}"`, `"finish_reason":"tool_calls"`} {
		if !strings.Contains(body, want) {
			t.Errorf("stream lacks %s:\n%s", want, body)
		}
	}
}

func TestChatWhole(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(openaitest.Text("Hello there."))
	_, body := post(t, srv.URL+"/chat/completions", "application/json", `{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	var got struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Choices) != 1 || got.Choices[0].Message.Content != "Hello there." || got.Choices[0].FinishReason != "stop" {
		t.Fatalf("%v: %s", err, body)
	}
}

func TestErrorsAndRecording(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{"/models", `{}`, 404},
		{"/chat/completions", `not json`, 400},
		{"/audio/speech", `{`, 400},
		{"/audio/transcriptions", `x`, 400},
	} {
		resp, body := post(t, srv.URL+tt.path, "application/json", tt.body)
		if resp.StatusCode != tt.status || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s", tt.path, resp.StatusCode, body)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 4 || reqs[0].Path != "/v1/models" || string(reqs[1].Body) != "not json" || reqs[1].Chat != nil {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestCloseEndsDelayedAnswers(t *testing.T) {
	srv := openaitest.NewServer()
	srv.Chat(openaitest.ChatReply{Deltas: []string{"late"}, Fault: openaitest.Fault{FirstByteDelay: time.Hour}})
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(`{"stream":true}`))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close() // must not wait for the hour
	<-errc
	srv.Close() // idempotent
}

// The fake server answers at once with default replies; queue replies to
// script a conversation, with faults where a test needs them.
func Example() {
	srv := openaitest.NewServer()
	defer srv.Close()
	srv.Chat(openaitest.Text("Sure, one moment."), openaitest.ChatReply{Fault: openaitest.Fault{Status: 503}})

	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		panic(err)
	}
	defer c.CloseIdleConnections()
	req := pipeline.Request{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "Book a table."}}}
	for range 3 {
		var text string
		for d, err := range c.Stream(context.Background(), req) {
			if err != nil {
				text = "error: " + err.Error()
				break
			}
			text += d.Text
		}
		fmt.Println(text)
	}
	fmt.Println(len(srv.Requests()), "requests, first from", srv.Requests()[0].Chat.Messages[0].Content)
	// Output:
	// Sure, one moment.
	// error: openai: HTTP 503: Service Unavailable
	// Hello! How can I help you today?
	// 3 requests, first from Book a table.
}

func TestConcurrentClients(t *testing.T) {
	srv := openaitest.NewServer()
	defer srv.Close()
	c, err := openai.New(openai.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	const n = 8
	errc := make(chan error, 2*n)
	for range n {
		go func() {
			_, err := collectText(c)
			errc <- err
		}()
		go func() {
			var err error
			for _, e := range c.Synthesize(context.Background(), pipeline.SpeechRequest{Text: "Hello there."}) {
				if e != nil {
					err = e
				}
			}
			errc <- err
		}()
	}
	for range 2 * n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if got := len(srv.Requests()); got != 2*n {
		t.Errorf("%d requests recorded, want %d", got, 2*n)
	}
}

func collectText(c *openai.Client) (string, error) {
	text := ""
	req := pipeline.Request{Messages: []pipeline.Message{{Role: pipeline.RoleUser, Content: "hi"}}}
	for d, err := range c.Stream(context.Background(), req) {
		if err != nil {
			return text, err
		}
		text += d.Text
	}
	return text, nil
}
