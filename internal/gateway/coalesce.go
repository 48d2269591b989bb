package gateway

import (
	"sync"
	"time"
)

// coalescer starts, a moment late, the writers of connections that large
// fan-outs queued frames on. A fan-out to a thousand connections is a
// thousand write(2)s, and on loopback each costs more than everything
// else a delivery does; a connection's writer writes every frame it finds
// queued in one, so waiting a few milliseconds lets the next messages'
// frames share the write. One timer serves every connection.
type coalescer struct {
	wait time.Duration

	mu    sync.Mutex
	conns []*conn
	timer *time.Timer
}

// add has c's writer started once the wait is over.
func (q *coalescer) add(c *conn) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.conns = append(q.conns, c)
	if len(q.conns) > 1 {
		return
	}
	if q.timer == nil {
		q.timer = time.AfterFunc(q.wait, q.flush)
	} else {
		q.timer.Reset(q.wait)
	}
}

// flush starts the writers of every connection waiting.
func (q *coalescer) flush() {
	q.mu.Lock()
	conns := q.conns
	q.conns = nil
	q.mu.Unlock()
	for _, c := range conns {
		if c.poll != nil {
			c.flushNow()
		} else {
			c.flush()
		}
	}
}
