package bench

import (
	"sync"
	"testing"
	"time"
)

// TestShardedHist: values recorded from many read loops at once are all
// counted and merged, the latest time is the largest given, and values
// out of range are clamped into it.
func TestShardedHist(t *testing.T) {
	h := newShardedHist()
	var c shardedCount
	if n, last := h.totals(); n != 0 || last != 0 || c.load() != 0 {
		t.Fatalf("empty: count %d, latest %d, counter %d", n, last, c.load())
	}
	const loops, each = 40, 500
	var wg sync.WaitGroup
	for k := range loops {
		wg.Go(func() {
			for i := range each {
				h.record(k, time.Duration(i+1)*time.Millisecond, int64(k*each+i))
				c.add(k)
			}
		})
	}
	wg.Wait()
	n, last := h.totals()
	if want := int64(loops * each); n != want {
		t.Errorf("count %d; want %d", n, want)
	}
	if got, want := c.load(), int64(loops*each); got != want {
		t.Errorf("counter %d; want %d", got, want)
	}
	if want := int64(loops*each - 1); last != want {
		t.Errorf("latest %d; want %d", last, want)
	}
	m := h.merged()
	if m.TotalCount() != loops*each || m.Max() < 499_000 || m.Max() > 501_000 {
		t.Errorf("merged: %d values, max %d µs", m.TotalCount(), m.Max())
	}

	h = newShardedHist()
	h.record(3, -time.Second, 5)
	h.record(3, time.Hour, 1)
	m = h.merged()
	if _, last := h.totals(); m.Min() != histMin || m.Max() < histMax*999/1000 || last != 5 {
		t.Errorf("clamped: min %d, max %d, latest %d", m.Min(), m.Max(), last)
	}
}
