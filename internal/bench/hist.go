package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes.
const (
	histMin  = 1
	histMax  = int64(5 * time.Minute / time.Microsecond)
	histSigs = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigs) }

// shardedHist lets many read loops record at once. It also keeps the
// latest time it was given, so a read loop touches one shard and nothing
// shared per frame: with shared counters, the load
// generator's cores fought over their cache lines at half a million
// frames a second.
type shardedHist struct {
	shards [16]histShard
}

type histShard struct {
	mu   sync.Mutex
	h    *hdrhistogram.Histogram
	last int64    // the latest at given (Unix ns)
	_    [64]byte // no two shards' fields in one cache line
}

func newShardedHist() *shardedHist {
	s := &shardedHist{}
	for i := range s.shards {
		s.shards[i].h = newHist()
	}
	return s
}

// record adds d, observed at time at (Unix ns), from the caller identified
// by key (any number: spreads the lock).
func (s *shardedHist) record(key int, d time.Duration, at int64) {
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	sh := &s.shards[uint(key)%uint(len(s.shards))]
	sh.mu.Lock()
	_ = sh.h.RecordValue(us)
	sh.last = max(sh.last, at)
	sh.mu.Unlock()
}

// totals returns how many values were recorded and the latest time given
// to record (Unix ns, 0 before any).
func (s *shardedHist) totals() (n, last int64) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.h.TotalCount()
		last = max(last, sh.last)
		sh.mu.Unlock()
	}
	return n, last
}

// shardedCount is a counter many read loops add to at once.
type shardedCount struct {
	shards [16]struct {
		n atomic.Int64
		_ [56]byte
	}
}

func (c *shardedCount) add(key int) { c.shards[uint(key)%uint(len(c.shards))].n.Add(1) }

func (c *shardedCount) load() int64 {
	var n int64
	for i := range c.shards {
		n += c.shards[i].n.Load()
	}
	return n
}

// merged returns one histogram of all shards.
func (s *shardedHist) merged() *hdrhistogram.Histogram {
	out := newHist()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		out.Merge(sh.h)
		sh.mu.Unlock()
	}
	return out
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func summarize(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
		Mean:  h.Mean() / 1000,
	}
}
