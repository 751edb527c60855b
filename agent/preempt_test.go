package agent

import "testing"

func TestPreemptor(t *testing.T) {
	// Each step: h = heard(text, ready), H = heard(text, not ready), g =
	// goneOn(), e = turnEnded(text).
	type step struct {
		op   byte
		text string
		want preemptAct
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"unchanged words are used", []step{
			{'h', "Where is my order?", preStart},
			{'h', "where is my order", preKeep},
			{'e', "Where is my order.", preUse},
		}},
		{"the user goes on", []step{
			{'h', "where is my", preStart},
			{'g', "", preDrop},
			{'g', "", preKeep},
			{'h', "where is my order", preStart},
			{'e', "where is my order", preUse},
		}},
		{"the final words differ", []step{
			{'h', "where is my older", preStart},
			{'e', "where is my order", preDrop},
			{'e', "where is my order", preKeep},
		}},
		{"better words before the end restart it", []step{
			{'h', "where is my older", preStart},
			{'h', "where is my order", preRestart},
			{'e', "where is my order", preUse},
		}},
		{"not ready: nothing starts, a running one drops", []step{
			{'H', "where is my order", preKeep},
			{'h', "where is my order", preStart},
			{'H', "where is my order", preDrop},
			{'e', "where is my order", preKeep},
		}},
		{"no words", []step{
			{'h', "", preKeep},
			{'h', " ... ", preKeep},
			{'h', "hi", preStart},
			{'h', "?", preDrop},
		}},
		{"a turn that ends with nothing running", []step{
			{'e', "hello", preKeep},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p preemptor
			for i, s := range tt.steps {
				var got preemptAct
				switch s.op {
				case 'h':
					got = p.heard(s.text, true)
				case 'H':
					got = p.heard(s.text, false)
				case 'g':
					got = p.goneOn()
				case 'e':
					got = p.turnEnded(s.text)
				}
				if got != s.want {
					t.Fatalf("step %d (%c %q): %v, want %v", i, s.op, s.text, got, s.want)
				}
				switch got {
				case preStart, preRestart:
					if !p.running || p.words != normalize(s.text) {
						t.Fatalf("step %d: running %v on %q after %v", i, p.running, p.words, got)
					}
				case preDrop, preUse:
					if p.running {
						t.Fatalf("step %d: still running after %v", i, got)
					}
				}
			}
		})
	}
}
