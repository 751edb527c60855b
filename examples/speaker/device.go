package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/harkvoice/hark/agent"
	"github.com/harkvoice/hark/agent/transport/device"
	"github.com/harkvoice/hark/codecs/opus"
	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/codecs/resample"
	"github.com/harkvoice/hark/codecs/wav"
)

const frameDur = 20 * time.Millisecond

// mark is a server mark waiting for the speaker to play up to it.
type mark struct {
	name string
	at   int64 // buffer position the mark follows
}

// client is one connection: a microphone that streams the input and a
// speaker that plays what the server sends.
type client struct {
	o      options
	ws     *websocket.Conn
	format pcm.Format
	enc    *opus.Encoder
	dec    *opus.Decoder

	writeMu sync.Mutex // one writer at a time
	printMu sync.Mutex // one line at a time

	mu      sync.Mutex
	buf     []int16 // received, not yet played
	recv    int64   // samples ever put in buf, less those a clear dropped
	pos     int64   // samples ever played from buf
	marks   []mark  // marks not yet played, in order
	played  []int16 // everything the speaker played, silence included
	replies int     // agent_done events seen
	last    time.Time
}

// runDevice connects, talks and writes the output WAV.
func runDevice(ctx context.Context, o options) error {
	if o.in == "" && o.text == "" {
		return errors.New("nothing to say: give -in FILE.wav or -text")
	}
	d := &client{o: o, format: pcm.Format{Rate: o.rate, Channels: 1}}
	var mic []int16
	if o.in != "" {
		fr, err := wav.ReadFile(o.in)
		if err != nil {
			return err
		}
		if fr, err = resample.Frame(fr, d.format); err != nil {
			return err
		}
		mic = fr.Samples
	}
	if o.codec == device.EncodingOpus {
		var err error
		if d.enc, err = opus.NewEncoder(o.rate, 1); err != nil {
			return err
		}
		if d.dec, err = opus.NewDecoder(o.rate, 1); err != nil {
			return err
		}
	}
	if err := d.connect(ctx); err != nil {
		return err
	}
	defer d.ws.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	readErr := make(chan error, 1)
	wg.Add(2)
	go func() {
		defer wg.Done()
		readErr <- d.read()
		cancel()
	}()
	go func() {
		defer wg.Done()
		d.speaker(ctx)
	}()
	err := d.talk(ctx, mic)
	d.bye()
	cancel()
	_ = d.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	rerr := <-readErr
	wg.Wait()
	if err == nil && rerr != nil {
		err = rerr
	}
	d.mu.Lock()
	out := pcm.Frame{Samples: d.played, Format: d.format}
	d.mu.Unlock()
	if werr := wav.WriteFile(d.o.out, out); werr != nil {
		return errors.Join(err, werr)
	}
	d.printf("wrote %v of speaker output to %s\n", out.Duration().Round(10*time.Millisecond), d.o.out)
	return err
}

// connect opens the WebSocket and exchanges hellos.
func (d *client) connect(ctx context.Context) error {
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, d.o.url, nil)
	if err != nil {
		return fmt.Errorf("connect %s: %w", d.o.url, err)
	}
	resp.Body.Close()
	d.ws = ws
	hello := map[string]any{"type": device.TypeHello, "version": device.ProtocolVersion, "token": d.o.token,
		"language": d.o.lang, "device": "hark-speaker-example", "marks": true,
		"audio": device.AudioFormat{Encoding: d.o.codec, SampleRate: d.o.rate}}
	if err := d.sendJSON(hello); err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer ws.SetReadDeadline(time.Time{})
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("waiting for the server hello: %w", err)
		}
		var m struct {
			Type, Code, Text string
			Session          string
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("server sent %q: %w", data, err)
		}
		switch m.Type {
		case device.TypeHello:
			d.printf("connected: session %s, %s at %d Hz\n", m.Session, d.o.codec, d.o.rate)
			return nil
		case device.TypeError:
			return fmt.Errorf("server refused the hello: %s: %s", m.Code, m.Text)
		}
	}
}

// talk streams the microphone in real time (the input, then silence) and
// sends the typed turn; it returns once the replies are over.
func (d *client) talk(ctx context.Context, mic []int16) error {
	n := d.format.Samples(frameDur)
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	frame := make([]int16, n)
	var inputEnd time.Time
	textSent := d.o.text == ""
	for {
		select {
		case <-ctx.Done():
			return nil // the server closed, or the user pressed Ctrl-C
		case <-tick.C:
		}
		clear(frame)
		mic = mic[copy(frame, mic):]
		if err := d.sendAudio(frame); err != nil {
			return err
		}
		if len(mic) > 0 {
			continue
		}
		now := time.Now()
		if inputEnd.IsZero() {
			inputEnd = now
		}
		d.mu.Lock()
		idle := d.replies > 0 && len(d.buf) == 0 && now.Sub(d.last) > 1500*time.Millisecond
		d.mu.Unlock()
		switch {
		case !textSent && (idle || now.Sub(inputEnd) > d.o.wait/2):
			if err := d.sendJSON(map[string]string{"type": device.TypeText, "text": d.o.text}); err != nil {
				return err
			}
			d.printf("you (typed): %s\n", d.o.text)
			textSent = true
			d.mu.Lock()
			d.replies, d.last = 0, now
			d.mu.Unlock()
		case textSent && idle:
			return nil
		case now.Sub(inputEnd) > d.o.wait:
			return fmt.Errorf("no reply within %v", d.o.wait)
		}
	}
}

// read handles the server's messages until the connection ends.
func (d *client) read() error {
	for {
		kind, data, err := d.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
				return nil
			}
			if errors.As(err, &ce) {
				return fmt.Errorf("server closed: %d %s", ce.Code, ce.Text)
			}
			return nil // our own close or deadline
		}
		if kind == websocket.BinaryMessage {
			if err := d.receiveAudio(data); err != nil {
				return err
			}
			continue
		}
		var ev struct {
			agent.Event
			Code string `json:"code"`
			Name string `json:"name"` // of a mark
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return fmt.Errorf("server sent %q: %w", data, err)
		}
		if ev.Type == device.TypeMark {
			d.mu.Lock()
			d.marks = append(d.marks, mark{name: ev.Name, at: d.recv})
			d.mu.Unlock()
			continue
		}
		d.show(ev.Event, ev.Code)
	}
}

// show prints an event and acts on clear and agent_done.
func (d *client) show(ev agent.Event, code string) {
	switch ev.Type {
	case device.TypeClear:
		if d.dec != nil {
			// The server's next audio starts a new Opus stream.
			if dec, err := opus.NewDecoder(d.o.rate, 1); err == nil {
				d.dec = dec
			}
		}
		d.mu.Lock()
		dropped := d.format.Duration(len(d.buf))
		d.buf = d.buf[:0]
		d.recv, d.marks = d.pos, nil // dropped audio is never played
		d.mu.Unlock()
		d.printf("  [clear: dropped %v of buffered reply]\n", dropped)
	case agent.EventUserPartial:
	case agent.EventUserFinal:
		d.printf("you: %s\n", ev.Text)
	case agent.EventAgentText:
		d.printf("agent: %s\n", ev.Text)
	case agent.EventAgentDone:
		d.mu.Lock()
		d.replies++
		d.last = time.Now()
		d.mu.Unlock()
	case agent.EventInterruption:
		if ev.Interruption != nil && ev.Interruption.Cancelled {
			d.printf("  [interrupted after %q, silent in %v]\n", ev.Interruption.Heard, ev.Interruption.OnsetToSilence.Round(time.Millisecond))
		}
	case agent.EventToolCall:
		if ev.Tool != nil {
			d.printf("  [tool %s(%s) -> %s%s]\n", ev.Tool.Name, ev.Tool.Arguments, ev.Tool.Result, ev.Tool.Error)
		}
	case agent.EventHandoff:
		d.printf("  [hand-off to a human: %s]\n", ev.Text)
	case agent.EventMetrics:
		if m := ev.Metrics; m != nil {
			d.printf("  [latency from end of speech: stt %v, llm %v, tts %v, first audio %v]\n",
				m.STTFinal.Round(time.Millisecond), m.LLMFirstToken.Round(time.Millisecond),
				m.TTSFirstAudio.Round(time.Millisecond), m.FirstAudioSent.Round(time.Millisecond))
		}
	case agent.EventError:
		d.printf("  [error %s: %s]\n", code, ev.Text)
	}
}

// receiveAudio decodes one message into the speaker buffer.
func (d *client) receiveAudio(data []byte) error {
	var samples []int16
	if d.dec != nil {
		var err error
		if samples, err = d.dec.Decode(data, nil); err != nil {
			return err
		}
	} else {
		if len(data)%2 != 0 {
			return fmt.Errorf("odd pcm16 message (%d bytes)", len(data))
		}
		samples = make([]int16, len(data)/2)
		for i := range samples {
			samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
		}
	}
	d.mu.Lock()
	d.buf = append(d.buf, samples...)
	d.recv += int64(len(samples))
	d.last = time.Now()
	d.mu.Unlock()
	return nil
}

// speaker plays 20 ms every 20 ms once the buffer holds o.buffer of audio,
// like a device's audio output, silence otherwise; and reports the marks it
// played past.
func (d *client) speaker(ctx context.Context) {
	n := d.format.Samples(frameDur)
	need := d.format.Samples(d.o.buffer)
	tick := time.NewTicker(frameDur)
	defer tick.Stop()
	playing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d.mu.Lock()
		if !playing && len(d.buf) >= need {
			playing = true
		}
		k := 0
		if playing {
			k = min(n, len(d.buf))
			d.played = append(d.played, d.buf[:k]...)
			d.buf = d.buf[:copy(d.buf, d.buf[k:])]
			playing = len(d.buf) > 0
		}
		d.played = append(d.played, make([]int16, n-k)...)
		d.pos += int64(k)
		var done []string
		for len(d.marks) > 0 && d.marks[0].at <= d.pos {
			done = append(done, d.marks[0].name)
			d.marks = d.marks[1:]
		}
		d.mu.Unlock()
		// Tell the server what the user has heard.
		for _, name := range done {
			if d.sendJSON(map[string]string{"type": device.TypePlayed, "name": name}) != nil {
				return
			}
		}
	}
}

func (d *client) sendAudio(samples []int16) error {
	var msg []byte
	if d.enc != nil {
		var err error
		if msg, err = d.enc.Encode(samples, nil); err != nil {
			return err
		}
	} else {
		msg = make([]byte, 2*len(samples))
		for i, s := range samples {
			binary.LittleEndian.PutUint16(msg[2*i:], uint16(s))
		}
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	return d.ws.WriteMessage(websocket.BinaryMessage, msg)
}

func (d *client) sendJSON(v any) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	return d.ws.WriteJSON(v)
}

// printf prints a line of the conversation.
func (d *client) printf(format string, args ...any) {
	d.printMu.Lock()
	defer d.printMu.Unlock()
	fmt.Fprintf(d.o.stdout, format, args...)
}

// bye ends the session politely.
func (d *client) bye() {
	_ = d.sendJSON(map[string]string{"type": device.TypeBye})
}
