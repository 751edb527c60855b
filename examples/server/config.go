package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	pion "github.com/pion/webrtc/v4"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/language"
)

// config is the server's configuration from flags and environment.
type config struct {
	host, port string
	engines    string // "offline", "openai" or "realtime"
	openAI     openAIConfig
	token      string
	language   string
	preset     agent.Preset
	prompt     string

	iceServers  []pion.ICEServer
	iceLoopback bool
	publicIPs   []string
	portMin     uint16
	portMax     uint16

	tlsCert, tlsKey string

	twilioAuthToken string
	publicURL       string
	logLevel        slog.Level

	sip    sipConfig    // SIP calls (sip.go)
	limits limitsConfig // sessions and timeouts (limits.go)
}

type openAIConfig struct {
	baseURL, apiKey, llmModel, sttModel, ttsModel, voice string
	// realtimeURL and realtimeDialect locate the Realtime transcription
	// API of the "realtime" engines.
	realtimeURL, realtimeDialect string
}

func (c config) addr() string { return net.JoinHostPort(c.host, c.port) }

// parseConfig reads flags, each defaulting to an environment variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c config
	str := func(p *string, name, envName, def, usage string) {
		fs.StringVar(p, name, env(envName, def), usage+" ($"+envName+")")
	}
	var engines, preset, ice, iceUser, iceCred, iceLoop, publicIPs, ports, level string
	str(&c.host, "host", "HARK_HOST", "127.0.0.1", "address to listen on; 0.0.0.0 for every interface")
	str(&c.port, "port", "HARK_PORT", "8080", "port to listen on")
	str(&engines, "engines", "HARK_ENGINES", "", `"offline" (pocketsphinx, dialogue engine, flite/espeak-ng), "openai" (any compatible API) or "realtime" (streaming recognition over the OpenAI Realtime API, chat and speech as openai); default: openai when an API key or base URL is set, else offline`)
	str(&c.openAI.baseURL, "openai-base-url", "OPENAI_BASE_URL", "", "OpenAI-compatible API base URL (llama-server, Ollama, ...)")
	str(&c.openAI.apiKey, "openai-api-key", "OPENAI_API_KEY", "", "API key for the OpenAI-compatible API")
	str(&c.openAI.llmModel, "llm-model", "HARK_LLM_MODEL", "", "chat model (provider default when empty)")
	str(&c.openAI.sttModel, "stt-model", "HARK_STT_MODEL", "", "transcription model")
	str(&c.openAI.ttsModel, "tts-model", "HARK_TTS_MODEL", "", "speech model")
	str(&c.openAI.voice, "tts-voice", "HARK_TTS_VOICE", "", "speech voice")
	str(&c.openAI.realtimeURL, "realtime-url", "HARK_REALTIME_URL", "", "Realtime API base URL for -engines realtime (default: the OpenAI base URL)")
	str(&c.openAI.realtimeDialect, "realtime-dialect", "HARK_REALTIME_DIALECT", "openai", "what the Realtime server speaks: openai, localai or speaches")
	str(&c.token, "token", "HARK_AUTH_TOKEN", "", "if set, clients must present it: an Authorization header (Bearer, or Basic with it as the password) for WebRTC, /metrics and the Twilio webhook, the hello's token for devices")
	str(&c.language, "language", "HARK_LANGUAGE", "en", "conversation language (BCP-47); the page may override it with ?lang=")
	str(&preset, "preset", "HARK_PRESET", "default", "turn-taking preset: default, phone, language-practice, smart-speaker")
	str(&c.prompt, "system-prompt", "HARK_SYSTEM_PROMPT", "", "system prompt for the LLM")
	str(&ice, "ice-servers", "HARK_ICE_SERVERS", "", "comma-separated STUN/TURN URLs offered to WebRTC peers")
	str(&iceUser, "ice-username", "HARK_ICE_USERNAME", "", "username for the TURN servers")
	str(&iceCred, "ice-credential", "HARK_ICE_CREDENTIAL", "", "credential for the TURN servers")
	str(&iceLoop, "ice-loopback", "HARK_ICE_LOOPBACK", "auto", "restrict WebRTC to 127.0.0.1: true, false, or auto (true when -host is a loopback address)")
	str(&publicIPs, "webrtc-public-ips", "HARK_WEBRTC_PUBLIC_IPS", "", "comma-separated public addresses to announce (server behind 1:1 NAT)")
	str(&ports, "webrtc-udp-ports", "HARK_WEBRTC_UDP_PORTS", "", "UDP port range for WebRTC media, as MIN-MAX")
	str(&c.tlsCert, "tls-cert", "HARK_TLS_CERT", "", "TLS certificate file: serve HTTPS (browsers give the microphone only to secure pages beyond localhost)")
	str(&c.tlsKey, "tls-key", "HARK_TLS_KEY", "", "TLS key file")
	str(&c.twilioAuthToken, "twilio-auth-token", "TWILIO_AUTH_TOKEN", "", "if set, Twilio webhooks must carry a valid X-Twilio-Signature")
	str(&c.publicURL, "public-url", "HARK_PUBLIC_URL", "", "the server's public base URL (https://host) as Twilio sees it")
	str(&level, "log-level", "HARK_LOG_LEVEL", "info", "debug, info, warn or error")
	addSIPFlags(fs, env, &c.sip)
	addLimitFlags(fs, env, &c.limits)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if err := c.sip.check(); err != nil {
		return config{}, err
	}
	if err := c.limits.check(); err != nil {
		return config{}, err
	}
	lang, err := language.Parse(c.language)
	if err != nil {
		return config{}, fmt.Errorf("-language: %w", err)
	}
	c.language = lang
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	if _, err := strconv.ParseUint(c.port, 10, 16); err != nil {
		return config{}, fmt.Errorf("-port %q: not a port number", c.port)
	}
	switch engines {
	case "":
		c.engines = "offline"
		if c.openAI.apiKey != "" || c.openAI.baseURL != "" {
			c.engines = "openai"
		}
	case "offline", "openai", "realtime":
		c.engines = engines
	default:
		return config{}, fmt.Errorf(`-engines %q: want "offline", "openai" or "realtime"`, engines)
	}
	found := false
	for _, p := range []agent.Preset{agent.PresetDefault, agent.PresetPhone, agent.PresetLanguagePractice, agent.PresetSmartSpeaker} {
		if p.String() == preset {
			c.preset, found = p, true
		}
	}
	if !found {
		return config{}, fmt.Errorf("-preset %q: want default, phone, language-practice or smart-speaker", preset)
	}
	for _, u := range strings.Split(ice, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		s := pion.ICEServer{URLs: []string{u}}
		if strings.HasPrefix(u, "turn") {
			s.Username, s.Credential = iceUser, iceCred
		}
		c.iceServers = append(c.iceServers, s)
	}
	switch iceLoop {
	case "auto":
		c.iceLoopback = isLoopbackHost(c.host)
	default:
		v, err := strconv.ParseBool(iceLoop)
		if err != nil {
			return config{}, fmt.Errorf("-ice-loopback %q: want true, false or auto", iceLoop)
		}
		c.iceLoopback = v
	}
	for _, ip := range strings.Split(publicIPs, ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			c.publicIPs = append(c.publicIPs, ip)
		}
	}
	if ports != "" {
		a, b, ok := strings.Cut(ports, "-")
		lo, err1 := strconv.ParseUint(a, 10, 16)
		hi, err2 := strconv.ParseUint(b, 10, 16)
		if !ok || err1 != nil || err2 != nil || lo == 0 || hi < lo {
			return config{}, fmt.Errorf("-webrtc-udp-ports %q: want MIN-MAX, like 40000-40100", ports)
		}
		c.portMin, c.portMax = uint16(lo), uint16(hi)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return config{}, errors.New("-tls-cert and -tls-key go together")
	}
	if err := c.logLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, fmt.Errorf("-log-level %q: %w", level, err)
	}
	if c.iceLoopback && (len(c.iceServers) > 0 || len(c.publicIPs) > 0 || c.portMax > 0) {
		return config{}, errors.New("-ice-servers, -webrtc-public-ips and -webrtc-udp-ports make no sense with -ice-loopback " +
			"(the default when -host is a loopback address): loopback-only WebRTC uses one local socket")
	}
	return c, nil
}
