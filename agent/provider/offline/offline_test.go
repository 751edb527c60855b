package offline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/dialogue"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/sphinx"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if engines != nil {
		engines.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func tools(t *testing.T, demo *offline.Demo) map[string]agent.Tool {
	t.Helper()
	e, err := dialogue.New()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]agent.Tool{}
	for _, tool := range demo.Tools(e) {
		if tool.Description == "" || tool.Func == nil {
			t.Errorf("tool %s incomplete", tool.Name)
		}
		out[tool.Name] = tool
	}
	if len(out) != 7 {
		t.Errorf("%d tools, want 7", len(out))
	}
	return out
}

func TestDemoTools(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 4, 0, 0, time.UTC)
	demo := offline.NewDemo(offline.DemoOrders(), func() time.Time { return now })
	ts := tools(t, demo)
	run := func(name, args string) (string, error) {
		return ts[name].Func(context.Background(), json.RawMessage(args))
	}
	for _, tc := range []struct{ name, args, want string }{
		{"lookup_order", `{"order_id":"1234"}`, `{"order_id":"1234","status":"shipped","item":"running shoes","carrier":"UPS","shipped":"Tuesday","eta":"Friday"}`},
		{"lookup_order", `{"order_id":5678}`, `{"order_id":"5678","status":"processing","item":"coffee grinder"}`},
		{"lookup_order", `{"order_id":"999"}`, `{"order_id":"999","status":"not_found"}`},
		{"get_time", `{}`, `{"date":"November 25","time":"3:04 PM","weekday":"Wednesday"}`},
		{"list_timers", `{}`, `{"count":0}`},
		{"set_timer", `{"seconds":300}`, `{"ends":"3:09 PM","id":1,"seconds":300}`},
		{"set_timer", `{"seconds":90}`, `{"ends":"3:05 PM","id":2,"seconds":90}`},
		{"list_timers", `{}`, `{"count":2,"left":"1 minute 30 seconds"}`},
		{"cancel_timers", `{}`, `{"cancelled":2}`},
		{"set_lights", `{"room":"kitchen","state":"on"}`, `{"room":"kitchen","state":"on"}`},
	} {
		got, err := run(tc.name, tc.args)
		if err != nil || got != tc.want {
			t.Errorf("%s(%s) = %s, %v; want %s", tc.name, tc.args, got, err, tc.want)
		}
	}
	if l := demo.Lights(); !l["kitchen"] || l["bedroom"] {
		t.Errorf("lights %v, want the kitchen on", l)
	}
	if _, err := run("set_lights", `{"room":"all","state":"off"}`); err != nil || demo.Lights()["kitchen"] {
		t.Errorf("all off: %v %v", err, demo.Lights())
	}
	for _, bad := range []struct{ name, args string }{
		{"set_lights", `{"room":"garage","state":"on"}`},
		{"set_lights", `{"room":"kitchen","state":"dim"}`},
		{"set_timer", `{"seconds":-5}`},
		{"set_timer", `not json`},
		{"lookup_order", `[]`},
	} {
		if _, err := run(bad.name, bad.args); err == nil {
			t.Errorf("%s(%s): no error", bad.name, bad.args)
		}
	}
	_, err := run("transfer_to_human", `{"reason":"billing dispute"}`)
	var h *agent.HandoffError
	if !errors.As(err, &h) || h.Reason != "billing dispute" {
		t.Errorf("transfer: %v, want a handoff", err)
	}
}

func TestSpeechRoutes(t *testing.T) {
	s, err := offline.NewSpeech()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  pipeline.SpeechRequest
		rate int
	}{
		{pipeline.SpeechRequest{Text: "Hello there."}, 16000},
		{pipeline.SpeechRequest{Text: "Hello there.", Language: "en-GB"}, 16000},
		{pipeline.SpeechRequest{Text: "Hallo zusammen.", Language: "de"}, 22050},
		{pipeline.SpeechRequest{Text: "Hello there.", Voice: "awb", Language: "de"}, 16000},
		{pipeline.SpeechRequest{Text: "Hola.", Voice: "es"}, 22050},
	} {
		var format pcm.Format
		var n int
		for fr, err := range s.Synthesize(context.Background(), tc.req) {
			if err != nil {
				t.Fatal(err)
			}
			format = fr.Format
			n += len(fr.Samples)
		}
		if format.Rate != tc.rate || n == 0 {
			t.Errorf("%+v: %d samples at %s, want %d Hz", tc.req, n, format, tc.rate)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []offline.Option{
		offline.WithDomains(), offline.WithClock(nil), offline.WithBias(1), offline.WithBias(-0.1), offline.WithVoice("hal"),
	} {
		if _, err := offline.New(o); !errors.Is(err, offline.ErrOption) {
			t.Errorf("bad option: %v, want ErrOption", err)
		}
	}
	speaker, err := dialogue.BuiltinDomain("smart-speaker")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := offline.New(offline.WithDomains(speaker), offline.WithBias(0), offline.WithVoice("rms"),
		offline.WithOrders(map[string]offline.Order{}))
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if n := len(eng.Tools); n != 5 {
		t.Errorf("%d tools for the smart speaker, want 5", n)
	}
	if n := len(eng.SessionOptions()); n != 5 {
		t.Errorf("%d session options, want 5", n)
	}
	m, err := eng.VAD()
	if err != nil || m.Rate() != 16000 {
		t.Errorf("VAD: %v, %v", m, err)
	}
}

func TestDomainWithoutEnglishExamples(t *testing.T) {
	d, err := dialogue.LoadDomain(strings.NewReader(`{"name": "es-only", "language": "es",
		"fallback": {"es": "¿Perdón?"},
		"intents": [{"name": "hola", "examples": {"es": ["hola"]}, "reply": [{"text": {"es": "¡Hola!"}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := offline.New(offline.WithDomains(d), offline.WithRecognizer(sphinx.WithDecoders(1)))
	if err != nil {
		t.Fatalf("no English phrases to bias with: %v", err)
	}
	eng.Close()
}
