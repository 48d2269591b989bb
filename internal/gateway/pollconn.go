package gateway

import (
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// Engines read WebSocket connections. Both write the same way (the
// connection's writer goroutine, see writeLoop) and share the handshake
// (gws's upgrader); they differ in how a connection is read.
const (
	// EnginePoll: one epoll set for every connection; a goroutine reads a
	// connection only while it has something to read, so an idle
	// connection holds no goroutine, no stack and no read buffer. Linux
	// only; elsewhere, and for TLS connections served directly, the gws
	// engine reads instead.
	EnginePoll = "poll"
	// EngineGWS: gws's read loop, one goroutine per connection.
	EngineGWS = "gws"
)

// pollState is what the poll engine keeps of a connection between reads.
type pollState struct {
	raw      syscall.RawConn
	fd       int32
	reading  atomic.Bool  // a goroutine is reading the connection
	down     atomic.Bool  // the connection is closed and unregistered
	deadline atomic.Int64 // unix ns; nothing read by then closes the connection
	pending  []byte       // the start of a frame not yet whole
	frames   frameReader
}

// readBufSize is the read buffer lent to a connection for one read; a
// frame that does not fit grows it, up to the read limit.
const readBufSize = 8 << 10

// maxPooledRead keeps a large frame's buffer out of the pool.
const maxPooledRead = 64 << 10

// serve reads everything c's client has sent, handles each whole message
// in order, keeps the start of an unfinished frame, and hands c back to
// the poller. It runs on a goroutine of its own, one at a time per
// connection (ps.reading).
func (c *conn) serve() {
	ps := c.poll
	buf := c.g.reads.Get().(*[]byte)
	b := append((*buf)[:0], ps.pending...)
	ps.pending = nil
	need := 0
	open := true
	for open {
		if need > cap(b) {
			b = slices.Grow(b, need-len(b))
		} else if len(b) == cap(b) {
			b = slices.Grow(b, len(b))
		}
		n, err := c.poller().read(ps, b[len(b):cap(b)])
		if n > 0 {
			b = b[:len(b)+n]
			var used int
			used, need, open = c.consume(b)
			b = b[:copy(b, b[used:])]
			continue
		}
		if err == syscall.EAGAIN {
			break
		}
		// End of stream, or the connection was closed under us.
		open = false
		c.shut()
	}
	if open && len(b) > 0 {
		ps.pending = append([]byte(nil), b...)
	}
	if cap(b) <= maxPooledRead {
		*buf = b[:0]
		c.g.reads.Put(buf)
	}
	ps.reading.Store(false)
	if open {
		c.poller().arm(c)
	}
}

// consume handles every whole frame at the start of b. It returns how many
// bytes it used, how long the next frame is when that is known, and false
// once the connection is closing.
func (c *conn) consume(b []byte) (used, need int, open bool) {
	ps := c.poll
	for {
		n, need, ev, err := ps.frames.next(b[used:])
		if err != nil {
			// As gws does on a protocol error: the close frame goes out at
			// once, ahead of anything queued.
			c.close(err.code, err.reason, false)
			return used, 0, false
		}
		if n == 0 {
			return used, need, true
		}
		used += n
		switch ev.op {
		case 0: // a fragment, kept by the frame reader
		case gws.OpcodePing:
			c.enqueue(outFrame{op: gws.OpcodePong, data: append([]byte(nil), ev.data...)}, false)
		case gws.OpcodePong:
			c.alive()
		case gws.OpcodeCloseConnection:
			c.closeWith(closeReply(ev.data))
			return used, 0, false
		default:
			c.receive(ev.op, ev.data)
		}
		if c.isClosed() {
			// Nothing more is read; the writer sends what is queued and
			// the close frame, then shuts the connection.
			return used, 0, false
		}
	}
}

// closeWith closes the connection with a close frame of payload msg, sent
// at once: the answer to a client's close.
func (c *conn) closeWith(msg []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.held, c.queue, c.qbuf = nil, nil, nil
	c.closing, c.closeMsg = true, msg
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// expired reports whether c has read nothing for longer than allowed at now.
func (ps *pollState) expired(now time.Time) bool {
	return !ps.down.Load() && now.UnixNano() > ps.deadline.Load()
}

// timedOut closes a connection whose client sent nothing in time, with the
// close frame gws sends when its read deadline passes.
func (c *conn) timedOut() {
	c.close(1000, "read tcp: i/o timeout", false)
}

func (c *conn) poller() *poller { return c.g.poller }
