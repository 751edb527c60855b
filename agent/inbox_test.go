package agent

import "testing"

// TestInboxMicAllocs: microphone frames through the inbox (filled by the
// ingest goroutine, handled and given back by the loop) allocate nothing
// once the inbox has warmed up.
func TestInboxMicAllocs(t *testing.T) {
	in := newInbox()
	frame := make([]int16, 160)
	var pos int64
	step := func() {
		m := in.newMic()
		m.samples = append(m.samples, frame...)
		pos += int64(len(frame))
		m.pos = pos
		in.put(true, m)
		got, ok := in.take()
		mm, isMic := got.(*micMsg)
		if !ok || !isMic || mm.pos != pos || len(mm.samples) != len(frame) {
			t.Fatalf("took %v %v, want the frame at %d", got, ok, pos)
		}
		in.recycle(mm)
	}
	step()
	if n := testing.AllocsPerRun(200, step); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}

// TestInboxOrder: the control lane comes first, each lane in order, also
// across the queues' reuse of their storage.
func TestInboxOrder(t *testing.T) {
	in := newInbox()
	for round := range 3 {
		in.put(false, textCmd{text: "a"})
		in.put(true, endMsg{})
		in.put(false, textCmd{text: "b"})
		want := []string{"end", "a", "b"}
		for i, w := range want {
			m, ok := in.take()
			if !ok {
				t.Fatalf("round %d: message %d missing", round, i)
			}
			got := "end"
			if tc, isText := m.(textCmd); isText {
				got = tc.text
			}
			if got != w {
				t.Fatalf("round %d: message %d is %q, want %q", round, i, got, w)
			}
		}
		if m, ok := in.take(); ok {
			t.Fatalf("round %d: extra message %v", round, m)
		}
	}
}
