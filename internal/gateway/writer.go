package gateway

import (
	"encoding/binary"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// The write side of a connection: a writer runs only while frames wait,
// takes every queued frame at once, frames them into one buffer and
// writes it with one write(2).

// writeLoop writes queued frames until the queue is empty, then exits; if
// the connection is closing it ends with the close frame.
func (c *conn) writeLoop() { c.writeFrom(nil, 0) }

// writeFrom writes (*buf)[from:], frames already framed when buf is not
// nil, then whatever is queued, until the queue is empty.
func (c *conn) writeFrom(buf *[]byte, from int) {
	for {
		if buf == nil {
			batch, qbuf, closing, msg := c.take()
			if len(batch) == 0 {
				if closing {
					c.writeClose(msg)
				}
				return
			}
			buf, from = c.frame(batch, qbuf), 0
		}
		err := c.writeAll((*buf)[from:])
		c.g.putFrames(buf)
		buf = nil
		if err != nil {
			c.fail()
			return
		}
	}
}

// take takes every queued frame. When none is left it ends the writer's
// turn, and says whether the connection is closing and with what close
// frame.
func (c *conn) take() (batch []outFrame, qbuf *queueBuf, closing bool, msg []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	batch, qbuf = c.queue, c.qbuf
	c.queue, c.qbuf = nil, nil
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
	if len(batch) == 0 {
		c.writing = false
		closing, msg = c.closing, c.closeMsg
		c.closing, c.closeMsg = false, nil
	}
	return batch, qbuf, closing, msg
}

// frame frames batch into one buffer from the gateway's pool. Every frame
// waiting goes out in one write(2): fan-out queues many frames per
// connection, and a syscall per frame was most of its cost. The writer is
// the connection's only writer (pongs and pings come through the queue
// too), so framing here cannot interleave with another write; gws itself
// writes only the close frame of a connection that is ending.
func (c *conn) frame(batch []outFrame, qbuf *queueBuf) *[]byte {
	buf := c.g.frames.Get().(*[]byte)
	b := (*buf)[:0]
	for _, f := range batch {
		b = appendFrame(b, f.op, f.data)
	}
	*buf = b
	c.g.putQueue(batch, qbuf)
	return buf
}

func (g *Gateway) putFrames(buf *[]byte) {
	if cap(*buf) <= maxPooledFrames {
		*buf = (*buf)[:0]
		g.frames.Put(buf)
	}
}

// queueBuf holds the array of a connection's outbound queue between the
// writes that empty it. Under fan-out a connection's queue fills and empties
// every few milliseconds; taking the array from a pool, rather than growing
// a new one each time, saves most of the allocations a delivery made, and
// idle connections hold none.
type queueBuf struct{ frames []outFrame }

// maxPooledQueue keeps a burst's long queue from being held for good.
const maxPooledQueue = 1024

// putQueue gives batch's array back to the pool in qbuf (nil when the
// queue was not taken from it), dropping the frames it points to.
func (g *Gateway) putQueue(batch []outFrame, qbuf *queueBuf) {
	if cap(batch) > maxPooledQueue {
		return
	}
	clear(batch)
	if qbuf == nil {
		qbuf = &queueBuf{}
	}
	qbuf.frames = batch[:0]
	g.queues.Put(qbuf)
}

// writeAll writes b, waiting up to WriteWait for a client that is slow to
// take it. Under the poll engine it first writes without waiting (most
// writes fit the socket buffer), which needs no deadline.
func (c *conn) writeAll(b []byte) error {
	if c.poll != nil {
		n, err := c.poller().write(c.poll, b)
		if err == nil && n == len(b) {
			return nil
		}
		if err != nil && err != syscall.EAGAIN {
			return err
		}
		// The socket is full: the client is not reading as fast as we write.
		c.setStalled(true)
		defer c.setStalled(false)
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteWait))
		_, err = c.nc.Write(b[n:])
		_ = c.nc.SetWriteDeadline(time.Time{})
		return err
	}
	// gws's engine writes blocking, so a write is counted as waiting on
	// the client for as long as it takes.
	c.setStalled(true)
	defer c.setStalled(false)
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.g.cfg.WriteWait))
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) setStalled(v bool) {
	c.mu.Lock()
	c.stalled = v
	c.mu.Unlock()
}

// fail closes a connection whose write failed.
func (c *conn) fail() {
	c.mu.Lock()
	c.closed = true
	c.queue, c.qbuf = nil, nil
	c.mu.Unlock()
	c.shut()
}

// flushNow is flush for the coalescer under the poll engine: it writes
// what is queued from the coalescer's own goroutine when the socket takes
// it at once, sparing a writer goroutine, and leaves the rest to one.
func (c *conn) flushNow() {
	c.mu.Lock()
	c.later = false
	if c.writing || len(c.queue) == 0 {
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	batch, qbuf, _, _ := c.take() // not empty: nothing else takes while writing is set
	buf := c.frame(batch, qbuf)
	n, err := c.poller().write(c.poll, *buf)
	switch {
	case err == nil && n == len(*buf):
		c.g.putFrames(buf)
		c.mu.Lock()
		more := len(c.queue) > 0 || c.closing
		if !more {
			c.writing = false
		}
		c.mu.Unlock()
		if more {
			go c.writeLoop()
		}
	case err == nil || err == syscall.EAGAIN:
		go c.writeFrom(buf, n)
	default:
		c.g.putFrames(buf)
		go c.fail() // unregistering may wait on the core
	}
}

// writeClose writes a close frame with payload msg (a code and a reason)
// and closes the network connection, lingering (see linger): gws's
// WriteClose calls quietConn.Close, which starts the linger, and its read
// loop and OnClose end it; the poll engine's writer ends it itself.
func (c *conn) writeClose(msg []byte) {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	if c.poll == nil {
		code := uint16(0)
		if len(msg) >= 2 {
			code = binary.BigEndian.Uint16(msg)
		}
		_ = c.socket.WriteClose(code, msg[min(2, len(msg)):])
		// Unregistered now, as the poll engine does, not when the read
		// loop ends, which the linger may hold for its whole bound.
		c.g.closed(c)
		return
	}
	_, _ = c.nc.Write(appendFrame(nil, gws.OpcodeCloseConnection, msg))
	c.lingerShut()
}

// maxPooledFrames keeps a burst's large write buffer from being held by
// the gateway's pool for good.
const maxPooledFrames = 256 << 10

// appendFrame appends one unmasked, final WebSocket frame (a server's
// frame: RFC 6455 section 5.2) holding payload.
func appendFrame(b []byte, op gws.Opcode, payload []byte) []byte {
	b = append(b, 0x80|byte(op))
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}
