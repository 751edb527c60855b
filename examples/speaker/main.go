// Command speaker is a smart-speaker device in Go: it speaks Hark's device
// protocol (agent/transport/device) over a WebSocket, sends a WAV file as
// its microphone in real time, and plays the agent's voice into an output
// WAV through a simulated speaker buffer that honours "clear" on barge-in.
//
// Run a server with the smart-speaker preset, then the device:
//
//	go run ./examples/speaker -serve :8080 &
//	go run ./examples/speaker -in testdata/speech/timer_awb.wav -out reply.wav
//
// See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/provider/offline"
	"github.com/harkvoice/hark/agent/transport/device"
)

type options struct {
	url, in, out, codec, lang, token, text, serve string
	rate                                          int
	wait, buffer                                  time.Duration
	stdout                                        io.Writer // where the conversation is printed
}

func main() {
	o := options{stdout: os.Stdout}
	flag.StringVar(&o.url, "url", "ws://127.0.0.1:8080/device", "device endpoint of the server")
	flag.StringVar(&o.in, "in", "", "WAV file to speak (any rate, 16-bit); empty: only -text")
	flag.StringVar(&o.out, "out", "reply.wav", "WAV file the speaker plays into")
	flag.StringVar(&o.codec, "codec", device.EncodingPCM16, "audio encoding: pcm16 or opus")
	flag.IntVar(&o.rate, "rate", 16000, "sample rate: 16000, or 48000 with opus")
	flag.StringVar(&o.lang, "lang", "en", "the user's language (BCP-47)")
	flag.StringVar(&o.token, "token", os.Getenv("HARK_TOKEN"), "device token, if the server wants one")
	flag.StringVar(&o.text, "text", "", "a typed turn to send after the audio")
	flag.DurationVar(&o.wait, "wait", 20*time.Second, "how long to wait for replies after the input ends")
	flag.DurationVar(&o.buffer, "buffer", 120*time.Millisecond, "speaker buffer the device keeps before playing")
	flag.StringVar(&o.serve, "serve", "", "instead of a device, run a smart-speaker server on this address (offline engines)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if o.serve != "" {
		err = serve(ctx, o.serve, o.token, log)
	} else {
		err = runDevice(ctx, o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "speaker:", err)
		os.Exit(1)
	}
}

// serve runs a device server: one agent per device, tuned for a speaker
// whose microphone hears its own loudspeaker (PresetSmartSpeaker).
func serve(ctx context.Context, addr, token string, log *slog.Logger) error {
	eng, err := offline.New()
	if err != nil {
		return fmt.Errorf("offline engines (run `make deps`): %w", err)
	}
	defer eng.Close()
	h, err := deviceHandler(eng, token, log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/device", h)
	// Sessions run on the server's base context: cancelling it ends them.
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	log.Info("smart-speaker server listening", "addr", addr, "path", "/device")
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// deviceHandler runs one smart-speaker session per device.
func deviceHandler(eng *offline.Engines, token string, log *slog.Logger) (http.Handler, error) {
	opts := []device.Option{device.WithLogger(log)}
	if token != "" {
		opts = append(opts, device.WithToken(token))
	}
	return device.NewHandler(func(r *http.Request, c *device.Conn) (device.Session, error) {
		sopts := append(eng.SessionOptions(),
			agent.WithPreset(agent.PresetSmartSpeaker),
			agent.WithLanguage(c.Hello().Language),
			agent.WithLogger(log.With("session", c.ID())))
		return agent.New(c, sopts...)
	}, opts...)
}
