package gateway

import (
	"context"
	"testing"
	"time"
)

// TestDeadlines: a frame's context ends between limit and limit+step after
// the frame starts, and frames within one step share a context.
func TestDeadlines(t *testing.T) {
	const limit, step = 30 * time.Second, time.Second
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	d := newDeadlines(limit, step)
	first := d.at(t0)
	for _, tc := range []struct {
		name  string
		at    time.Duration // after t0
		fresh bool          // a new context, not the first one
	}{
		{"the same instant", 0, false},
		{"within the step", 999 * time.Millisecond, false},
		{"a step later", step, true},
		{"much later", time.Hour, true},
		{"the clock set back", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := t0.Add(tc.at)
			ctx := d.at(now)
			if got := ctx == first; got == tc.fresh {
				t.Errorf("shares the first context: %v; want %v", got, !tc.fresh)
			}
			dl, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline")
			}
			if left := dl.Sub(now); left < limit || left > limit+step {
				t.Errorf("deadline %v after the frame; want between %v and %v", left, limit, limit+step)
			}
		})
	}
}

// TestDeadlinesEnd: a shared context ends at its deadline by itself.
func TestDeadlinesEnd(t *testing.T) {
	d := newDeadlines(time.Millisecond, time.Millisecond)
	ctx := d.at(time.Now())
	<-ctx.Done()
	if ctx.Err() != context.DeadlineExceeded {
		t.Errorf("err %v; want %v", ctx.Err(), context.DeadlineExceeded)
	}
}
