package gateway

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// A connection the server closes lingers before its socket closes.
//
// Closing a TCP socket whose receive buffer still holds bytes the server
// has not read makes the kernel answer with a reset instead of a FIN
// (RFC 1122 4.2.2.13, and Linux does so). A server closes most often on a
// client that is still sending (one flooding past its frame budget, one
// whose frame is over the read limit, one too slow to read), and that
// reset overtakes what the client has not read yet: its next write fails
// with "connection reset", and a client library that then drops the
// connection (gws does) never reads the close frame, nor the error frames
// before it. So the server closes in three steps: it writes the close
// frame; shuts down its side for writing, which sends a FIN behind the
// close frame; then reads and drops whatever the client still sends until
// the client closes its side (end of stream), and only then closes the
// socket, with nothing unread, so without a reset. A client that never
// stops sending cannot hold the socket open: the reading ends after
// lingerTime or lingerBytes, whichever comes first, and the socket then
// closes as before, reset and all.
//
// Both engines linger on the same socket wrapper (quietConn): the poll
// engine's writer drains the socket itself once the close frame is out
// (conn.lingerShut); under the gws engine gws's read loop, still running,
// is the first reader and drops what it reads, and OnClose drains the
// rest.

// Linger bounds a Gateway uses when its Config leaves them zero.
const (
	defaultLingerTime  = 2 * time.Second
	defaultLingerBytes = 256 << 10
)

// linger is the state of a socket's lingering close.
type linger struct {
	time  time.Duration // how long to read and drop after the close frame
	bytes int64         // how much to read and drop at most

	begun atomic.Bool
	until atomic.Int64 // unix ns: the linger's end, the last read deadline
	left  atomic.Int64 // bytes that may still be read before reading stops
	on    atomic.Bool  // until and left are set; reads count against left
	done  sync.Once    // the socket is closed once, by hangUp
}

// errLingerBytes ends the reading of a lingering socket whose client sent
// more than the linger takes.
var errLingerBytes = chat.Errorf(chat.ETooLarge, "closing connection: the client sent more than the linger reads")

// halfClose starts the linger: the write side shuts (a FIN follows what
// was written, the close frame last) and the read deadline is set to the
// linger's end, for good: deadlines set after it are ignored, so neither a
// pong (gws engine) nor anything else keeps a closing socket open longer.
func (c *quietConn) halfClose() {
	if !c.lg.begun.CompareAndSwap(false, true) {
		return
	}
	until := time.Now().Add(c.lg.time)
	c.lg.until.Store(until.UnixNano())
	c.lg.left.Store(c.lg.bytes)
	c.lg.on.Store(true)
	_ = c.Conn.SetReadDeadline(until)
	closeWrite(c.Conn)
}

// closeWrite shuts nc's write side where it has one. Over TLS the
// close_notify alert goes first, then the FIN of the TCP connection under
// it (tls.Conn.CloseWrite does not shut that one).
func closeWrite(nc net.Conn) {
	type writeCloser interface{ CloseWrite() error }
	if tc, ok := nc.(*tls.Conn); ok {
		_ = tc.CloseWrite()
		nc = tc.NetConn()
	}
	if wc, ok := nc.(writeCloser); ok {
		_ = wc.CloseWrite()
	}
}

// drainClose ends a linger: it starts it if it has not started, reads and
// drops until the client closes its side, the deadline passes or the byte
// bound is crossed, and closes the socket. It blocks for up to the
// linger's time, so it runs only on a goroutine that is ending anyway: the
// poll engine's writer, gws's read loop.
func (c *quietConn) drainClose() {
	c.halfClose()
	buf := make([]byte, 4<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	c.hangUp()
}

// countLinger charges n bytes read to a lingering socket, and returns
// errLingerBytes once the client sent more than the linger takes.
func (c *quietConn) countLinger(n int) error {
	if n > 0 && c.lg.on.Load() && c.lg.left.Add(-int64(n)) < 0 {
		return errLingerBytes
	}
	return nil
}

// hangUp closes the socket now, once, whatever it still holds: a write
// failed, the client is gone, or the linger is over.
func (c *quietConn) hangUp() {
	c.lg.done.Do(func() { _ = c.Conn.Close() })
}
