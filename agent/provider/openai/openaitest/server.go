package openaitest

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	goopenai "github.com/sashabaranov/go-openai"
)

// SpeechRate is the sample rate of the PCM the speech endpoint returns, as
// OpenAI's response_format "pcm" does.
const SpeechRate = 24000

// Fault makes a reply misbehave. The zero Fault answers at once.
type Fault struct {
	// Status, when non-zero, answers with this HTTP status and an OpenAI
	// error body instead of the reply.
	Status int
	// Message is the error message sent with Status (default: the status
	// text).
	Message string
	// FirstByteDelay is how long the server waits before it answers
	// (headers included).
	FirstByteDelay time.Duration
	// ChunkDelay is how long the server waits before each streamed chunk
	// after the first.
	ChunkDelay time.Duration
	// Drop cuts the connection after DropAfter chunks (0: right after the
	// headers) instead of finishing the stream.
	Drop      bool
	DropAfter int
	// ErrorEvent, with Drop, makes a chat stream send an error event
	// (data: {"error": ...}) with Message before the connection is cut, as
	// OpenAI does when a stream fails on its side.
	ErrorEvent bool
}

// ToolCall is a function call the scripted model makes.
type ToolCall struct {
	ID        string // default "call_N"
	Name      string
	Arguments string // JSON object, streamed in fragments
}

// ChatReply scripts one chat completion.
type ChatReply struct {
	// Deltas are the text pieces streamed in order, one event each.
	Deltas []string
	// ToolCalls are streamed after the text: a first event with the id and
	// name, then the arguments in fragments of FragmentSize bytes.
	ToolCalls    []ToolCall
	FragmentSize int // default 5
	Fault
}

// TranscriptionReply scripts one transcription.
type TranscriptionReply struct {
	Text string
	// Language is reported in verbose_json answers; Whisper reports names
	// such as "english".
	Language string
	Fault
}

// SpeechReply scripts one speech synthesis.
type SpeechReply struct {
	// Audio is 24 kHz mono PCM; nil makes a tone lasting 50 ms per
	// character of the input text.
	Audio []int16
	// ChunkBytes is how many bytes each streamed chunk holds (default 960,
	// 20 ms); odd sizes split samples across chunks.
	ChunkBytes int
	Fault
}

// TranscriptionRequest is a decoded multipart transcription request.
type TranscriptionRequest struct {
	Model          string
	Language       string
	ResponseFormat string
	Prompt         string
	FileName       string
	File           []byte
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Exactly one of these is set for a known endpoint with a valid body.
	Chat          *goopenai.ChatCompletionRequest
	Transcription *TranscriptionRequest
	Speech        *goopenai.CreateSpeechRequest
}

// Server is a fake OpenAI-compatible API on 127.0.0.1. Its methods are safe
// for concurrent use.
type Server struct {
	// URL is the API base URL, ending in "/v1".
	URL string

	srv  *httptest.Server
	done chan struct{}
	once sync.Once

	mu             sync.Mutex
	key            string
	chat           []ChatReply
	transcriptions []TranscriptionReply
	speech         []SpeechReply
	defChat        ChatReply
	defTranscript  TranscriptionReply
	defSpeech      SpeechReply
	requests       []Request
}

// NewServer starts a server. Close it when done.
func NewServer() *Server {
	s := &Server{
		done:          make(chan struct{}),
		defChat:       Text("Hello! How can I help you today?"),
		defTranscript: TranscriptionReply{Text: "hello", Language: "english"},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	return s
}

// Close stops the server, ending any delayed or streaming answer.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Text returns a reply that streams text word by word.
func Text(text string) ChatReply {
	return ChatReply{Deltas: strings.SplitAfter(text, " ")}
}

// Tone returns d of a quiet 220 Hz tone at SpeechRate.
func Tone(d time.Duration) []int16 {
	n := int(int64(d) * SpeechRate / int64(time.Second))
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(6000 * math.Sin(2*math.Pi*220*float64(i)/SpeechRate))
	}
	return out
}

// RequireAPIKey makes the server answer 401 to requests without
// "Authorization: Bearer key". An empty key accepts every request.
func (s *Server) RequireAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// Chat queues replies for the next chat completion requests, one each;
// requests the server rejects (bad key, malformed body) take none.
func (s *Server) Chat(replies ...ChatReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chat = append(s.chat, replies...)
}

// Transcription queues replies for the next transcription requests.
func (s *Server) Transcription(replies ...TranscriptionReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transcriptions = append(s.transcriptions, replies...)
}

// Speech queues replies for the next speech requests.
func (s *Server) Speech(replies ...SpeechReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.speech = append(s.speech, replies...)
}

// SetDefaultChat sets the reply used when the chat queue is empty
// (initially Text("Hello! How can I help you today?")).
func (s *Server) SetDefaultChat(r ChatReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defChat = r
}

// SetDefaultTranscription sets the reply used when the transcription queue
// is empty (initially "hello" in "english").
func (s *Server) SetDefaultTranscription(r TranscriptionReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defTranscript = r
}

// SetDefaultSpeech sets the reply used when the speech queue is empty
// (initially a tone of 50 ms per character).
func (s *Server) SetDefaultSpeech(r SpeechReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.defSpeech = r
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func next[T any](queue *[]T, def T) T {
	if len(*queue) == 0 {
		return def
	}
	r := (*queue)[0]
	*queue = (*queue)[1:]
	return r
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	known := true
	switch path {
	case "/chat/completions":
		var c goopenai.ChatCompletionRequest
		if json.Unmarshal(body, &c) == nil {
			req.Chat = &c
		}
	case "/audio/transcriptions":
		req.Transcription = parseTranscription(r.Header.Get("Content-Type"), body)
	case "/audio/speech":
		var sp goopenai.CreateSpeechRequest
		if json.Unmarshal(body, &sp) == nil {
			req.Speech = &sp
		}
	default:
		known = false
	}

	s.mu.Lock()
	s.requests = append(s.requests, req)
	key := s.key
	s.mu.Unlock()

	switch {
	case key != "" && r.Header.Get("Authorization") != "Bearer "+key:
		writeError(w, http.StatusUnauthorized, "invalid api key", "invalid_request_error")
		return
	case !known:
		writeError(w, http.StatusNotFound, "unknown endpoint "+r.URL.Path, "invalid_request_error")
		return
	case r.Method != http.MethodPost:
		writeError(w, http.StatusMethodNotAllowed, "use POST", "invalid_request_error")
		return
	case req.Chat == nil && req.Transcription == nil && req.Speech == nil:
		writeError(w, http.StatusBadRequest, "malformed request", "invalid_request_error")
		return
	}

	// Only an accepted request takes a scripted reply.
	a := answer{w: w, ctx: r.Context(), done: s.done}
	s.mu.Lock()
	switch {
	case req.Chat != nil:
		rep := next(&s.chat, s.defChat)
		s.mu.Unlock()
		a.chat(rep, req.Chat)
	case req.Transcription != nil:
		rep := next(&s.transcriptions, s.defTranscript)
		s.mu.Unlock()
		a.transcription(rep, req.Transcription)
	default:
		rep := next(&s.speech, s.defSpeech)
		s.mu.Unlock()
		a.speech(rep, req.Speech)
	}
}

func parseTranscription(contentType string, body []byte) *TranscriptionRequest {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(64 << 20)
	if err != nil {
		return nil
	}
	defer form.RemoveAll()
	t := &TranscriptionRequest{}
	get := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	t.Model, t.Language, t.ResponseFormat, t.Prompt = get("model"), get("language"), get("response_format"), get("prompt")
	files := form.File["file"]
	if len(files) == 0 {
		return nil
	}
	f, err := files[0].Open()
	if err != nil {
		return nil
	}
	defer f.Close()
	if t.File, err = io.ReadAll(f); err != nil {
		return nil
	}
	t.FileName = files[0].Filename
	return t
}

func writeError(w http.ResponseWriter, status int, msg, typ string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil},
	})
}

// answer writes one scripted reply, honouring its Fault.
type answer struct {
	w    http.ResponseWriter
	ctx  context.Context
	done <-chan struct{}
	sse  bool // the answer is a server-sent event stream
	sent int  // chunks written
}

// wait sleeps d; false means the client or the server went away.
func (a *answer) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.ctx.Done():
		return false
	case <-a.done:
		return false
	}
}

// begin applies the fault before the answer; false means stop.
func (a *answer) begin(f Fault, contentType string) bool {
	if !a.wait(f.FirstByteDelay) {
		return false
	}
	if f.Status != 0 {
		typ := "server_error"
		if f.Status < 500 {
			typ = "invalid_request_error"
		}
		writeError(a.w, f.Status, f.Message, typ)
		return false
	}
	a.w.Header().Set("Content-Type", contentType)
	a.w.WriteHeader(http.StatusOK)
	return !a.dropNow(f)
}

// dropNow cuts the connection if the fault says so at this point.
func (a *answer) dropNow(f Fault) bool {
	if !f.Drop || a.sent < f.DropAfter {
		return false
	}
	if f.ErrorEvent && a.sse {
		msg := f.Message
		if msg == "" {
			msg = "the server had an error while processing your request"
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "param": nil, "code": nil}})
		_, _ = fmt.Fprintf(a.w, "data: %s\n\n", b)
	}
	if err := http.NewResponseController(a.w).Flush(); err != nil {
		return true
	}
	if conn, _, err := http.NewResponseController(a.w).Hijack(); err == nil {
		_ = conn.Close()
	}
	return true
}

// chunk writes one streamed piece; false means stop.
func (a *answer) chunk(f Fault, p []byte) bool {
	if a.sent > 0 && !a.wait(f.ChunkDelay) {
		return false
	}
	if _, err := a.w.Write(p); err != nil {
		return false
	}
	if err := http.NewResponseController(a.w).Flush(); err != nil {
		return false
	}
	a.sent++
	return !a.dropNow(f)
}

func (a *answer) chat(rep ChatReply, req *goopenai.ChatCompletionRequest) {
	if !req.Stream {
		a.chatWhole(rep, req)
		return
	}
	a.sse = true
	if !a.begin(rep.Fault, "text/event-stream") {
		return
	}
	role := goopenai.ChatMessageRoleAssistant // sent with the first event
	created := time.Now().Unix()
	event := func(delta wireDelta, finish string) bool {
		delta.Role, role = role, ""
		choice := wireChoice{Delta: delta}
		if finish != "" {
			choice.FinishReason = &finish
		}
		b, err := json.Marshal(wireChunk{
			ID: "chatcmpl-test", Object: "chat.completion.chunk", Created: created, Model: req.Model,
			Choices: []wireChoice{choice},
		})
		if err != nil {
			return false
		}
		return a.chunk(rep.Fault, fmt.Appendf(nil, "data: %s\n\n", b))
	}
	for _, d := range rep.Deltas {
		if !event(wireDelta{Content: d}, "") {
			return
		}
	}
	size := rep.FragmentSize
	if size <= 0 {
		size = 5
	}
	for i, tc := range rep.ToolCalls {
		head := wireToolCall{Index: i, ID: callID(tc, i), Type: "function", Function: wireFunction{Name: tc.Name}}
		if !event(wireDelta{ToolCalls: []wireToolCall{head}}, "") {
			return
		}
		for args := tc.Arguments; args != ""; {
			n := min(size, len(args))
			frag := wireToolCall{Index: i, Function: wireFunction{Arguments: args[:n]}}
			if !event(wireDelta{ToolCalls: []wireToolCall{frag}}, "") {
				return
			}
			args = args[n:]
		}
	}
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	if !event(wireDelta{}, finish) {
		return
	}
	a.chunk(rep.Fault, []byte("data: [DONE]\n\n"))
}

// The chat stream's wire form, as OpenAI sends it.
type (
	wireChunk struct {
		ID      string       `json:"id"`
		Object  string       `json:"object"`
		Created int64        `json:"created"`
		Model   string       `json:"model"`
		Choices []wireChoice `json:"choices"`
	}
	wireChoice struct {
		Index        int       `json:"index"`
		Delta        wireDelta `json:"delta"`
		FinishReason *string   `json:"finish_reason"`
	}
	wireDelta struct {
		Role      string         `json:"role,omitempty"`
		Content   string         `json:"content,omitempty"`
		ToolCalls []wireToolCall `json:"tool_calls,omitempty"`
	}
	wireToolCall struct {
		Index    int          `json:"index"`
		ID       string       `json:"id,omitempty"`
		Type     string       `json:"type,omitempty"`
		Function wireFunction `json:"function"`
	}
	wireFunction struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
)

func callID(tc ToolCall, i int) string {
	if tc.ID != "" {
		return tc.ID
	}
	return fmt.Sprintf("call_%d", i)
}

// chatWhole answers a chat request that did not ask for a stream.
func (a *answer) chatWhole(rep ChatReply, req *goopenai.ChatCompletionRequest) {
	if !a.begin(rep.Fault, "application/json") {
		return
	}
	msg := goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: strings.Join(rep.Deltas, "")}
	finish := goopenai.FinishReasonStop
	for i, tc := range rep.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{ID: callID(tc, i), Type: goopenai.ToolTypeFunction,
			Function: goopenai.FunctionCall{Name: tc.Name, Arguments: tc.Arguments}})
		finish = goopenai.FinishReasonToolCalls
	}
	b, err := json.Marshal(goopenai.ChatCompletionResponse{
		ID: "chatcmpl-test", Object: "chat.completion", Created: time.Now().Unix(), Model: req.Model,
		Choices: []goopenai.ChatCompletionChoice{{Message: msg, FinishReason: finish}},
	})
	if err == nil {
		a.chunk(rep.Fault, b)
	}
}

func (a *answer) transcription(rep TranscriptionReply, req *TranscriptionRequest) {
	var body []byte
	contentType := "application/json"
	switch req.ResponseFormat {
	case "text":
		contentType, body = "text/plain; charset=utf-8", []byte(rep.Text+"\n")
	case "verbose_json":
		body, _ = json.Marshal(map[string]any{
			"task": "transcribe", "language": rep.Language, "duration": wavSeconds(req.File),
			"text": rep.Text, "segments": []any{},
		})
	default:
		body, _ = json.Marshal(map[string]any{"text": rep.Text})
	}
	if a.begin(rep.Fault, contentType) {
		a.chunk(rep.Fault, body)
	}
}

// wavSeconds estimates a WAV file's duration from its header; 0 if unknown.
func wavSeconds(b []byte) float64 {
	if len(b) < 44 || string(b[:4]) != "RIFF" {
		return 0
	}
	rate := binary.LittleEndian.Uint32(b[24:28])
	blockAlign := binary.LittleEndian.Uint16(b[32:34])
	if rate == 0 || blockAlign == 0 {
		return 0
	}
	return float64(len(b)-44) / float64(blockAlign) / float64(rate)
}

func (a *answer) speech(rep SpeechReply, req *goopenai.CreateSpeechRequest) {
	audio := rep.Audio
	if audio == nil {
		audio = Tone(time.Duration(len([]rune(req.Input))) * 50 * time.Millisecond)
	}
	pcm := make([]byte, 2*len(audio))
	for i, s := range audio {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(s))
	}
	size := rep.ChunkBytes
	if size <= 0 {
		size = 960
	}
	if !a.begin(rep.Fault, "audio/pcm") {
		return
	}
	for len(pcm) > 0 {
		n := min(size, len(pcm))
		if !a.chunk(rep.Fault, pcm[:n]) {
			return
		}
		pcm = pcm[n:]
	}
}
