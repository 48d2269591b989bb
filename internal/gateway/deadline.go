package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlines hands out the context a client frame is handled under: one
// that ends between limit and limit+step from now. A context is shared by
// every frame that starts within the same step, so the gateway makes one
// timer a step instead of one per frame (a timer per frame was 2% of the
// server's CPU under closed-loop direct messages). Nobody cancels a shared
// context early; each ends at its deadline.
type deadlines struct {
	limit, step time.Duration

	cur atomic.Pointer[deadline]
	mu  sync.Mutex // held while a new context is made
}

type deadline struct {
	ctx context.Context
	// cancel is never called early (frames of the last step still use the
	// context); the context ends at its deadline, which stops its timer.
	cancel context.CancelFunc
	from   int64 // Unix ns: handed out to frames starting in [from, until)
	until  int64
}

func (c *deadline) covers(ns int64) bool { return c != nil && ns >= c.from && ns < c.until }

func newDeadlines(limit, step time.Duration) *deadlines {
	return &deadlines{limit: limit, step: step}
}

// at returns a context whose deadline is at least limit after now and at
// most limit+step after it (also when the clock was set back).
func (d *deadlines) at(now time.Time) context.Context {
	ns := now.UnixNano()
	if c := d.cur.Load(); c.covers(ns) {
		return c.ctx
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.cur.Load(); c.covers(ns) {
		return c.ctx
	}
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(d.limit+d.step))
	d.cur.Store(&deadline{ctx: ctx, cancel: cancel, from: ns, until: ns + int64(d.step)})
	return ctx
}
