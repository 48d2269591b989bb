package gateway

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/lxzan/gws"
)

// TestConn is a connection of a Gateway on an in-memory pipe, for tests
// that feed it frames straight into its parser and dispatcher, without a
// client's framing and masking. What the server writes is discarded.
type TestConn struct {
	c      *conn
	client net.Conn
}

// pipeWriter is a ResponseWriter whose connection is one end of a pipe.
type pipeWriter struct {
	*httptest.ResponseRecorder
	server net.Conn
}

func (w pipeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.server, bufio.NewReadWriter(bufio.NewReader(w.server), bufio.NewWriter(w.server)), nil
}

// NewTestConn upgrades a connection to g over a pipe, as ServeHTTP does.
func NewTestConn(g *Gateway) (*TestConn, error) {
	server, client := net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, client) }()
	r := httptest.NewRequest(http.MethodGet, "/v1/ws", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	g.ServeHTTP(pipeWriter{httptest.NewRecorder(), server}, r)
	g.mu.RLock()
	defer g.mu.RUnlock()
	for c := range g.conns {
		if c.nc.Conn == server {
			return &TestConn{c: c, client: client}, nil
		}
	}
	client.Close()
	return nil, errors.New("gateway took no connection")
}

// Frame hands data to the connection as a frame it read: text, or binary.
func (t *TestConn) Frame(binary bool, data []byte) {
	op := gws.OpcodeText
	if binary {
		op = gws.OpcodeBinary
	}
	t.c.receive(op, data)
}

// Authed reports whether the connection has authenticated.
func (t *TestConn) Authed() bool { return t.c.authed.Load() }

// Closed reports whether the connection is closing or closed.
func (t *TestConn) Closed() bool { return t.c.isClosed() }

// Close ends the pipe, and with it the connection.
func (t *TestConn) Close() {
	_ = t.client.Close()
	for i := 0; i < 100 && !t.c.isClosed(); i++ {
		time.Sleep(time.Millisecond)
	}
}

// Push queues a text frame holding data on every connection of userID, as
// a delivery does; false if one of them refused it (closed, or closed now
// for being too slow).
func Push(g *Gateway, userID string, data []byte) bool {
	return push(g, userID, data, false)
}

// PushLater is Push as a large fan-out does it: the writer starts once the
// coalescer's wait is over.
func PushLater(g *Gateway, userID string, data []byte) bool {
	return push(g, userID, data, true)
}

func push(g *Gateway, userID string, data []byte, later bool) bool {
	g.mu.RLock()
	cs := slices.Clone(g.byUser[userID])
	g.mu.RUnlock()
	ok := len(cs) > 0
	for _, c := range cs {
		ok = c.put(outFrame{op: gws.OpcodeText, data: data}, false, later) && ok
	}
	return ok
}

// Polled reports whether every open connection of g is read by the poll
// engine.
func Polled(g *Gateway) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for c := range g.conns {
		if c.poll == nil {
			return false
		}
	}
	return len(g.conns) > 0
}
