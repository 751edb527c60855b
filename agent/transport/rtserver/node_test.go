package rtserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"iter"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad"
	"github.com/harkvoice/hark/vad/silero"
)

// nodeClients returns node and the node_modules folder of the npm clients
// that `make deps` installs (.ci/realtime-clients), or skips the test.
func nodeClients(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (make deps)")
	}
	cache := os.Getenv("HARK_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Skip("no HARK_CACHE and no home directory")
		}
		cache = filepath.Join(home, ".cache", "hark")
	}
	modules = filepath.Join(cache, "npm", "realtime-clients", "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@openai", "agents-realtime")); err != nil {
		t.Skipf("the Realtime npm clients are not installed in %s (make deps)", modules)
	}
	return node, modules
}

// runNode runs a script of testdata with the clients' modules and decodes
// the JSON object it prints into out.
func runNode(t *testing.T, ctx context.Context, env []string, out any, script string, args ...string) {
	t.Helper()
	node, modules := nodeClients(t)
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+modules, "NODE_NO_WARNINGS=1")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	line := stdout.Bytes()
	if i := bytes.LastIndexByte(bytes.TrimSpace(line), '\n'); i >= 0 {
		line = line[i+1:]
	}
	if jerr := json.Unmarshal(line, out); jerr != nil || err != nil {
		t.Fatalf("%s: %v; stdout:\n%s\nstderr:\n%s", script, err, stdout.Bytes(), stderr.Bytes())
	}
}

// pcm24File writes a speech clip of testdata/speech as raw 24 kHz 16-bit
// PCM and returns its path.
func pcm24File(t *testing.T, name string) string {
	t.Helper()
	fr, err := wav.ReadFile(filepath.Join("..", "..", "..", "testdata", "speech", name))
	if err != nil {
		t.Fatal(err)
	}
	fr, err = resample.Frame(fr, pcm.Format{Rate: 24000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2*len(fr.Samples))
	for i, s := range fr.Samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	path := filepath.Join(t.TempDir(), strings.TrimSuffix(name, ".wav")+".pcm")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sileroOrLevel returns Silero when its model is installed, else the level
// detector.
func sileroOrLevel(t *testing.T) func() (vad.Model, error) {
	w, err := silero.Load()
	if err != nil {
		t.Logf("Silero model not installed (%v): using the level detector", err)
		return agenttest.NewLevelModel()
	}
	return func() (vad.Model, error) { return w.NewModel(16000) }
}

// The conversation the client tests script.
const (
	firstQuestion = "where is my order one two three four"
	bargeIn       = "wait what does that mean"
	longReply     = "Thank you for waiting. Your order one two three four left our warehouse yesterday morning, " +
		"travelled overnight to the sorting centre, and is now on a van in your town, so it should reach your door " +
		"this afternoon before five, and the driver will ring the bell."
	explanation = "Okay, let me explain."
)

// shopLLM answers the scripted conversation: the long reply to the first
// question, the explanation to the barge-in, a get_weather call for a
// weather question and the tool's output once it is in.
type shopLLM struct {
	asked atomic.Bool // the first question was answered
	reqs  chan pipeline.Request
}

func newShopLLM() *shopLLM { return &shopLLM{reqs: make(chan pipeline.Request, 16)} }

func (m *shopLLM) Stream(ctx context.Context, req pipeline.Request) iter.Seq2[pipeline.Delta, error] {
	select {
	case m.reqs <- req:
	default:
	}
	last := req.Messages[len(req.Messages)-1]
	var reply []pipeline.Delta
	switch {
	case last.Role == pipeline.RoleTool:
		reply = agenttest.Text("The weather service says: " + last.Content)
	case strings.Contains(strings.ToLower(last.Content), "weather"):
		reply = []pipeline.Delta{agenttest.Call("call_weather", "get_weather", `{"city":"Paris"}`)}
	case strings.Contains(last.Content, "wait"):
		reply = agenttest.Text(explanation)
	default:
		m.asked.Store(true)
		reply = agenttest.Text(longReply)
	}
	return (&agenttest.LLM{Replies: [][]pipeline.Delta{reply}}).Stream(ctx, req)
}

// shopSTT hears the first question until it has been answered, then the
// barge-in.
func shopSTT(llm *shopLLM) *agenttest.STT {
	return &agenttest.STT{Fn: func(context.Context, pcm.Frame, string) (pipeline.Transcript, error) {
		if llm.asked.Load() {
			return pipeline.Transcript{Text: bargeIn, Final: true}, nil
		}
		return pipeline.Transcript{Text: firstQuestion, Final: true}, nil
	}}
}

// agentsResult is what agents_client.cjs prints.
type agentsResult struct {
	Events                  []string          `json:"events"`
	Errors                  []string          `json:"errors"`
	AudioBytes              map[string]int    `json:"audioBytes"`
	Transcripts             map[string]string `json:"transcripts"`
	ToolCalls               []string          `json:"toolCalls"`
	BargedItem              string            `json:"bargedItem"`
	BytesAtBargeIn          int               `json:"bytesAtBargeIn"`
	AudioAfterSpeechStarted int               `json:"audioAfterSpeechStarted"`
	BargedHistory           *string           `json:"bargedHistory"`
	History                 []struct {
		Type, Role, Status, Text, Name, Output string
	} `json:"history"`
	Failure string `json:"failure"`
}

// TestAgentsRealtimeClient runs the OpenAI Agents SDK's Realtime session
// (npm @openai/agents-realtime) against a Hark session over plain ws with a
// URL override: it speaks a WAV and hears the spoken reply with its
// transcript, barges in mid-reply (the client sends response.cancel and
// conversation.item.truncate, as it does with interrupt_response off), and
// makes a round trip through a client-side tool.
func TestAgentsRealtimeClient(t *testing.T) {
	nodeClients(t)
	llm := newShopLLM()
	s := newServerWith(t, func(c *Conn) []agent.Option {
		return []agent.Option{agent.WithSTT(shopSTT(llm)), agent.WithLLM(c.LLM(llm)),
			agent.WithTTS(c.TTS(&agenttest.TTS{Format: formatPCM24k})), agent.WithVAD(sileroOrLevel(t))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var res agentsResult
	runNode(t, ctx, nil, &res, "agents_client.cjs", s.url, pcm24File(t, "order_slt.wav"), pcm24File(t, "wait_rms.wav"))

	t.Logf("heard %q, transcripts %q, history %+v", derefOr(res.BargedHistory), res.Transcripts, res.History)
	if len(res.Errors) > 0 {
		t.Errorf("the client reported errors: %q", res.Errors)
	}
	for _, want := range []string{
		"session.created", "session.updated", "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
		"input_audio_buffer.committed", "conversation.item.input_audio_transcription.completed", "response.created",
		"response.output_audio.delta", "response.output_audio_transcript.delta", "response.output_audio.done",
		"response.done", "conversation.item.truncated", "conversation.item.retrieved",
		"response.function_call_arguments.done", "rate_limits.updated",
	} {
		if !contains(res.Events, want) {
			t.Errorf("no %s event; events: %v", want, res.Events)
		}
	}
	// The barge-in: no audio of the cut reply after speech_started, and the
	// client's history holds the words heard, a beginning of the reply.
	if res.AudioAfterSpeechStarted != 0 {
		t.Errorf("%d audio deltas of the cut reply after speech_started", res.AudioAfterSpeechStarted)
	}
	heard := ""
	if res.BargedHistory != nil {
		heard = *res.BargedHistory
	}
	if heard == "" || !strings.HasPrefix(longReply, heard) || len(heard) >= len(longReply) {
		t.Errorf("history after the barge-in holds %q, want a beginning of %q", heard, longReply)
	}
	if got := res.Transcripts[res.BargedItem]; got != heard {
		t.Errorf("transcript done of the cut reply %q, history %q", got, heard)
	}
	// The model's next request holds the heard part, marked interrupted.
	if m, ok := lastAssistant(llm.reqs, bargeIn); !ok || m.Content != heard || !m.Interrupted {
		t.Errorf("the request after the barge-in has assistant message %+v (found %v), want %q interrupted", m, ok, heard)
	}
	// The tool round trip.
	if len(res.ToolCalls) != 1 || res.ToolCalls[0] != "Paris" {
		t.Errorf("tool calls %q, want one for Paris", res.ToolCalls)
	}
	var answered bool
	for _, tr := range res.Transcripts {
		answered = answered || strings.Contains(tr, "It is sunny in Paris.")
	}
	if !answered {
		t.Errorf("no spoken answer with the tool's output; transcripts %q", res.Transcripts)
	}
	if !historyHas(res, "function_call", "get_weather") || !historyHas(res, "message", "where is my order") {
		t.Errorf("client history %+v lacks the user's words or the tool call", res.History)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func historyHas(res agentsResult, typ, text string) bool {
	for _, h := range res.History {
		if h.Type == typ && (strings.Contains(h.Text, text) || h.Name == text) {
			return true
		}
	}
	return false
}

// lastAssistant finds, among the requests made, the first whose last
// message is user, and returns its last assistant message.
func lastAssistant(reqs chan pipeline.Request, user string) (pipeline.Message, bool) {
	for {
		select {
		case req := <-reqs:
			last := req.Messages[len(req.Messages)-1]
			if last.Content != user {
				continue
			}
			for i := len(req.Messages) - 1; i >= 0; i-- {
				if req.Messages[i].Role == pipeline.RoleAssistant {
					return req.Messages[i], true
				}
			}
			return pipeline.Message{}, false
		default:
			return pipeline.Message{}, false
		}
	}
}

func derefOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// selfSigned makes a certificate for 127.0.0.1 and returns it with its PEM.
func selfSigned(t *testing.T) (*tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hark test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// openAIResult is what openai_client.cjs prints.
type openAIResult struct {
	Events              []string             `json:"events"`
	Errors              []string             `json:"errors"`
	Model               string               `json:"model"`
	OutputFormat        string               `json:"outputFormat"`
	UserTranscript      string               `json:"userTranscript"`
	ReplyTranscript     string               `json:"replyTranscript"`
	Status              string               `json:"status"`
	Usage               *realtimeapi.Usage   `json:"usage"`
	ReplyAudioBytes     int                  `json:"replyAudioBytes"`
	CancelStatus        string               `json:"cancelStatus"`
	CancelReason        string               `json:"cancelReason"`
	TruncatedMs         int                  `json:"truncatedMs"`
	TruncatedTranscript string               `json:"truncatedTranscript"`
	Deleted             bool                 `json:"deleted"`
	LateCancel          realtimeapi.APIError `json:"lateCancel"`
	Failure             string               `json:"failure"`
}

// TestOpenAINodeRealtimeClient runs the openai npm package's Realtime
// WebSocket client (OpenAIRealtimeWS), which forces wss, against a Hark
// session served over TLS with a certificate made here: a spoken turn with
// μ-law output, then a typed turn the client cancels, truncates, retrieves
// and deletes.
func TestOpenAINodeRealtimeClient(t *testing.T) {
	nodeClients(t)
	cert, pemBytes := selfSigned(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	f := fakes{
		stt: agenttest.NewSTT(firstQuestion),
		llm: agenttest.NewLLM(text("Your order shipped yesterday."), text(longReply)),
		tts: &agenttest.TTS{Format: formatPCM24k},
	}
	s := startServer(t, &server{cert: cert}, func(c *Conn) []agent.Option {
		return []agent.Option{agent.WithSTT(f.stt), agent.WithLLM(c.LLM(f.llm)), agent.WithTTS(c.TTS(f.tts)), agent.WithVAD(sileroOrLevel(t))}
	}, WithAPIKeys("sk-test"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var res openAIResult
	runNode(t, ctx, []string{"NODE_EXTRA_CA_CERTS=" + caFile}, &res, "openai_client.cjs", s.URL+"/v1", pcm24File(t, "order_slt.wav"))
	t.Logf("heard %q, said %q, truncated to %q", res.UserTranscript, res.ReplyTranscript, res.TruncatedTranscript)

	if res.Model != "gpt-realtime" || res.OutputFormat != realtimeapi.FormatPCMU {
		t.Errorf("model %q, output format %q", res.Model, res.OutputFormat)
	}
	if res.UserTranscript != firstQuestion || res.ReplyTranscript != "Your order shipped yesterday." || res.Status != realtimeapi.StatusCompleted {
		t.Errorf("turn: heard %q, said %q, status %q", res.UserTranscript, res.ReplyTranscript, res.Status)
	}
	// 29 characters at 40 ms each, μ-law at 8 kHz: about 9 kB.
	if want := 29 * 40 * 8; res.ReplyAudioBytes < want*9/10 || res.ReplyAudioBytes > want*11/10 {
		t.Errorf("%d bytes of μ-law audio, want about %d", res.ReplyAudioBytes, want)
	}
	if res.Usage == nil || res.Usage.OutputTokens == 0 {
		t.Errorf("usage %+v", res.Usage)
	}
	if res.CancelStatus != realtimeapi.StatusCancelled || res.CancelReason != "client_cancelled" {
		t.Errorf("cancelled response: status %q reason %q", res.CancelStatus, res.CancelReason)
	}
	if res.TruncatedMs != 300 || res.TruncatedTranscript == "" || !strings.HasPrefix(longReply, res.TruncatedTranscript) || len(res.TruncatedTranscript) > 20 {
		t.Errorf("truncated at %d ms to %q, want a word or two of %q", res.TruncatedMs, res.TruncatedTranscript, longReply)
	}
	if !res.Deleted || res.LateCancel.Code != "response_cancel_not_active" || res.LateCancel.EventID != "late" {
		t.Errorf("deleted %v, cancel with no response: %+v", res.Deleted, res.LateCancel)
	}
	if len(res.Errors) != 1 {
		t.Errorf("client errors %q, want only the late cancel's", res.Errors)
	}
}
