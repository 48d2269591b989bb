package node

import (
	"testing"
	"time"
)

// TestPacer: the writer waits only for what is left of CommitWait since
// the previous commit, not for a batch of waitBelow (or a full one), stops
// waiting while its waits gather nothing, and tries again after the probe
// period.
func TestPacer(t *testing.T) {
	t0 := time.UnixMilli(1_700_000_000_000)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type step struct {
		commit   int // commit starts at this ms (-1: none)
		ask      int // delay asked at this ms
		want     time.Duration
		gathered int // what the wait gathered, if it waited
		size     int // the batch's size when delay is asked
	}
	for _, tc := range []struct {
		name     string
		wait     time.Duration
		maxBatch int // 0: 4096
		steps    []step
	}{
		{"off", 0, 0, []step{{0, 1, 0, 0, 1}}},
		{"the first commit does not wait", 20 * time.Millisecond, 0, []step{{-1, 5, 0, 0, 1}}},
		{"after a quiet spell no wait", 20 * time.Millisecond, 0, []step{{0, 30, 0, 0, 1}}},
		{"the rest of the window", 20 * time.Millisecond, 0, []step{{0, 5, 15 * time.Millisecond, 3, 1}, {20, 24, 16 * time.Millisecond, 2, 1}}},
		{"waits that gather nothing stop", 20 * time.Millisecond, 0, []step{
			{0, 1, 19 * time.Millisecond, 0, 1}, // worth 0.5
			{20, 21, 0, 0, 1},                   // no wait
			{40, 41, 0, 0, 1},
		}},
		{"one that gathers keeps waiting", 20 * time.Millisecond, 0, []step{
			{0, 1, 19 * time.Millisecond, 2, 1}, // worth 2
			{20, 21, 19 * time.Millisecond, 4, 1},
		}},
		{"lockstep senders gathering one each time stop", 20 * time.Millisecond, 0, []step{
			{0, 1, 19 * time.Millisecond, 1, 1}, // worth 1.5
			{20, 21, 0, 0, 1},
		}},
		{"tried again after the probe period", 20 * time.Millisecond, 0, []step{
			{0, 1, 19 * time.Millisecond, 0, 1},
			{500, 501, 0, 0, 1},
			{1020, 1021, 19 * time.Millisecond, 3, 1}, // probe: gathered, worth back to 2
			{1040, 1041, 19 * time.Millisecond, 0, 1},
		}},
		{"a batch of waitBelow does not wait", 20 * time.Millisecond, 0, []step{
			{0, 5, 15 * time.Millisecond, 3, waitBelow - 1}, // worth 2.5
			{20, 21, 0, 0, waitBelow},
		}},
		{"a full batch does not wait", 20 * time.Millisecond, 4, []step{
			{0, 5, 15 * time.Millisecond, 3, 1}, // worth 2.5: only the size stops the next wait
			{20, 21, 0, 0, 4},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			maxBatch := tc.maxBatch
			if maxBatch == 0 {
				maxBatch = 4096
			}
			p := newPacer(tc.wait, maxBatch)
			for i, s := range tc.steps {
				if s.commit >= 0 {
					p.committing(ms(s.commit))
				}
				got := p.delay(ms(s.ask), s.size)
				if got != s.want {
					t.Fatalf("step %d: delay at %d ms = %v; want %v", i, s.ask, got, s.want)
				}
				if got > 0 {
					p.waited(s.gathered, ms(s.ask).Add(got))
				}
			}
		})
	}
}
