package gateway

import (
	"errors"
	"net"
	"time"
)

// quietConn is a WebSocket's network connection whose errors name no
// socket address. gws puts a read error's text in the close frame it sends
// (a heartbeat or auth deadline passing is one), and "read tcp
// 10.0.0.5:8080->203.0.113.9:51234: i/o timeout" tells a client, or anyone
// logging close reasons, the server's internal address.
//
// It is also where a closing connection lingers (see linger): Close, which
// only gws calls, after its close frame, shuts the write side and starts
// the linger instead of closing the socket.
type quietConn struct {
	net.Conn
	lg linger
}

func newQuietConn(nc net.Conn, lingerTime time.Duration, lingerBytes int) *quietConn {
	return &quietConn{Conn: nc, lg: linger{time: lingerTime, bytes: int64(lingerBytes)}}
}

func (c *quietConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if lerr := c.countLinger(n); lerr != nil && err == nil {
		err = lerr
	}
	return n, quiet(err)
}

func (c *quietConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, quiet(err)
}

// Close is gws's close, after it wrote its close frame: the socket
// lingers, and gws's read loop, which goes on reading until the client
// closes or the linger ends, drops what it reads; OnClose closes the socket
// (drainClose). Anything else that closes calls hangUp or drainClose.
func (c *quietConn) Close() error {
	c.halfClose()
	return nil
}

// SetReadDeadline is ignored once the socket lingers: the linger's end is
// the last read deadline. A deadline set while the linger starts is set
// again to the linger's end.
func (c *quietConn) SetReadDeadline(t time.Time) error {
	if c.lg.on.Load() {
		return nil
	}
	err := c.Conn.SetReadDeadline(t)
	if c.lg.on.Load() {
		return c.Conn.SetReadDeadline(time.Unix(0, c.lg.until.Load()))
	}
	return err
}

// SetDeadline is SetWriteDeadline and SetReadDeadline, the latter
// ignored once the socket lingers.
func (c *quietConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// quiet drops the addresses of a network error and keeps what it says
// (timeout, reset), so errors.Is and Timeout still work.
func quiet(err error) error {
	var op *net.OpError
	if err == nil || !errors.As(err, &op) {
		return err
	}
	return &net.OpError{Op: op.Op, Net: op.Net, Err: op.Err}
}
