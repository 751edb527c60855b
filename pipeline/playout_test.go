package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/harkvoice/hark/codecs/pcm"
	"github.com/harkvoice/hark/pipeline"
)

// sink records frames with their time.
type sink struct {
	mu     sync.Mutex
	frames []pcm.Frame
	at     []time.Time
}

func (s *sink) WriteAudio(_ context.Context, fr pcm.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fr.Samples = slices.Clone(fr.Samples)
	s.frames = append(s.frames, fr)
	s.at = append(s.at, time.Now())
	return nil
}

func (s *sink) snapshot() ([]pcm.Frame, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames), slices.Clone(s.at)
}

func ones(n int, v int16) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func audible(fr pcm.Frame) bool {
	return slices.ContainsFunc(fr.Samples, func(s int16) bool { return s != 0 })
}

type rec struct {
	mu     sync.Mutex
	events []pipeline.PlayoutEvent
}

func (r *rec) add(ev pipeline.PlayoutEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}
func (r *rec) types() []pipeline.PlayoutEventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pipeline.PlayoutEventType
	for _, e := range r.events {
		out = append(out, e.Type)
	}
	return out
}

func TestPlayoutPlaysChunksInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		s := &sink{}
		var r rec
		var taps atomic.Int32
		p, err := pipeline.NewPlayout(s, pcm.Mono8k, &gens, pipeline.WithNotify(r.add), pipeline.WithTap(func(pcm.Frame) { taps.Add(1) }))
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		// Two chunks of 30 ms and 50 ms at 8 kHz.
		must(t, p.Begin(pipeline.Segment{Gen: gen, Seq: 0, Text: "Hello there."}))
		must(t, p.Write(gen, 0, ones(240, 1)))
		must(t, p.End(gen, 0))
		must(t, p.Begin(pipeline.Segment{Gen: gen, Seq: 1, Text: "How are you?"}))
		must(t, p.Write(gen, 1, ones(400, 2)))
		must(t, p.End(gen, 1))
		must(t, p.Finish(gen))
		time.Sleep(200 * time.Millisecond)
		frames, _ := s.snapshot()
		if len(frames) != 4 { // 80 ms of audio in 20 ms frames
			t.Fatalf("%d frames, want 4", len(frames))
		}
		var all []int16
		for i, fr := range frames {
			if len(fr.Samples) != 160 || fr.Format != pcm.Mono8k {
				t.Fatalf("frame %d: %d samples in %v", i, len(fr.Samples), fr.Format)
			}
			if i > 0 && fr.Timestamp != frames[i-1].Timestamp+20*time.Millisecond {
				t.Errorf("frame %d timestamp %v after %v", i, fr.Timestamp, frames[i-1].Timestamp)
			}
			all = append(all, fr.Samples...)
		}
		if want := append(ones(240, 1), ones(400, 2)...); !slices.Equal(all, want) {
			t.Error("audio not played in order, or padded wrongly")
		}
		want := []pipeline.PlayoutEventType{pipeline.ChunkStarted, pipeline.ChunkDone, pipeline.ChunkStarted, pipeline.ChunkDone, pipeline.Drained}
		if got := r.types(); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		recs := p.Records(gen)
		if len(recs) != 2 || recs[0].Sent != 240 || recs[1].Sent != 400 || recs[1].Heard(8000) != "How are you?" {
			t.Errorf("records %+v", recs)
		}
		if n := taps.Load(); n < 9 {
			t.Errorf("tap called %d times in 200 ms", n)
		}
	})
}

func TestPlayoutPauseResumeKeepsClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		s := &sink{}
		p, _ := pipeline.NewPlayout(s, pcm.Mono16k, &gens)
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "one two three four five"}))
		must(t, p.Write(gen, 0, ones(16000, 7))) // one second
		must(t, p.End(gen, 0))
		must(t, p.Finish(gen))
		time.Sleep(410 * time.Millisecond)
		last := p.Pause()
		pausedAt := time.Now()
		time.Sleep(300 * time.Millisecond)
		p.Resume()
		time.Sleep(time.Second)
		frames, at := s.snapshot()
		var played int
		for i, fr := range frames {
			if at[i].After(pausedAt) && at[i].Before(pausedAt.Add(300*time.Millisecond)) && audible(fr) {
				t.Fatalf("audio sent while paused at %v", at[i])
			}
			if i > 0 && fr.Timestamp-frames[i-1].Timestamp != 20*time.Millisecond {
				t.Errorf("timestamps jump at frame %d", i)
			}
			if audible(fr) {
				played += len(fr.Samples)
			}
		}
		if played != 16000 {
			t.Errorf("played %d samples, want all 16000 (resume continues where it paused)", played)
		}
		if last.IsZero() || last.After(pausedAt) {
			t.Errorf("Pause returned %v", last)
		}
	})
}

// TestPlayoutPauseBeforeFirstChunk pauses a reply that is still being
// prepared (the user talks while it thinks): its first chunk, when it
// comes, stays silent until Resume; the next reply is not paused.
func TestPlayoutPauseBeforeFirstChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		s := &sink{}
		p, _ := pipeline.NewPlayout(s, pcm.Mono16k, &gens)
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		p.Pause()
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "one two"}))
		must(t, p.Write(gen, 0, ones(3200, 7)))
		must(t, p.End(gen, 0))
		must(t, p.Finish(gen))
		time.Sleep(500 * time.Millisecond)
		if !p.Paused() {
			t.Error("the reply is not paused")
		}
		frames, _ := s.snapshot()
		if slices.ContainsFunc(frames, audible) {
			t.Fatal("a reply paused before its first chunk played it")
		}
		p.Resume()
		time.Sleep(500 * time.Millisecond)
		frames, _ = s.snapshot()
		if !slices.ContainsFunc(frames, audible) {
			t.Fatal("nothing played after Resume")
		}
		// A reply paused and never begun does not pause the next one.
		_, gen = gens.Start(t.Context())
		p.Pause()
		_, gen = gens.Start(t.Context())
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "three"}))
		must(t, p.Write(gen, 0, ones(3200, 9)))
		must(t, p.End(gen, 0))
		time.Sleep(300 * time.Millisecond)
		frames, _ = s.snapshot()
		if !slices.ContainsFunc(frames, func(fr pcm.Frame) bool { return slices.Contains(fr.Samples, 9) }) {
			t.Fatal("the next reply did not play")
		}
	})
}

func TestPlayoutHoldSendsNothingUntilRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		s := &sink{}
		var r rec
		p, _ := pipeline.NewPlayout(s, pcm.Mono16k, &gens, pipeline.WithNotify(r.add))
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		p.Hold(gen)
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "ready before the turn ended"}))
		must(t, p.Write(gen, 0, ones(3200, 5))) // 200 ms
		must(t, p.End(gen, 0))
		must(t, p.Finish(gen))
		p.Release(gen + 1) // another generation's release changes nothing
		time.Sleep(300 * time.Millisecond)
		if frames, _ := s.snapshot(); len(frames) != 0 || len(r.types()) != 0 {
			t.Fatalf("held reply sent %d frames and events %v", len(frames), r.types())
		}
		if recs := p.Records(gen); len(recs) != 1 || recs[0].Sent != 0 {
			t.Fatalf("records while held: %+v", recs)
		}
		p.Release(gen)
		time.Sleep(300 * time.Millisecond)
		frames, _ := s.snapshot()
		played := 0
		for _, fr := range frames {
			if audible(fr) {
				played += len(fr.Samples)
			}
		}
		if played != 3200 {
			t.Errorf("played %d samples after release, want 3200 from the start", played)
		}
		want := []pipeline.PlayoutEventType{pipeline.ChunkStarted, pipeline.ChunkDone, pipeline.Drained}
		if got := r.types(); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}

		// A held reply dropped by a new generation never plays.
		_, gen = gens.Start(t.Context())
		p.Hold(gen)
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "dropped"}))
		must(t, p.Write(gen, 0, ones(3200, 5)))
		gens.Interrupt(nil)
		p.Release(gen)
		time.Sleep(300 * time.Millisecond)
		if got, _ := s.snapshot(); len(got) != len(frames) {
			t.Errorf("a dropped held reply sent %d frames", len(got)-len(frames))
		}
	})
}

func TestPlayoutDropsStaleGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		s := &sink{}
		p, _ := pipeline.NewPlayout(s, pcm.Mono16k, &gens)
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		must(t, p.Begin(pipeline.Segment{Gen: gen, Text: "a long reply that will be cut"}))
		must(t, p.Write(gen, 0, ones(32000, 3)))
		time.Sleep(105 * time.Millisecond)
		gens.Interrupt(nil)
		cut := time.Now()
		if err := p.Write(gen, 0, ones(10, 3)); err == nil {
			t.Error("Write of a stale generation accepted")
		}
		time.Sleep(200 * time.Millisecond)
		frames, at := s.snapshot()
		for i, fr := range frames {
			if at[i].After(cut) && audible(fr) {
				t.Fatalf("stale audio sent at %v", at[i])
			}
		}
		if n := len(frames); n != 5 {
			t.Errorf("%d frames sent, want 5 (100 ms)", n)
		}
	})
}

func TestPlayoutStopReturnsHeard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		p, _ := pipeline.NewPlayout(&sink{}, pcm.Mono16k, &gens)
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		must(t, p.Begin(pipeline.Segment{Gen: gen, Seq: 0, Message: 0, Text: "First sentence."}))
		must(t, p.Write(gen, 0, ones(3200, 1)))
		must(t, p.End(gen, 0))
		must(t, p.Begin(pipeline.Segment{Gen: gen, Seq: 1, Message: 0, Text: "one two three four"}))
		must(t, p.Write(gen, 1, ones(16000, 1)))
		must(t, p.End(gen, 1))
		time.Sleep(710 * time.Millisecond) // 200 ms of chunk 0 and 500 ms of chunk 1
		recs := p.Stop(gen)
		if got := recs[0].Heard(16000); got != "First sentence." {
			t.Errorf("chunk 0 heard %q", got)
		}
		if got := recs[1].Heard(16000); got != "one two" {
			t.Errorf("chunk 1 heard %q (sent %d of %d)", got, recs[1].Sent, recs[1].Samples)
		}
		if p.Records(gen) != nil && len(p.Records(gen)) != 0 {
			t.Error("records kept after Stop")
		}
	})
}

type marker struct {
	mu     sync.Mutex
	played []func()
}

func (m *marker) Mark(_ context.Context, _ string, played func()) error {
	m.mu.Lock()
	m.played = append(m.played, played)
	m.mu.Unlock()
	return nil
}

func TestPlayoutMarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gens pipeline.Generations
		m := &marker{}
		p, _ := pipeline.NewPlayout(&sink{}, pcm.Mono16k, &gens, pipeline.WithMarker(m))
		go func() { _ = p.Run(t.Context()) }()
		_, gen := gens.Start(t.Context())
		for i, text := range []string{"alpha beta", "gamma delta"} {
			must(t, p.Begin(pipeline.Segment{Gen: gen, Seq: i, Text: text}))
			must(t, p.Write(gen, i, ones(8000, 1)))
			must(t, p.End(gen, i))
		}
		time.Sleep(1100 * time.Millisecond)
		recs := p.Records(gen)
		// Both chunks sent, no mark back: the in-flight estimate holds
		// back DefaultMarkLatency of the last chunks.
		if recs[1].Played || recs[1].HeardSamples >= recs[1].Sent {
			t.Errorf("unconfirmed chunk counted as heard: %+v", recs[1])
		}
		m.mu.Lock()
		n := len(m.played)
		for _, f := range m.played {
			f()
		}
		m.mu.Unlock()
		recs = p.Records(gen)
		if n != 2 || !recs[0].Played || !recs[1].Played || recs[1].Heard(16000) != "gamma delta" {
			t.Errorf("%d marks, records %+v", n, recs)
		}
	})
}

func TestHeardEstimate(t *testing.T) {
	for _, tc := range []struct {
		text           string
		samples, heard int
		complete       bool
		want           string
	}{
		{"one two three four", 1000, 1000, true, "one two three four"},
		{"one two three four", 1000, 500, true, "one two"},
		{"one two three four", 1000, 0, true, ""},
		{"one two three four", 1000, 100, true, ""},
		{"你好世界", 1000, 500, true, "你好"},
		// Unknown length: estimated from the text at 14 characters a second.
		{"one two three four five six", 100, 1000, false, "one two three"},
	} {
		r := pipeline.ChunkRecord{Segment: pipeline.Segment{Text: tc.text}, Samples: tc.samples, Complete: tc.complete, Sent: tc.heard, HeardSamples: tc.heard}
		if got := r.Heard(1000); got != tc.want {
			t.Errorf("Heard(%q, %d/%d) = %q, want %q", tc.text, tc.heard, tc.samples, got, tc.want)
		}
	}
}

func TestNewPlayoutValidates(t *testing.T) {
	var gens pipeline.Generations
	if _, err := pipeline.NewPlayout(&sink{}, pcm.Format{}, &gens); err == nil {
		t.Error("bad format accepted")
	}
	if _, err := pipeline.NewPlayout(nil, pcm.Mono16k, &gens); err == nil {
		t.Error("nil sink accepted")
	}
	if _, err := pipeline.NewPlayout(&sink{}, pcm.Mono16k, &gens, pipeline.WithFrameDuration(time.Hour)); err == nil {
		t.Error("bad frame duration accepted")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ExampleChunkRecord_Heard shows how the words heard are estimated when a
// chunk is cut: by the share of its audio that was played.
func ExampleChunkRecord_Heard() {
	r := pipeline.ChunkRecord{
		Segment:      pipeline.Segment{Text: "Your order shipped yesterday and arrives Friday."},
		Samples:      48000, // 3 s at 16 kHz
		Complete:     true,
		Sent:         24000,
		HeardSamples: 24000, // cut half way
	}
	fmt.Println(r.Heard(16000))
	// Output: Your order shipped
}

// TestPlayoutReusesReplyAudio: once a reply is stopped, the next reply's
// audio goes into the storage the playout kept, so writing it allocates
// nothing; the new reply's records count only its own audio.
func TestPlayoutReusesReplyAudio(t *testing.T) {
	var gens pipeline.Generations
	p, err := pipeline.NewPlayout(&sink{}, pcm.Mono8k, &gens)
	if err != nil {
		t.Fatal(err)
	}
	frame := ones(160, 1)
	reply := func() (gen uint64, allocs float64) {
		_, gen = gens.Start(context.Background())
		if err := p.Begin(pipeline.Segment{Gen: gen, Text: "Hello there."}); err != nil {
			t.Fatal(err)
		}
		allocs = testing.AllocsPerRun(100, func() {
			if err := p.Write(gen, 0, frame); err != nil {
				t.Fatal(err)
			}
		})
		return gen, allocs
	}
	gen, _ := reply()
	p.Stop(gen)
	gen, allocs := reply()
	if allocs != 0 {
		t.Errorf("%v allocations per frame written into a reused reply, want 0", allocs)
	}
	recs := p.Records(gen)
	if len(recs) != 1 || recs[0].Samples != 101*160 {
		t.Errorf("records %+v, want one chunk of %d samples", recs, 101*160)
	}
}

// TestPlayoutClear: Clear drops the reply held, paused or not, and the
// playout goes idle.
func TestPlayoutClear(t *testing.T) {
	var gens pipeline.Generations
	p, err := pipeline.NewPlayout(&sink{}, pcm.Mono8k, &gens)
	if err != nil {
		t.Fatal(err)
	}
	_, gen := gens.Start(context.Background())
	if err := p.Begin(pipeline.Segment{Gen: gen, Text: "Hello there."}); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(gen, 0, ones(160, 1)); err != nil {
		t.Fatal(err)
	}
	p.Pause()
	p.Clear()
	if recs := p.Records(gen); len(recs) != 0 {
		t.Errorf("records %+v after Clear, want none", recs)
	}
	if err := p.Write(gen, 0, ones(160, 1)); !errors.Is(err, pipeline.ErrUnknownChunk) {
		t.Errorf("Write after Clear: %v, want ErrUnknownChunk", err)
	}
	if p.Paused() {
		t.Error("paused after Clear")
	}
}
