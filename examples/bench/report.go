package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the benchmark ran.
type machine struct {
	CPUModel  string `json:"cpu_model"`
	CPUCores  int    `json:"cpu_cores"` // logical CPUs in /proc/cpuinfo
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

// machineInfo reads the CPU model and count from /proc/cpuinfo.
func machineInfo() machine {
	m := machine{GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, CPUCores: runtime.NumCPU()}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return m
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			n++
		case "model name":
			if m.CPUModel == "" {
				m.CPUModel = strings.TrimSpace(v)
			}
		}
	}
	if n > 0 {
		m.CPUCores = n
	}
	return m
}

// report is everything measured, written as BENCHMARKS.md and bench.json.
type report struct {
	Machine  machine
	Started  time.Time
	Duration time.Duration
	BargeIn  *bargeInResult
	// BargeInFresh is the barge-in section with a new session per trial.
	BargeInFresh *bargeInResult
	LiveKit      *liveKitResult
	Realtime     *realtimeResult
	V2V          []*v2vResult
	Codes        []*codeResult
	Interim      []*interimResult
	Capacity     *capacityResult
	CapacityAEC  *capacityResult
	Phone        *capacityResult
	Frame        []frameCost
	AEC          *aecResult
}

// flat returns the JSON results: the headline keys at the top level and
// the details beside them.
func (r *report) flat() map[string]any {
	out := map[string]any{
		"date":       r.Started.Format(time.RFC3339),
		"duration_s": r.Duration.Seconds(),
		"cpu_model":  r.Machine.CPUModel,
		"cpu_cores":  r.Machine.CPUCores,
		"go_version": r.Machine.GoVersion,
		"os":         r.Machine.OS,
		"command":    "make bench",
		"units":      "keys ending in _ms are milliseconds, _kb kibibytes, _db decibels, _us_per_10ms microseconds per 10 ms of audio",
	}
	put := func(prefix string, s summary) {
		out[prefix+"_p50"], out[prefix+"_p95"], out[prefix+"_max"] = round1(s.P50), round1(s.P95), round1(s.Max)
	}
	if b := r.BargeIn; b != nil {
		put("bargein_onset_to_silence_ms", summarize(b.OnsetToSilence))
		put("bargein_confirm_to_silence_ms", summarize(b.ConfirmToSilence))
		put("bargein_server_onset_to_silence_ms", summarize(b.ServerOnsetToSilence))
		put("bargein_onset_to_event_ms", summarize(b.OnsetToEvent))
		put("bargein_event_to_silence_ms", summarize(b.EventToSilence))
		out["bargein_trials"], out["bargein_missed"] = b.Trials, b.Missed
	}
	if b := r.BargeInFresh; b != nil {
		put("bargein_fresh_onset_to_silence_ms", summarize(b.OnsetToSilence))
		put("bargein_fresh_onset_to_event_ms", summarize(b.OnsetToEvent))
		out["bargein_fresh_trials"], out["bargein_fresh_missed"] = b.Trials, b.Missed
	}
	if r.LiveKit != nil {
		r.LiveKit.flat(out, put)
	}
	if r.Realtime != nil {
		r.Realtime.flat(out, put)
	}
	var started, wasted int
	for _, v := range r.V2V {
		p := "v2v_" + v.Engines
		put(p+"_ms", summarize(v.Total))
		s, w := v.Preempt.counts()
		started, wasted = started+s, wasted+w
		out[p+"_preemptive_started"], out[p+"_preemptive_wasted"] = s, w
		out[p+"_turns"], out[p+"_failed"] = v.Turns, v.Failed
		stages := map[string]summary{}
		for name, xs := range v.stages() {
			s := summarize(xs)
			s.P50, s.P95, s.Max = round1(s.P50), round1(s.P95), round1(s.Max)
			stages[name] = s
		}
		out[p+"_stages_ms"] = stages
		if v.Engines == "openai" {
			// The headline: Hark's own latency with providers that answer
			// at once.
			put("v2v_ms", summarize(v.Total))
		}
	}
	for _, c := range r.Codes {
		c.flat(out, put)
	}
	for _, c := range r.Interim {
		c.flat(out, put)
	}
	if len(r.V2V) > 0 {
		// Preemptive replies dropped unheard, of those started, over all
		// engine sets (0 when none started).
		out["preemptive_wasted_ratio"] = 0.0
		if started > 0 {
			out["preemptive_wasted_ratio"] = math.Round(1000*float64(wasted)/float64(started)) / 1000
		}
	}
	if c := r.Capacity; c != nil {
		out["sessions_per_core"] = c.SessionsPerCore
		out["mem_per_idle_session_kb"] = c.IdleKB
		out["mem_per_active_session_kb"] = c.ActiveKB
		out["capacity"] = c
	}
	if c := r.CapacityAEC; c != nil {
		out["sessions_per_core_aec"] = c.SessionsPerCore
		out["mem_per_idle_session_aec_kb"] = c.IdleKB
		out["mem_per_active_session_aec_kb"] = c.ActiveKB
		out["capacity_aec"] = c
	}
	if c := r.Phone; c != nil {
		out["phone_sessions_per_core"] = c.SessionsPerCore
		out["phone_mem_per_idle_session_kb"] = c.IdleKB
		out["phone_mem_per_active_session_kb"] = c.ActiveKB
		out["phone_capacity"] = c
	}
	if len(r.Frame) > 0 {
		out["frame_costs"] = r.Frame
	}
	if r.AEC != nil {
		r.AEC.flat(out)
	}
	return out
}

// stages returns the per-stage samples by name, in milliseconds.
func (v *v2vResult) stages() map[string][]float64 {
	return map[string][]float64{
		"endpoint_and_transport": v.Endpoint, "stt_final": v.STT, "llm_first_token": v.LLM,
		"tts_first_audio": v.TTS, "first_audio_sent": v.Sent, "total": v.Total,
	}
}

// write writes both reports.
func (r *report) write(cfg config) error {
	b, err := json.MarshalIndent(r.flat(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.outJSON, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(cfg.outMD, []byte(r.markdown(cfg)), 0o644)
}

// markdown renders BENCHMARKS.md.
func (r *report) markdown(cfg config) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Hark benchmarks\n\n")
	p("Generated by `make bench` (`go run ./examples/bench`) on %s.\n\n", r.Started.Format("2006-01-02 15:04 MST"))
	p("| machine | |\n|---|---|\n| CPU | %s |\n| logical CPUs | %d |\n| Go | %s (%s) |\n| run time | %v |\n\n",
		r.Machine.CPUModel, r.Machine.CPUCores, r.Machine.GoVersion, r.Machine.OS, r.Duration)
	p("All latencies in milliseconds; p50 and p95 are nearest-rank percentiles. ")
	p("Numbers from a shared 2-core virtual machine move from run to run; rerun on your own hardware.\n\n")

	if bi := r.BargeIn; bi != nil {
		p("## 1. Barge-in latency over WebRTC (loopback)\n\n")
		p("| measurement | n | p50 | p95 | max |\n|---|---:|---:|---:|---:|\n")
		row := func(name string, xs []float64) {
			s := summarize(xs)
			p("| %s | %d | %.1f | %.1f | %.1f |\n", name, s.N, s.P50, s.P95, s.Max)
		}
		row("speech onset → last audible agent packet received (client)", bi.OnsetToSilence)
		row("VAD confirm → silence (session)", bi.ConfirmToSilence)
		row("speech onset → silence (session's own figure)", bi.ServerOnsetToSilence)
		row("speech onset → `interruption` event received (client)", bi.OnsetToEvent)
		row("`interruption` event received → last audible agent packet received (client)", bi.EventToSilence)
		if f := r.BargeInFresh; f != nil {
			row("*new session per trial:* speech onset → last audible agent packet received (client)", f.OnsetToSilence)
			row("*new session per trial:* speech onset → `interruption` event received (client)", f.OnsetToEvent)
		}
		p("\nTrials: %d in one session, missed: %d", bi.Trials, bi.Missed)
		if f := r.BargeInFresh; f != nil {
			p("; %d with a new peer and session each, missed: %d", f.Trials, f.Missed)
		}
		p(".\n\n")
		p("How measured: a pion client connects to Hark's WebRTC transport over 127.0.0.1 (host candidates on loopback only, ")
		p("mDNS off) and an `agent.Session` with the pure-Go Silero v5 VAD and its default turn-taking settings. As in a ")
		p("conversation, one session serves every trial: the client asks by voice (the voice-to-voice clips below, in turn), ")
		p("the reply comes from agenttest's scripted LLM and fake TTS (noise-like speech, audible in every 20 ms frame, so the ")
		p("last audible packet marks the real stop), and at a seeded random point 0.3–3.0 s into it the client's microphone ")
		p("track plays flite's \"Stop.\" (`testdata/speech/stop_slt.wav`) as Opus. The rows marked *new session per trial* ")
		p("connect a new peer for every trial and ask by a data-channel text message, so \"Stop.\" is the first speech the ")
		p("session's VAD hears (`bargein_fresh_*` in bench.json; `-fresh-trials`). ")
		p("Onset is the first 10 ms of the clip above −40 dBFS, timed as a live microphone would capture it (the send time of ")
		p("its 20 ms packet less the rest of the packet). Silence is the arrival of the last agent packet that decodes above ")
		p("−40 dBFS. Confirm → silence is the `interruption` event's `confirm_to_silence_ns` read from the data channel. ")
		p("The session counts its onset from the first audio frame its VAD marks as speech, and its silence from the last frame ")
		p("the playout sent, while packets already paced out are still on their way; the two client rows split the client's ")
		p("figure at the arrival of the event. The transport adds well under 1 ms (RTP send to `ReadAudio`); the rest of ")
		p("onset → event is the VAD's confirmation (two 32 ms Silero windows at or above 0.5 once the /s/ of \"Stop.\" begins). ")
		p("Silero clears its recurrent state after each utterance, so the ongoing session confirms as quickly as a new one.\n\n")
	}
	if r.LiveKit != nil {
		r.LiveKit.markdown(p)
	}
	if r.Realtime != nil {
		r.Realtime.markdown(p)
	}
	if len(r.V2V) > 0 {
		p("## 2. Voice-to-voice latency over WebRTC (loopback)\n\n")
		p("End of the user's speech → first audible agent packet received, and the session's `turn_metrics` ")
		p("(each stage measured from the VAD's end of speech).\n\n")
		p("| engines | turns | stage | p50 | p95 | max |\n|---|---:|---|---:|---:|---:|\n")
		for _, v := range r.V2V {
			st := v.stages()
			for _, name := range []string{"total", "endpoint_and_transport", "stt_final", "llm_first_token", "tts_first_audio", "first_audio_sent"} {
				s := summarize(st[name])
				p("| %s | %d | %s | %.1f | %.1f | %.1f |\n", engineLabel(v.Engines), s.N, stageLabel(name), s.P50, s.P95, s.Max)
			}
		}
		p("\nHow measured: the same pion client and WebRTC transport; the client's microphone plays flite clips ")
		p("(%s) in turn. End of speech is the end of the last 10 ms above −40 dBFS, timed as for the onset above. ", strings.Join(v2vClips, ", "))
		p("*offline*: PocketSphinx, the dialogue engine and Flite (agent/provider/offline), Silero VAD. ")
		p("*openai*: the OpenAI provider against agent/provider/openai/openaitest, an OpenAI-compatible server on 127.0.0.1 that answers ")
		p("at once, so the figures are Hark's own overhead. The stages count from the VAD's end-of-speech event and include the end-of-turn wait where the session holds the reply (the default preset's: 200 ms after words that may end a turn, longer after an unfinished phrase or a code that may go on); ")
		p("*realtime_stt*: the same, but the words come from the streaming Realtime transcription provider (agent/provider/realtime) ")
		p("against agent/provider/realtime/realtimetest answering at once: the audio streams over a WebSocket while the user speaks and is committed when the turn ends. ")
		p("`v2v_ms_*` in bench.json is the *openai* row, `v2v_realtime_stt_ms_*` the *realtime_stt* row. ")
		p("Preemptive replies (prepared while the end of the turn is awaited, dropped unheard when the words change): ")
		for _, v := range r.V2V {
			s, w := v.Preempt.counts()
			p("*%s* %d started, %d wasted; ", v.Engines, s, w)
		}
		p("`preemptive_wasted_ratio` is wasted over started, all engine sets. ")
		p("With providers that answer at once, most of the total is turn-taking policy: the VAD's silence to end speech ")
		p("and the session's end-of-turn wait (200 ms each in the default preset), partly hidden by the preemptive reply. After the first audio the client stops the reply and waits.\n\n")
	}
	if len(r.Codes) > 0 {
		markdownCodes(p, r.Codes)
	}
	if len(r.Interim) > 0 {
		markdownInterim(p, r.Interim)
	}
	described := false
	for _, c := range []*capacityResult{r.Capacity, r.CapacityAEC} {
		if c == nil {
			continue
		}
		markdownCapacity(p, cfg, c, !described)
		described = true
	}
	if c := r.Phone; c != nil {
		p("## 3b. Capacity of one core (SIP calls, μ-law 8 kHz both ways)\n\n")
		capacityTables(p, "call", "calls", c)
		p("\nHow measured: as section 3, but the server is agent/transport/sip answering real SIP calls on 127.0.0.1 ")
		p("(INVITE, 200 OK with the SDP answer, ACK; BYE at the end of a level) placed by a sipgo user agent in this process. ")
		p("Each call sends μ-law RTP every 20 ms (all calls from one socket and one goroutine): silence, and once per cycle the ")
		p("%.1f s utterance resampled to 8 kHz; the server answers in μ-law. Each call is a full `agent.Session` with the phone ", c.UserClipS)
		p("preset (G.711 decode, Silero VAD on its 8 kHz branch, echo guard, turn-taking, playout clock, resampling and G.711 encode of a cached ")
		p("%.1f s reply) on its own RTP socket. `phone_sessions_per_core` and `phone_mem_per_idle_session_kb` in bench.json.\n\n", c.ReplyS)
	}
	if len(r.Frame) > 0 {
		p("## 4. Per-frame costs (one core)\n\n")
		p("| stage | frame | ns/op | allocs/op | share of one core per stream |\n|---|---|---:|---:|---:|\n")
		for _, f := range r.Frame {
			p("| %s | %s | %.0f | %d | %.2f%% |\n", f.Name, f.Frame, f.NsPerOp, f.AllocsOp, f.CorePct)
		}
		p("\nHow measured: `testing.Benchmark` on flite speech, the fastest of %d runs of %s each, in a child process with ", benchRuns, benchTime)
		p("GOMAXPROCS=1 pinned to one CPU (with SCHED_FIFO where allowed, as for the capacity server); the scalar Silero row ")
		p("runs in another such child with `GODEBUG=cpu.avx2=off`, which makes the model use its portable Go kernels.\n\n")
	}
	if r.AEC != nil {
		r.AEC.markdown(p)
	}
	p("## Reproduce\n\n```\nmake bench          # or: go run -tags speexdsp ./examples/bench -h\n```\n")
	return b.String()
}

func engineLabel(name string) string {
	switch name {
	case "openai":
		return "openai (openaitest, instant)"
	case engineRealtimeSTT:
		return "realtime_stt (Realtime transcription, realtimetest, instant)"
	}
	return "offline (sphinx, dialogue, flite)"
}

func stageLabel(name string) string {
	switch name {
	case "total":
		return "**end of speech → first audio received**"
	case "endpoint_and_transport":
		return "VAD end-of-speech detection + transport"
	case "stt_final":
		return "STT final (from VAD end)"
	case "llm_first_token":
		return "LLM first token (from VAD end)"
	case "tts_first_audio":
		return "TTS first audio (from VAD end)"
	case "first_audio_sent":
		return "first audio sent (from VAD end)"
	}
	return name
}

// markdownCapacity writes a device capacity section; full describes how
// it was measured.
func markdownCapacity(p func(string, ...any), cfg config, c *capacityResult, full bool) {
	if c.AEC {
		p("## 3a. Capacity of one core with the server's echo canceller (device WebSocket, Opus both ways)\n\n")
	} else {
		p("## 3. Capacity of one core (device WebSocket, Opus both ways)\n\n")
	}
	capacityTables(p, "session", "sessions", c)
	if c.AEC {
		p("\nThe devices' hello leaves \"aec\" out, as a device without echo cancellation of its own does, so every session ")
		p("runs the server's echo canceller (vad/aec) on its microphone while the agent speaks and for the echo's tail after ")
		p("(`sessions_per_core_aec`, `mem_per_idle_session_aec_kb` in bench.json). ")
	} else {
		p("\nThe devices' hello says \"aec\": false, as a device that cancels its own echo does (`sessions_per_core`). ")
	}
	if !full {
		p("Otherwise measured as above.\n\n")
		return
	}
	pin := "pinned to CPU %d with sched_setaffinity"
	if !c.Pinned {
		pin = "NOT pinned (sched_setaffinity failed; CPU %d intended)"
	}
	if c.Realtime {
		pin += " and given the SCHED_FIFO policy, so that other processes on a shared machine yield that CPU to it as on a dedicated core"
	}
	p("How measured: the server runs in a child process with GOMAXPROCS=1, "+pin+"; the load generator runs ", c.ChildCPU)
	p("in this process on the other CPUs. Each simulated device speaks the device protocol over a WebSocket on 127.0.0.1: ")
	p("16 kHz Opus in, a %.1f s flite utterance, then silence until the agent's `agent_done`, a 300 ms pause, again. ", c.UserClipS)
	p("Each session is a full `agent.Session` (Opus decode, Silero VAD, echo guard, turn-taking, playout clock, Opus encode ")
	p("of the reply) whose STT, LLM and TTS answer at once from a cache (a fixed transcript, a fixed reply, a cached %.1f s clip), ", c.ReplyS)
	p("so only Hark's own work counts. A level passes when, over a measured window of %v after %v of warm-up, every session's ", cfg.capWindow, cfg.capWarmup)
	p("playout frames reached the transport within 10 ms of their slot on the 20 ms clock (a frame's lateness is its offset ")
	p("from the clock less the smallest offset of the session's frames in the second before), no input overran and every ")
	p("session survived. A level failing only on lateness is measured again, up to %d windows, unless it is plainly ", capTries)
	p("overloaded (p99 lateness over 10 ms with the server busy more than half the time): on a shared virtual machine other ")
	p("processes and the hypervisor can stall the server for longer than 10 ms (*preempted* counts the server's involuntary ")
	p("context switches in the window). ")
	p("The count doubles from %d until a level fails, then bisects. ", cfg.capStart)
	p("Memory: heap in use (runtime.MemStats after GC) with %d sessions connected and silent ", c.MemSessions)
	p("(idle), then in conversation (active), less the heap with none, divided by the sessions.\n\n")
}

// capacityTables writes a capacity result's headline (per core, memory)
// and the levels tried; one and many name what a session is ("call",
// "calls").
func capacityTables(p func(string, ...any), one, many string, c *capacityResult) {
	p("| %s per core | idle %s memory | active %s memory |\n|---:|---:|---:|\n", many, one, one)
	p("| **%d** | %.0f KB heap (+%.0f KB stacks) | %.0f KB heap (+%.0f KB stacks) |\n\n",
		c.SessionsPerCore, c.IdleKB, c.IdleStackKB, c.ActiveKB, c.ActiveStackKB)
	p("| %s | max playout lateness (ms) | p99 (ms) | frames > 10 ms late | agent speaking | server CPU | GCs (allocation) | preempted | result |\n", many)
	p("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range c.Steps {
		res := "pass"
		if !s.Pass {
			res = "fail: " + s.Why
		}
		p("| %d | %.1f | %.0f | %d of %d | %.0f%% | %.0f%% | %d (%.1f MB/s) | %d | %s |\n", s.Sessions, s.MaxLateMs, s.P99LateMs,
			s.LateFrames, s.Frames, 100*s.Speaking, s.CPUPct, s.GCs, s.AllocMBps, s.Preempted, res)
	}
}
