package gateway

import (
	"errors"
	"net"
)

// quietConn is a WebSocket's network connection whose errors name no
// socket address. gws puts a read error's text in the close frame it sends
// (a heartbeat or auth deadline passing is one), and "read tcp
// 10.0.0.5:8080->203.0.113.9:51234: i/o timeout" tells a client, or anyone
// logging close reasons, the server's internal address.
type quietConn struct{ net.Conn }

func (c *quietConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, quiet(err)
}

func (c *quietConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	return n, quiet(err)
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
