package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/harkvoice/hark/pipeline"
)

func TestAwaitTurn(t *testing.T) {
	errGone := errors.New("gone on")
	for _, tc := range []struct {
		name          string
		preemptive    bool
		used, dropped bool
		want          error
	}{
		{name: "ordinary reply", want: nil},
		{name: "preemptive, used", preemptive: true, used: true, want: nil},
		{name: "preemptive, dropped", preemptive: true, dropped: true, want: errGone},
		{name: "ordinary, cancelled", dropped: true, want: errGone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(t.Context())
			defer cancel(nil)
			answers := make(chan struct{})
			if tc.preemptive {
				ctx = pipeline.WithPreemption(ctx, answers)
			}
			if tc.used {
				close(answers)
			}
			if tc.dropped {
				cancel(errGone)
			}
			if err := pipeline.AwaitTurn(ctx); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("AwaitTurn = %v, want %v", err, tc.want)
			}
		})
	}
}

// A preemptive reply's wrapper waits in AwaitTurn until the reply is used.
func ExampleAwaitTurn() {
	answers := make(chan struct{})
	ctx := pipeline.WithPreemption(context.Background(), answers)
	go close(answers) // the user's turn ended with the words the reply answers
	fmt.Println(pipeline.AwaitTurn(ctx))
	// Output: <nil>
}
