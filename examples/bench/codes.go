package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/agenttest"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/provider/openai"
	"github.com/harkvoice/hark/agent/provider/openai/openaitest"
	"github.com/harkvoice/hark/agent/provider/realtime"
	"github.com/harkvoice/hark/agent/provider/realtime/realtimetest"
	"github.com/harkvoice/hark/agent/transport/webrtc"
	"github.com/harkvoice/hark/pipeline"
	"github.com/harkvoice/hark/vad/silero"
)

// secCodes is the section of user turns that end in a code: an order
// number, spelled letters and digits, an email address.
const secCodes = "codes"

// codeClip is one user turn ending in a code: flite clips played one after
// the other with a pause between them (a hesitation inside the code).
type codeClip struct {
	name  string
	files []string
	gap   time.Duration // silence between the files
	// segments are the words of each stretch of speech between pauses,
	// as the scripted recognisers answer them.
	segments []string
}

// codeClips are the code turns, played in turn.
var codeClips = []codeClip{
	{name: "order", files: []string{"order_slt.wav"}, segments: []string{"Where is my order one two three four?"}},
	{name: "order2", files: []string{"code_order_kal16.wav"}, segments: []string{"Can you check order five six seven eight?"}},
	{name: "letters", files: []string{"code_letters_slt.wav"}, segments: []string{"The code is K L four five."}},
	{name: "email", files: []string{"code_email_kal16.wav"}, segments: []string{"My email is john dot smith at example dot com."}},
	{name: "order-gap", files: []string{"code_part1_rms.wav", "code_part2_rms.wav"}, gap: 700 * time.Millisecond,
		segments: []string{"My order number is one two", "three four."}},
}

// Conversations of the codes section: in one the formats of the codes are
// known (an order number's length in a tool's schema, the letters' format
// by WithCodeFormats), in the other nothing says how long a code is.
const (
	convKnown   = "known"
	convUnknown = "unknown"
)

// lookupOrderSchema is the demo's order tool, its order numbers four
// digits long.
const lookupOrderSchema = `{"type":"object","properties":{"order_id":{"type":"string","pattern":"^[0-9]{4}$"}},"required":["order_id"]}`

// codeFormats are the known conversation's other codes.
var codeFormats = []agent.CodeFormat{{Pattern: "[A-Z]{2}[0-9]{2}", Keywords: []string{"code"}}}

// codeResult is one engine set's measurements in one conversation.
type codeResult struct {
	Engines, Conv string
	Turns, Failed int
	// Cut counts turns committed before the user finished the code.
	Cut int
	// Total: end of the user's speech (as sent) to the first audible agent
	// packet received, in milliseconds, per turn that was not cut.
	Total []float64
	// ByClip is Total per clip name.
	ByClip map[string][]float64
}

// runCodes measures, per engine set and conversation, how soon the agent
// answers a turn that ends in a code and how often it cuts the user off.
func runCodes(ctx context.Context, cfg config, w *silero.Weights, progress io.Writer) ([]*codeResult, error) {
	clips := make([][]int16, len(codeClips))
	ends := make([]int, len(codeClips))
	for i, cc := range codeClips {
		for j, f := range cc.files {
			c, err := loadClip(cfg.speechDir, f, rtcRate)
			if err != nil {
				return nil, err
			}
			if j > 0 {
				clips[i] = append(clips[i], make([]int16, int(cc.gap.Seconds()*rtcRate))...)
			}
			clips[i] = append(clips[i], c...)
		}
		_, end, ok := speechBounds(clips[i], rtcRate)
		if !ok {
			return nil, fmt.Errorf("bench: %s is silent", cc.name)
		}
		ends[i] = end
	}
	var out []*codeResult
	for _, name := range cfg.engines {
		for _, conv := range []string{convKnown, convUnknown} {
			fmt.Fprintf(progress, "  engines %s, formats %s\n", name, conv)
			res, err := runCodeConv(ctx, cfg, w, name, conv, clips, ends, progress)
			if err != nil {
				return nil, fmt.Errorf("bench: codes %s %s: %w", name, conv, err)
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// codeEngines returns the session options of an engine set in a
// conversation, a function queueing the scripted recogniser's answers for
// a clip (nil for a real recogniser) and one that stops its servers.
func codeEngines(w *silero.Weights, name, conv string) (opts []agent.Option, script func(codeClip), stop func(), err error) {
	stop = func() {}
	known := conv == convKnown
	tools := []agent.Tool{{
		Tool: pipeline.Tool{Name: "lookup_order", Description: "Look up an order by its number.", Parameters: json.RawMessage(lookupOrderSchema)},
		Func: func(context.Context, json.RawMessage) (string, error) { return `{"status":"shipped"}`, nil },
	}}
	reply := openaitest.Text("Your order shipped on Tuesday and should arrive on Friday.")
	speech := openaitest.SpeechReply{Audio: agenttest.Speech(3*time.Second, openaitest.SpeechRate, 7)}
	switch name {
	case "offline":
		eng, err := offline.New()
		if err != nil {
			return nil, nil, nil, err
		}
		stop = func() { _ = eng.Close() }
		opts = []agent.Option{agent.WithStreamingSTT(eng.STT), agent.WithLLM(eng.LLM), agent.WithTTS(eng.TTS), agent.WithVAD(eng.VAD)}
		if known {
			// The demo's own tools: lookup_order's schema says four digits.
			opts = append(opts, agent.WithTools(eng.Tools...))
		}
	case "openai":
		api := openaitest.NewServer()
		stop = api.Close
		api.SetDefaultChat(reply)
		api.SetDefaultSpeech(speech)
		cl, err := openai.New(openai.WithBaseURL(api.URL), openai.WithAPIKey("bench"))
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		opts = []agent.Option{agent.WithSTT(cl), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(sileroFactory(w))}
		// The batch recogniser hears the turn so far at each pause.
		script = func(cc codeClip) {
			var rs []openaitest.TranscriptionReply
			for i := range cc.segments {
				rs = append(rs, openaitest.TranscriptionReply{Text: strings.Join(cc.segments[:i+1], " "), Language: "english"})
			}
			api.Transcription(rs...)
		}
	case engineRealtimeSTT:
		rt := realtimetest.NewServer()
		api := openaitest.NewServer()
		stop = func() { api.Close(); rt.Close() }
		api.SetDefaultChat(reply)
		api.SetDefaultSpeech(speech)
		rec, err := realtime.New(realtime.WithBaseURL(rt.URL), realtime.WithAPIKey("bench"))
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		cl, err := openai.New(openai.WithBaseURL(api.URL), openai.WithAPIKey("bench"))
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		opts = []agent.Option{agent.WithStreamingSTT(rec), agent.WithLLM(cl), agent.WithTTS(cl), agent.WithVAD(sileroFactory(w))}
		// The streaming recogniser transcribes each committed stretch.
		script = func(cc codeClip) {
			var rs []realtimetest.Reply
			for _, s := range cc.segments {
				rs = append(rs, realtimetest.Reply{Text: s})
			}
			rt.Transcription(rs...)
		}
	default:
		return nil, nil, nil, fmt.Errorf("unknown engine set %q", name)
	}
	if known {
		opts = append(opts, agent.WithCodeFormats(codeFormats...))
		if name != "offline" {
			opts = append(opts, agent.WithTools(tools...))
		}
	}
	return opts, script, stop, nil
}

func runCodeConv(ctx context.Context, cfg config, w *silero.Weights, name, conv string, clips [][]int16, ends []int, progress io.Writer) (*codeResult, error) {
	opts, script, stop, err := codeEngines(w, name, conv)
	if err != nil {
		return nil, err
	}
	defer stop()
	srv, err := startRTCServer(func(c *webrtc.Conn) (*agent.Session, error) { return agent.New(c, opts...) })
	if err != nil {
		return nil, err
	}
	defer srv.close()
	c, err := dialRTC(ctx, srv.url)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if cfg.verbose {
		c.verbose = progress
	}
	res := &codeResult{Engines: name, Conv: conv, ByClip: map[string][]float64{}}
	n := max(cfg.codeTurns, len(codeClips))
	for i := range n {
		k := i % len(codeClips)
		if script != nil {
			script(codeClips[k])
		}
		ms, cut, err := codeTurn(ctx, c, clips[k], ends[k])
		res.Turns++
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			res.Failed++
			fmt.Fprintf(progress, "  turn %d (%s): %v\n", i+1, codeClips[k].name, err)
		case cut:
			res.Cut++
			fmt.Fprintf(progress, "  turn %d (%s): cut off before the user finished\n", i+1, codeClips[k].name)
		default:
			res.Total = append(res.Total, ms)
			res.ByClip[codeClips[k].name] = append(res.ByClip[codeClips[k].name], ms)
		}
		if err := c.recover(ctx); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// codeTurn plays one code turn and returns the time from the end of its
// speech to the first audible reply, and whether the session committed
// the turn before the speech ended (cut).
func codeTurn(ctx context.Context, c *rtcClient, clip []int16, end int) (float64, bool, error) {
	pk, ev := c.mark()
	defer c.trace(ev, time.Now())
	sent, err := c.say(ctx, clip)
	if err != nil {
		return 0, false, err
	}
	speechEnd := sampleTime(sent, end)
	first, err := c.waitAudible(ctx, pk, 20*time.Second)
	if err != nil {
		return 0, false, fmt.Errorf("no reply audio: %w", err)
	}
	if first.at.Before(speechEnd) {
		return 0, true, nil
	}
	c.mu.Lock()
	finals := slices.IndexFunc(c.events[min(ev, len(c.events)):], func(e rtcEvent) bool {
		return e.Type == agent.EventUserFinal && e.at.Before(speechEnd)
	})
	c.mu.Unlock()
	if finals >= 0 {
		return 0, true, nil
	}
	return millis(first.at.Sub(speechEnd)), false, nil
}

// key is the bench.json prefix of the result: v2v_code_ENGINES_CONV.
func (c *codeResult) key() string { return "v2v_code_" + c.Engines + "_" + c.Conv }

// flat adds the result's bench.json keys.
func (c *codeResult) flat(out map[string]any, put func(string, summary)) {
	p := c.key()
	put(p+"_ms", summarize(c.Total))
	out[p+"_turns"], out[p+"_failed"], out[p+"_cut"] = c.Turns, c.Failed, c.Cut
	by := map[string]summary{}
	for name, xs := range c.ByClip {
		s := summarize(xs)
		s.P50, s.P95, s.Max = round1(s.P50), round1(s.P95), round1(s.Max)
		by[name] = s
	}
	out[p+"_by_clip_ms"] = by
}

// markdownCodes renders the codes section.
func markdownCodes(p func(string, ...any), rs []*codeResult) {
	p("## Turns that end in a code\n\n")
	p("End of the user's speech → first audible agent packet received, for turns that end in an order number, ")
	p("spelled letters and digits, or an email address; *cut* counts turns the session committed before the user finished.\n\n")
	p("| engines | code formats | turns | cut | failed | p50 | p95 | max |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range rs {
		s := summarize(c.Total)
		p("| %s | %s | %d | %d | %d | %.1f | %.1f | %.1f |\n", engineLabel(c.Engines), c.Conv, c.Turns, c.Cut, c.Failed, s.P50, s.P95, s.Max)
	}
	var clips []string
	for _, cc := range codeClips {
		d := strings.Join(cc.segments, " … ")
		clips = append(clips, fmt.Sprintf("%q (%s)", d, strings.Join(cc.files, " + ")))
	}
	p("\nHow measured: as the voice-to-voice section, one session per engine set and conversation, the client's microphone ")
	p("playing in turn %s; the last is two clips with %v of silence between them, a pause inside the number. ",
		strings.Join(clips, ", "), codeClips[len(codeClips)-1].gap)
	p("*known*: the conversation says what codes to expect: the order tool's schema (`order_id`, pattern `^[0-9]{4}$`; with the offline ")
	p("engines, the demo's own lookup_order) and `agent.WithCodeFormats` for the letters (`[A-Z]{2}[0-9]{2}`, keyword *code*), so a ")
	p("code complete for its format ends the turn at once. *unknown*: no tools and no formats, so the session holds after digits ")
	p("and letters that may go on (`WithNumberHold`, 1.5 s more). An email address ends the turn once it ends in *dot* and a ")
	p("top-level domain. The scripted recognisers (*openai*, *realtime_stt*) answer each stretch of speech with its words; ")
	p("PocketSphinx (*offline*) hears what it hears (\"K L four five\" as \"k l for five\", the email's *at* as *that*). ")
	p("`v2v_code_ENGINES_CONV_ms_*`, `_cut`, `_by_clip_ms` in bench.json.\n\n")
}
