package rtserver

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/harkvoice/hark/agent/realtimeapi"
	"github.com/harkvoice/hark/agent/transport"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// machine is one connection's protocol state: the session's configuration,
// the conversation, the user's speech being captured and the response in
// progress. It has no goroutine, clock or I/O of its own: the connection
// feeds it the client's events, the Hark session's events, the session's
// output frames and its LLM requests, and carries out what it returns —
// server events to send and commands for the session — in order.
//
// The conversation (items) is the one the client sees and edits; every LLM
// request of the session is rebuilt from it (request), so items the client
// creates, deletes or truncates shape the next reply. The Hark session
// decides turns and barge-in; its events drive the protocol's events:
//
//   - confirmed speech with no reply in progress opens a user item
//     (input_audio_buffer.speech_started); the end of the turn commits it
//     and reports its transcript.
//   - speech over a reply pauses it in the session, which then cancels or
//     resumes it; only a cancellation is reported (speech_started, then the
//     response ends as cancelled, or waits for the client's response.cancel
//     when interrupt_response is false). A resumed reply just plays on.
//   - a reply is one response: created when the session asks the LLM,
//     audio items and transcript deltas as its chunks play, done when it
//     has played or was cancelled. A call of one of the client's tools ends
//     the reply; the client answers it with function_call_output and
//     response.create, as with OpenAI.
type machine struct {
	sess realtimeapi.Session
	ids  map[string]int // last number used per id prefix

	items  []*item
	speech *speech // the user's item being captured, if any
	resp   *response
	// turnCancelled names the last response ended by turn detection: a
	// response.cancel racing it is not an error (with no response_id only
	// while no other response has started since).
	turnCancelled string
	// pending is a response.create waiting for the session's reply.
	pending *realtimeapi.ResponseParams
	// expect holds the texts sent with SendText, whose user turns are the
	// machine's own and not the user's.
	expect []string
	// userText is the text of user items created since the last response.
	userText []string

	inSamples int64       // input audio appended so far, at inRate
	inRate    int         // rate of inSamples
	inMS      float64     // input audio appended so far, in ms
	manual    []pcm.Frame // input buffered while turn detection is off
	manualLen time.Duration
	// committed is a manually committed turn the session is transcribing.
	committed *speech

	enc encoder

	// refused counts the client events refused since refusals was last
	// called.
	refused int

	out  []realtimeapi.Event
	cmds []command
}

// commandKind names what the connection is to do for the machine.
type commandKind int

const (
	// cmdAudio passes a frame to the session's ReadAudio.
	cmdAudio commandKind = iota + 1
	// cmdSendText starts a reply through the session's SendText.
	cmdSendText
	// cmdInterrupt cancels the session's reply.
	cmdInterrupt
	// cmdExpire calls expire(text) after commitWait: the committed turn
	// text names was not transcribed by then.
	cmdExpire
)

// command is one thing for the connection to do.
type command struct {
	kind  commandKind
	frame pcm.Frame
	text  string
}

// item is a conversation item, with what the machine knows of its audio.
type item struct {
	realtimeapi.Item
	// Assistant audio: samples sent (24 kHz), and the chunks of text as
	// they started playing.
	samples int
	chunks  []chunk
	// cutMS is where the client truncated the audio (-1: not truncated).
	cutMS int
	// interrupted marks an assistant message that was cut off.
	interrupted bool
	images      []pipeline.Image
}

// chunk is a piece of a reply's text and the sample at which it began.
type chunk struct {
	text string
	at   int
}

// speech is the user's input item being captured.
type speech struct {
	id        string
	startMS   int
	committed bool // input_audio_buffer.committed was sent
}

// response is the response in progress.
type response struct {
	id         string
	params     *realtimeapi.ResponseParams
	modalities []string
	format     *realtimeapi.AudioFormat
	voice      string
	msg        *item   // the message item carrying its audio or text
	outputs    []*item // its output items, in order
	text       strings.Builder
	lastFrame  int // length of the last frame sent
	chunks     int
	inChars    int
	paused     bool
	// bargeMS is where speech began that paused the reply (-1: none).
	bargeMS int
	// cancel is set once the client asked to cancel.
	cancel bool
	// halted: the session cancelled the reply on the user's speech and
	// the client (interrupt_response false) is to cancel it.
	halted bool
}

// audio reports whether the response speaks.
func (r *response) audio() bool { return slices.Contains(r.modalities, "audio") }

func newMachine(sessionID, model string) *machine {
	return &machine{sess: defaultSession(sessionID, model), ids: map[string]int{}, inRate: formatPCM24k.Rate}
}

// take returns what the last inputs produced and forgets it.
func (m *machine) take() ([]realtimeapi.Event, []command) {
	ev, cmds := m.out, m.cmds
	m.out, m.cmds = nil, nil
	return ev, cmds
}

// id returns a new id with prefix ("item", "resp", "event", ...).
func (m *machine) id(prefix string) string {
	m.ids[prefix]++
	return prefix + "_" + strconv.Itoa(m.ids[prefix])
}

// eventID returns the id of the next server event.
func (m *machine) eventID() string { return m.id("event") }

func (m *machine) send(ev realtimeapi.Event) { m.out = append(m.out, ev) }

func (m *machine) do(c command) { m.cmds = append(m.cmds, c) }

// refusals returns how many client events were refused since the last
// call.
func (m *machine) refusals() int {
	n := m.refused
	m.refused = 0
	return n
}

// fail sends an error event for the client event eventID.
func (m *machine) fail(code, param, msg, eventID string) {
	m.refused++
	m.send(&realtimeapi.ErrorEvent{EventID: m.eventID(), Error: realtimeapi.APIError{
		Type: realtimeapi.ErrorInvalidRequest, Code: code, Message: msg, Param: param, EventID: eventID,
	}})
}

func (m *machine) failParam(err error, eventID string) {
	if pe, ok := err.(*paramError); ok {
		m.fail(pe.code, pe.param, pe.msg, eventID)
		return
	}
	m.fail("invalid_value", "", err.Error(), eventID)
}

// turnDetection returns the turn detection in force; nil when off.
func (m *machine) turnDetection() *realtimeapi.TurnDetection {
	return m.sess.Audio.Input.TurnDetection.Value
}

// created sends session.created.
func (m *machine) created() {
	m.send(&realtimeapi.SessionCreated{EventID: m.eventID(), Session: m.sess})
}

// client handles one client event.
func (m *machine) client(ev realtimeapi.Event) {
	switch ev := ev.(type) {
	case *realtimeapi.SessionUpdate:
		m.update(ev)
	case *realtimeapi.InputAudioBufferAppend:
		m.appendAudio(ev)
	case *realtimeapi.InputAudioBufferCommit:
		m.commit(ev)
	case *realtimeapi.InputAudioBufferClear:
		m.manual, m.manualLen = nil, 0
		m.send(&realtimeapi.InputAudioBufferCleared{EventID: m.eventID()})
	case *realtimeapi.ConversationItemCreate:
		m.createItem(ev)
	case *realtimeapi.ConversationItemRetrieve:
		it := m.find(ev.ItemID)
		if it == nil {
			m.noItem(ev.ItemID, "item_id", ev.EventID)
			return
		}
		m.send(&realtimeapi.ConversationItemRetrieved{EventID: m.eventID(), Item: it.wire()})
	case *realtimeapi.ConversationItemTruncate:
		m.truncate(ev)
	case *realtimeapi.ConversationItemDelete:
		m.deleteItem(ev)
	case *realtimeapi.ResponseCreate:
		m.responseCreate(ev)
	case *realtimeapi.ResponseCancel:
		m.responseCancel(ev)
	case *realtimeapi.OutputAudioBufferClear:
		m.fail("unsupported_event", "type", "output_audio_buffer.clear is for WebRTC and SIP connections; over a WebSocket send response.cancel", ev.EventID)
	case *realtimeapi.TranscriptionSessionUpdate:
		m.fail("unsupported_event", "type", "transcription sessions are not supported; this is a realtime session", ev.EventID)
	default:
		m.fail("unsupported_event", "type", fmt.Sprintf("%s is not a client event", ev.EventType()), "")
	}
}

// update applies session.update and reports the whole configuration.
func (m *machine) update(ev *realtimeapi.SessionUpdate) {
	next, err := mergeSession(m.sess, ev.Session)
	if err != nil {
		m.failParam(err, ev.EventID)
		return
	}
	wasManual := m.turnDetection() == nil
	m.sess = next
	if wasManual && m.turnDetection() != nil && len(m.manual) > 0 {
		// Turn detection back on: the audio buffered meanwhile is heard.
		for _, fr := range m.manual {
			m.do(command{kind: cmdAudio, frame: fr})
		}
		m.manual, m.manualLen = nil, 0
	}
	m.send(&realtimeapi.SessionUpdated{EventID: m.eventID(), Session: m.sess})
}

// maxManual bounds the audio buffered while turn detection is off.
const maxManual = 2 * time.Minute

// appendAudio takes input_audio_buffer.append: to the session at once with
// turn detection, into the buffer without.
func (m *machine) appendAudio(ev *realtimeapi.InputAudioBufferAppend) {
	fr, err := decodeAudio(ev.Audio, m.sess.Audio.Input.Format)
	if err != nil {
		m.fail("invalid_value", "audio", err.Error(), ev.EventID)
		return
	}
	if len(fr.Samples) == 0 {
		return
	}
	m.advance(fr)
	if m.turnDetection() != nil {
		m.do(command{kind: cmdAudio, frame: fr})
		return
	}
	if m.manualLen+fr.Duration() > maxManual {
		m.fail("input_audio_buffer_full", "audio", fmt.Sprintf("the input audio buffer holds at most %v; commit or clear it", maxManual), ev.EventID)
		return
	}
	m.manual = append(m.manual, fr)
	m.manualLen += fr.Duration()
}

// advance moves the input clock past fr.
func (m *machine) advance(fr pcm.Frame) {
	if fr.Format.Rate != m.inRate {
		m.inMS += float64(m.inSamples) * 1000 / float64(m.inRate)
		m.inSamples, m.inRate = 0, fr.Format.Rate
	}
	m.inSamples += int64(len(fr.Samples))
}

// nowMS is the input position in ms.
func (m *machine) nowMS() int {
	return int(m.inMS + float64(m.inSamples)*1000/float64(m.inRate))
}

// commitSilence follows a manually committed turn so that the session's
// end of turn detection ends it at once.
const commitSilence = 6 * time.Second

// commit takes input_audio_buffer.commit: with turn detection off, the
// buffer becomes a user item and the session transcribes it.
func (m *machine) commit(ev *realtimeapi.InputAudioBufferCommit) {
	if m.turnDetection() != nil {
		m.fail("unsupported_event", "type", "with server turn detection the server commits each turn; set session.audio.input.turn_detection to null to commit manually", ev.EventID)
		return
	}
	if m.manualLen < 100*time.Millisecond {
		m.fail("input_audio_buffer_commit_empty", "", fmt.Sprintf("buffer too small: expected at least 100ms of audio, but the buffer only has %.2fms", float64(m.manualLen)/float64(time.Millisecond)), ev.EventID)
		return
	}
	if m.committed != nil {
		m.fail("input_audio_buffer_commit_pending", "", "the previous commit is still being transcribed", ev.EventID)
		return
	}
	end := m.nowMS()
	s := &speech{id: m.id("item"), startMS: end - int(m.manualLen/time.Millisecond)}
	for _, fr := range m.manual {
		m.do(command{kind: cmdAudio, frame: fr})
	}
	f := m.manual[len(m.manual)-1].Format
	m.do(command{kind: cmdAudio, frame: pcm.Frame{Samples: make([]int16, f.Samples(commitSilence)), Format: f}})
	m.manual, m.manualLen = nil, 0
	m.commitItem(s)
	m.committed = s
	m.do(command{kind: cmdExpire, text: s.id})
}

// commitWait bounds the wait for a committed turn's transcript: the
// session hears no turn in audio without speech.
const commitWait = 20 * time.Second

// expire gives up on the committed turn id if it is still untranscribed:
// its transcription failed, and a response waiting for it is refused.
func (m *machine) expire(id string) {
	s := m.committed
	if s == nil || s.id != id {
		return
	}
	m.committed = nil
	if it := m.find(id); it != nil {
		m.send(&realtimeapi.InputAudioTranscriptionFailed{EventID: m.eventID(), ItemID: id, Error: realtimeapi.APIError{
			Type: realtimeapi.ErrorServer, Code: "no_speech", Message: "no speech was heard in the committed audio"}})
		m.send(&realtimeapi.ConversationItemDone{EventID: m.eventID(), PreviousItemID: m.prevOf(it), Item: it.wire()})
	}
	if m.pending != nil {
		m.pending = nil
		m.fail("no_speech", "", "the response waited for the committed audio, in which no speech was heard", "")
	}
}

// commitItem reports the user item of speech s committed.
func (m *machine) commitItem(s *speech) {
	s.committed = true
	it := &item{Item: realtimeapi.Item{
		ID: s.id, Object: "realtime.item", Type: realtimeapi.ItemMessage, Role: "user", Status: "completed",
		Content: []realtimeapi.ContentPart{{Type: "input_audio"}},
	}, cutMS: -1}
	prev := m.lastID()
	m.items = append(m.items, it)
	m.send(&realtimeapi.InputAudioBufferCommitted{EventID: m.eventID(), PreviousItemID: prev, ItemID: s.id})
	m.send(&realtimeapi.ConversationItemAdded{EventID: m.eventID(), PreviousItemID: prev, Item: it.wire()})
}

// lastID returns the id of the last item, or "".
func (m *machine) lastID() string {
	if len(m.items) == 0 {
		return ""
	}
	return m.items[len(m.items)-1].ID
}

// find returns the item with id, or nil.
func (m *machine) find(id string) *item {
	for _, it := range m.items {
		if it.ID == id {
			return it
		}
	}
	return nil
}

func (m *machine) noItem(id, param, eventID string) {
	m.fail("item_not_found", param, fmt.Sprintf("no item with id %q in the conversation", id), eventID)
}

// wire returns the item as the protocol shows it.
func (it *item) wire() realtimeapi.Item {
	out := it.Item
	out.Content = slices.Clone(it.Content)
	return out
}

// createItem takes conversation.item.create.
func (m *machine) createItem(ev *realtimeapi.ConversationItemCreate) {
	in := ev.Item
	it := &item{Item: in, cutMS: -1}
	it.Object = "realtime.item"
	it.Status = "completed"
	if err := checkItem(it); err != nil {
		m.failParam(err, ev.EventID)
		return
	}
	if it.ID == "" {
		it.ID = m.id("item")
	} else if m.find(it.ID) != nil {
		m.fail("duplicate_item_id", "item.id", fmt.Sprintf("an item with id %q is already in the conversation", it.ID), ev.EventID)
		return
	}
	at := len(m.items)
	switch p := ev.PreviousItemID; {
	case p == "":
	case p == "root":
		at = 0
	default:
		i := slices.IndexFunc(m.items, func(x *item) bool { return x.ID == p })
		if i < 0 {
			m.noItem(p, "previous_item_id", ev.EventID)
			return
		}
		at = i + 1
	}
	prev := ""
	if at > 0 {
		prev = m.items[at-1].ID
	}
	m.items = slices.Insert(m.items, at, it)
	if it.Type == realtimeapi.ItemMessage && it.Role == "user" {
		if t := it.text(); t != "" {
			m.userText = append(m.userText, t)
		}
	}
	m.send(&realtimeapi.ConversationItemAdded{EventID: m.eventID(), PreviousItemID: prev, Item: it.wire()})
	m.send(&realtimeapi.ConversationItemDone{EventID: m.eventID(), PreviousItemID: prev, Item: it.wire()})
}

// checkItem validates an item a client creates and takes its images.
func checkItem(it *item) error {
	switch it.Type {
	case realtimeapi.ItemMessage:
		if it.Role != "user" && it.Role != "assistant" && it.Role != "system" {
			return invalid("item.role", "message role must be user, assistant or system, not %q", it.Role)
		}
		for i, c := range it.Content {
			p := fmt.Sprintf("item.content[%d]", i)
			switch {
			case c.Type == "input_text" && it.Role != "assistant",
				(c.Type == "output_text" || c.Type == "text") && it.Role == "assistant":
			case c.Type == "input_image" && it.Role == "user":
				img, err := dataURLImage(c.ImageURL)
				if err != nil {
					return invalid(p+".image_url", "%v", err)
				}
				it.images = append(it.images, img)
			case (c.Type == "input_audio" && it.Role == "user") || (c.Type == "output_audio" || c.Type == "audio") && it.Role == "assistant":
				if c.Audio != "" && c.Transcript == "" {
					return unsupported(p+".audio", "audio content needs its transcript: audio in conversation.item.create is not transcribed")
				}
			default:
				return invalid(p+".type", "content type %q is not valid in a %s message", c.Type, it.Role)
			}
		}
	case realtimeapi.ItemFunctionCall:
		if it.CallID == "" || it.Name == "" {
			return invalid("item", "a function_call item needs call_id and name")
		}
	case realtimeapi.ItemFunctionCallOutput:
		if it.CallID == "" {
			return invalid("item.call_id", "a function_call_output item needs the call_id it answers")
		}
	default:
		return invalid("item.type", "item type must be message, function_call or function_call_output, not %q", it.Type)
	}
	return nil
}

// text returns a message's text: its text parts and transcripts.
func (it *item) text() string {
	var parts []string
	for _, c := range it.Content {
		if t := strings.TrimSpace(c.Text + c.Transcript); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// deleteItem takes conversation.item.delete.
func (m *machine) deleteItem(ev *realtimeapi.ConversationItemDelete) {
	i := slices.IndexFunc(m.items, func(x *item) bool { return x.ID == ev.ItemID })
	if i < 0 {
		m.noItem(ev.ItemID, "item_id", ev.EventID)
		return
	}
	m.items = slices.Delete(m.items, i, i+1)
	m.send(&realtimeapi.ConversationItemDeleted{EventID: m.eventID(), ItemID: ev.ItemID})
}

// truncate takes conversation.item.truncate: the assistant item's text is
// cut to the words the client played.
func (m *machine) truncate(ev *realtimeapi.ConversationItemTruncate) {
	it := m.find(ev.ItemID)
	switch {
	case it == nil:
		m.noItem(ev.ItemID, "item_id", ev.EventID)
		return
	case it.Type != realtimeapi.ItemMessage || it.Role != "assistant" || len(it.Content) == 0 || it.Content[0].Type != "output_audio":
		m.fail("invalid_value", "item_id", fmt.Sprintf("item %q is not an assistant message with audio", ev.ItemID), ev.EventID)
		return
	case ev.ContentIndex != 0:
		m.fail("invalid_value", "content_index", fmt.Sprintf("item %q has audio at content_index 0 only", ev.ItemID), ev.EventID)
		return
	case ev.AudioEndMS < 0:
		m.fail("invalid_value", "audio_end_ms", "audio_end_ms must not be negative", ev.EventID)
		return
	}
	if total := it.samples * 1000 / formatPCM24k.Rate; ev.AudioEndMS > total+20 {
		m.fail("invalid_value", "audio_end_ms", fmt.Sprintf("audio_end_ms %d is past the end of the item's audio (%d ms)", ev.AudioEndMS, total), ev.EventID)
		return
	}
	it.cutMS = ev.AudioEndMS
	it.applyCut()
	m.send(&realtimeapi.ConversationItemTruncated{EventID: m.eventID(), ItemID: it.ID, ContentIndex: 0, AudioEndMS: ev.AudioEndMS})
}

// applyCut cuts an assistant item's transcript to its truncation point:
// chunks that began before it, the last one by position, whole words.
func (it *item) applyCut() {
	if it.cutMS < 0 || len(it.Content) == 0 {
		return
	}
	cut := it.cutMS * formatPCM24k.Rate / 1000
	if cut >= it.samples {
		return
	}
	var heard []string
	for i, c := range it.chunks {
		end := it.samples
		if i+1 < len(it.chunks) {
			end = it.chunks[i+1].at
		}
		rec := pipeline.ChunkRecord{
			Segment: pipeline.Segment{Text: c.text}, Samples: end - c.at, Complete: true,
			HeardSamples: min(max(cut-c.at, 0), end-c.at),
		}
		if h := rec.Heard(formatPCM24k.Rate); h != "" {
			heard = append(heard, h)
		}
	}
	t := strings.Join(heard, " ")
	if t != it.Content[0].Transcript {
		it.Content[0].Transcript = t
		it.interrupted = true
	}
}

// responseCreate takes response.create: the session replies (through
// SendText), unless a turn it is transcribing will start the reply.
func (m *machine) responseCreate(ev *realtimeapi.ResponseCreate) {
	p := ev.Response
	if p == nil {
		p = &realtimeapi.ResponseParams{}
	}
	if err := checkResponseParams(p); err != nil {
		m.failParam(err, ev.EventID)
		return
	}
	if r := m.resp; (r != nil && !r.halted) || m.pending != nil {
		id := "(starting)"
		if r != nil {
			id = r.id
		}
		m.fail("conversation_already_has_active_response", "", fmt.Sprintf("Conversation already has an active response in progress: %s. Wait until the response is finished before creating a new one.", id), ev.EventID)
		return
	}
	if m.resp != nil {
		m.finish(realtimeapi.StatusCancelled, "turn_detected")
	}
	m.pending = p
	if m.committed != nil {
		return // the committed turn's reply takes it
	}
	text := strings.Join(m.userText, " ")
	if strings.TrimSpace(text) == "" {
		text = "(the client asked for a response)"
	}
	m.userText = nil
	m.expect = append(m.expect, strings.TrimSpace(text))
	m.do(command{kind: cmdSendText, text: text})
}

// checkResponseParams validates response.create's parameters.
func checkResponseParams(p *realtimeapi.ResponseParams) error {
	if err := checkModalities(p.OutputModalities, "response.output_modalities"); err != nil {
		return err
	}
	if err := checkTools(p.Tools, "response.tools"); err != nil {
		return err
	}
	if err := checkToolChoice(p.ToolChoice, "response.tool_choice"); err != nil {
		return err
	}
	if p.Conversation != "" && p.Conversation != "auto" {
		return unsupported("response.conversation", "responses outside the default conversation are not supported")
	}
	if len(p.Input) > 0 {
		return unsupported("response.input", "responses with their own input items are not supported")
	}
	if p.Audio != nil && p.Audio.Output != nil {
		return checkFormat(p.Audio.Output.Format, "response.audio.output.format")
	}
	return nil
}

// responseCancel takes response.cancel.
func (m *machine) responseCancel(ev *realtimeapi.ResponseCancel) {
	r := m.resp
	switch {
	case ev.ResponseID != "" && ev.ResponseID == m.turnCancelled,
		r == nil && m.turnCancelled != "" && ev.ResponseID == "":
		// Turn detection cancelled it first; the client's cancel crossed
		// the response.done.
		return
	case r == nil:
		m.fail("response_cancel_not_active", "", "Cancellation failed: no active response found", ev.EventID)
		return
	case ev.ResponseID != "" && ev.ResponseID != r.id:
		m.fail("invalid_value", "response_id", fmt.Sprintf("response %q is not the active response (%s)", ev.ResponseID, r.id), ev.EventID)
		return
	case r.halted:
		m.finish(realtimeapi.StatusCancelled, "client_cancelled")
		return
	case r.cancel:
		return // already asked
	}
	r.cancel = true
	m.do(command{kind: cmdInterrupt})
}

// agent handles one of the Hark session's events.
func (m *machine) agent(ev transport.Event) {
	switch ev.Type {
	case transport.EventState:
		if ev.State == transport.StateUserSpeaking {
			m.userSpeaking()
		}
	case transport.EventUserFinal:
		if len(m.expect) > 0 && m.expect[0] == strings.TrimSpace(ev.Text) {
			m.expect = m.expect[1:]
			return
		}
		m.userFinal(ev.Text)
	case transport.EventAgentText:
		m.agentText(ev.Text)
	case transport.EventAgentDone:
		if r := m.resp; r != nil && !r.halted {
			if r.msg != nil && r.audio() {
				r.msg.Content[0].Transcript = ev.Text
				r.msg.applyCut()
			}
			m.finish(realtimeapi.StatusCompleted, "")
		}
	case transport.EventInterruption:
		m.interruption(ev.Interruption)
	case transport.EventResumed:
		if r := m.resp; r != nil {
			r.paused, r.bargeMS = false, -1
		}
	case transport.EventError:
		m.send(&realtimeapi.ErrorEvent{EventID: m.eventID(), Error: realtimeapi.APIError{Type: realtimeapi.ErrorServer, Code: "session_error", Message: ev.Text}})
	}
}

// userSpeaking takes the session's confirmed user speech: a new user item,
// unless the speech is talking over a reply, which the session decides.
func (m *machine) userSpeaking() {
	if m.speech != nil || m.committed != nil {
		return
	}
	if r := m.resp; r != nil && !r.halted {
		if r.bargeMS < 0 {
			r.bargeMS = m.nowMS()
		}
		return
	}
	m.openSpeech(m.nowMS())
}

// openSpeech reports the start of the user's speech at ms.
func (m *machine) openSpeech(ms int) {
	m.speech = &speech{id: m.id("item"), startMS: ms}
	m.send(&realtimeapi.InputAudioBufferSpeechStarted{EventID: m.eventID(), AudioStartMS: ms, ItemID: m.speech.id})
}

// userFinal takes the end of a user turn and its transcript.
func (m *machine) userFinal(text string) {
	s := m.committed
	if s == nil {
		if m.speech == nil {
			m.openSpeech(m.nowMS())
		}
		s = m.speech
		m.send(&realtimeapi.InputAudioBufferSpeechStopped{EventID: m.eventID(), AudioEndMS: m.nowMS(), ItemID: s.id})
		m.commitItem(s)
	}
	m.speech, m.committed = nil, nil
	it := m.find(s.id)
	if it == nil {
		return // the client deleted it meanwhile
	}
	it.Content[0].Transcript = text
	m.send(&realtimeapi.InputAudioTranscriptionDelta{EventID: m.eventID(), ItemID: s.id, Delta: text})
	m.send(&realtimeapi.InputAudioTranscriptionCompleted{EventID: m.eventID(), ItemID: s.id, Transcript: text,
		Usage: &realtimeapi.TranscriptionUsage{Type: "duration", Seconds: float64(m.nowMS()-s.startMS) / 1000}})
	m.send(&realtimeapi.ConversationItemDone{EventID: m.eventID(), PreviousItemID: m.prevOf(it), Item: it.wire()})
}

// prevOf returns the id of the item before it.
func (m *machine) prevOf(it *item) string {
	i := slices.Index(m.items, it)
	if i <= 0 {
		return ""
	}
	return m.items[i-1].ID
}

// interruption takes a pause or a cancellation of the session's reply.
func (m *machine) interruption(in *transport.Interruption) {
	r := m.resp
	if r == nil || in == nil || r.halted {
		return
	}
	if !in.Cancelled {
		r.paused = true
		if r.bargeMS < 0 {
			r.bargeMS = m.nowMS()
		}
		return
	}
	if r.msg != nil && r.audio() {
		r.msg.Content[0].Transcript = in.Heard
		r.msg.interrupted = true
		r.msg.applyCut()
	}
	if r.cancel {
		m.finish(realtimeapi.StatusCancelled, "client_cancelled")
		return
	}
	// The user's speech cancelled it: that speech is a user item.
	if m.speech == nil {
		at := r.bargeMS
		if at < 0 {
			at = m.nowMS()
		}
		m.openSpeech(at)
	}
	if td := m.turnDetection(); td != nil && td.InterruptResponse != nil && !*td.InterruptResponse {
		r.halted = true
		return
	}
	m.finish(realtimeapi.StatusCancelled, "turn_detected")
}

// request starts or continues a response for one of the session's LLM
// requests and returns the request to send instead, built from the
// conversation; ok is false when the reply is not wanted (the client
// creates responses itself).
func (m *machine) request(req pipeline.Request) (pipeline.Request, bool) {
	r := m.resp
	if r == nil || r.halted {
		if r != nil {
			m.finish(realtimeapi.StatusCancelled, "turn_detected")
		}
		p := m.pending
		td := m.turnDetection()
		if p == nil && (td == nil || td.CreateResponse == nil || !*td.CreateResponse) {
			return req, false
		}
		m.pending = nil
		if p == nil {
			p = &realtimeapi.ResponseParams{}
		}
		r = m.begin(p)
	}
	return m.build(req, r), true
}

// begin starts a response with params p.
func (m *machine) begin(p *realtimeapi.ResponseParams) *response {
	r := &response{id: m.id("resp"), params: p, bargeMS: -1,
		modalities: m.sess.OutputModalities, format: m.sess.Audio.Output.Format, voice: m.sess.Audio.Output.Voice}
	if p.OutputModalities != nil {
		r.modalities = p.OutputModalities
	}
	if p.Audio != nil && p.Audio.Output != nil {
		if p.Audio.Output.Format != nil {
			r.format = normalFormat(p.Audio.Output.Format)
		}
		if p.Audio.Output.Voice != "" {
			r.voice = p.Audio.Output.Voice
		}
	}
	m.resp, m.userText = r, nil
	m.send(&realtimeapi.ResponseCreated{EventID: m.eventID(), Response: m.wireResponse(r, realtimeapi.StatusInProgress, "")})
	return r
}

// wireResponse describes r as response.created and response.done do.
func (m *machine) wireResponse(r *response, status, reason string) realtimeapi.Response {
	out := realtimeapi.Response{
		ID: r.id, Object: "realtime.response", Status: status, ConversationID: "conv_" + m.sess.ID,
		OutputModalities: r.modalities, Metadata: r.params.Metadata,
		Audio:  &realtimeapi.ResponseAudio{Output: &realtimeapi.AudioOutput{Format: r.format, Voice: r.voice}},
		Output: []realtimeapi.Item{},
	}
	if status == realtimeapi.StatusInProgress {
		return out
	}
	if reason != "" {
		out.StatusDetails = &realtimeapi.StatusDetails{Type: status, Reason: reason}
	}
	outChars := 0
	for _, it := range r.outputs {
		out.Output = append(out.Output, it.wire())
		outChars += len(it.text()) + len(it.Arguments)
	}
	// Hark's engines do not count tokens: about four characters make one.
	in, o := (r.inChars+3)/4, (outChars+3)/4
	out.Usage = &realtimeapi.Usage{TotalTokens: in + o, InputTokens: in, OutputTokens: o,
		InputTokenDetails:  &realtimeapi.TokenDetails{TextTokens: in},
		OutputTokenDetails: &realtimeapi.TokenDetails{TextTokens: o}}
	return out
}

// finish ends the response in progress.
func (m *machine) finish(status, reason string) {
	r := m.resp
	m.resp = nil
	m.turnCancelled = ""
	if reason == "turn_detected" {
		m.turnCancelled = r.id
	}
	if it := r.msg; it != nil {
		if status == realtimeapi.StatusCompleted && !it.interrupted {
			it.Status = "completed"
		} else {
			it.Status = "incomplete"
		}
		ids := func() (string, string, int) { return r.id, it.ID, slices.Index(r.outputs, it) }
		rid, iid, idx := ids()
		if r.audio() {
			m.send(&realtimeapi.ResponseOutputAudioDone{EventID: m.eventID(), ResponseID: rid, ItemID: iid, OutputIndex: idx})
			m.send(&realtimeapi.ResponseOutputAudioTranscriptDone{EventID: m.eventID(), ResponseID: rid, ItemID: iid, OutputIndex: idx, Transcript: it.Content[0].Transcript})
		} else {
			it.Content[0].Text = r.text.String()
			m.send(&realtimeapi.ResponseOutputTextDone{EventID: m.eventID(), ResponseID: rid, ItemID: iid, OutputIndex: idx, Text: it.Content[0].Text})
		}
		m.send(&realtimeapi.ResponseContentPartDone{EventID: m.eventID(), ResponseID: rid, ItemID: iid, OutputIndex: idx, Part: partOf(it.Content[0])})
		m.send(&realtimeapi.ResponseOutputItemDone{EventID: m.eventID(), ResponseID: rid, OutputIndex: idx, Item: it.wire()})
		m.send(&realtimeapi.ConversationItemDone{EventID: m.eventID(), PreviousItemID: m.prevOf(it), Item: it.wire()})
	}
	m.send(&realtimeapi.ResponseDone{EventID: m.eventID(), Response: m.wireResponse(r, status, reason)})
	m.send(&realtimeapi.RateLimitsUpdated{EventID: m.eventID(), RateLimits: []realtimeapi.RateLimit{
		{Name: "requests", Limit: 1 << 20, Remaining: 1 << 20},
		{Name: "tokens", Limit: 1 << 20, Remaining: 1 << 20},
	}})
}

// partOf is the content part event form of a message's content.
func partOf(c realtimeapi.ContentPart) realtimeapi.ContentPart {
	if c.Type == "output_audio" {
		return realtimeapi.ContentPart{Type: "audio", Transcript: c.Transcript}
	}
	return realtimeapi.ContentPart{Type: "text", Text: c.Text}
}

// message returns the response's message item, adding it first.
func (m *machine) message(r *response) *item {
	if r.msg != nil {
		return r.msg
	}
	part := realtimeapi.ContentPart{Type: "output_text"}
	if r.audio() {
		part = realtimeapi.ContentPart{Type: "output_audio"}
	}
	it := &item{Item: realtimeapi.Item{
		ID: m.id("item"), Object: "realtime.item", Type: realtimeapi.ItemMessage, Role: "assistant",
		Status: "in_progress", Content: []realtimeapi.ContentPart{part},
	}, cutMS: -1}
	r.msg = it
	m.addOutput(r, it)
	m.send(&realtimeapi.ResponseContentPartAdded{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID,
		OutputIndex: len(r.outputs) - 1, Part: partOf(part)})
	return it
}

// addOutput adds an output item to the response and the conversation.
func (m *machine) addOutput(r *response, it *item) {
	prev := m.lastID()
	r.outputs = append(r.outputs, it)
	m.items = append(m.items, it)
	m.send(&realtimeapi.ResponseOutputItemAdded{EventID: m.eventID(), ResponseID: r.id, OutputIndex: len(r.outputs) - 1, Item: it.wire()})
	m.send(&realtimeapi.ConversationItemAdded{EventID: m.eventID(), PreviousItemID: prev, Item: it.wire()})
}

// implicit returns the response for speech the session starts on its own
// (its fallback line after a failure).
func (m *machine) implicit() *response {
	if m.resp == nil {
		return m.begin(&realtimeapi.ResponseParams{})
	}
	return m.resp
}

// frame takes one 20 ms frame of the session's output (24 kHz): a
// response.output_audio.delta while a response speaks.
func (m *machine) frame(samples []int16) {
	if silent(samples) {
		return
	}
	r := m.implicit()
	if r.halted || r.paused || !r.audio() {
		return
	}
	it := m.message(r)
	delta, err := m.enc.encode(samples, r.format)
	if err != nil {
		return
	}
	it.samples += len(samples)
	r.lastFrame = len(samples)
	m.send(&realtimeapi.ResponseOutputAudioDelta{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID,
		OutputIndex: slices.Index(r.outputs, it), Delta: delta})
}

// agentText takes a chunk of the reply whose audio started playing: its
// transcript delta.
func (m *machine) agentText(text string) {
	r := m.implicit()
	if r.halted || !r.audio() {
		return
	}
	it := m.message(r)
	// The chunk began in the frame just sent.
	at := max(it.samples-r.lastFrame, 0)
	if n := len(it.chunks); n > 0 {
		at = max(at, it.chunks[n-1].at)
	}
	it.chunks = append(it.chunks, chunk{text: text, at: at})
	delta := text
	if r.chunks > 0 {
		delta = " " + text
	}
	r.chunks++
	it.Content[0].Transcript += delta
	m.send(&realtimeapi.ResponseOutputAudioTranscriptDelta{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID,
		OutputIndex: slices.Index(r.outputs, it), Delta: delta})
}

// textDelta takes a piece of the LLM's reply: with text output, a
// response.output_text.delta; with audio, the message item is added now
// so that it comes before any function call of the reply.
func (m *machine) textDelta(text string) {
	r := m.resp
	if r == nil || r.halted {
		return
	}
	it := m.message(r)
	if r.audio() {
		return
	}
	r.text.WriteString(text)
	it.Content[0].Text = r.text.String()
	m.send(&realtimeapi.ResponseOutputTextDelta{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID,
		OutputIndex: slices.Index(r.outputs, it), Delta: text})
}

// clientCall reports a call of one of the client's tools: a function_call
// output item the client runs.
func (m *machine) clientCall(c pipeline.ToolCall) {
	r := m.resp
	if r == nil || r.halted {
		return
	}
	if c.ID == "" {
		c.ID = m.id("call")
	}
	it := &item{Item: realtimeapi.Item{
		ID: m.id("item"), Object: "realtime.item", Type: realtimeapi.ItemFunctionCall, Status: "in_progress",
		CallID: c.ID, Name: c.Name,
	}, cutMS: -1}
	m.addOutput(r, it)
	idx := len(r.outputs) - 1
	m.send(&realtimeapi.ResponseFunctionCallArgumentsDelta{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID, OutputIndex: idx, CallID: c.ID, Delta: c.Arguments})
	m.send(&realtimeapi.ResponseFunctionCallArgumentsDone{EventID: m.eventID(), ResponseID: r.id, ItemID: it.ID, OutputIndex: idx, CallID: c.ID, Name: c.Name, Arguments: c.Arguments})
	it.Status, it.Arguments = "completed", c.Arguments
	m.send(&realtimeapi.ResponseOutputItemDone{EventID: m.eventID(), ResponseID: r.id, OutputIndex: idx, Item: it.wire()})
	m.send(&realtimeapi.ConversationItemDone{EventID: m.eventID(), PreviousItemID: m.prevOf(it), Item: it.wire()})
}

// clientTools returns the tools the client declared for the response in
// progress (none when tool_choice is "none").
func (m *machine) clientTools() []realtimeapi.Tool {
	tools, choice := m.sess.Tools, m.sess.ToolChoice
	if r := m.resp; r != nil && r.params != nil {
		if r.params.Tools != nil {
			tools = r.params.Tools
		}
		if len(r.params.ToolChoice) > 0 {
			choice = r.params.ToolChoice
		}
	}
	if toolsOff(choice) {
		return nil
	}
	return tools
}

// voice returns the client's voice for the response in progress.
func (m *machine) voice() string {
	if r := m.resp; r != nil {
		return r.voice
	}
	return m.sess.Audio.Output.Voice
}

// speaks reports whether the response in progress has audio output.
func (m *machine) speaks() bool {
	r := m.resp
	return r == nil || r.audio()
}
