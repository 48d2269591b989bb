package client

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/wire"
)

// DefaultMaxQueuedEvents is how many pushed frames may wait unread on
// Conn.Events before the connection is closed with ErrEventOverflow.
const DefaultMaxQueuedEvents = 1 << 16

// closeWait bounds how long Close waits for a socket write that is stuck.
const closeWait = time.Second

// Conn is one authenticated WebSocket connection.
//
// Requests (Send, Sync, Receipt, PresenceSubscribe, Ping, Do) carry a fresh
// frame id and wait for the matching ack or error frame; many may be in
// flight at once, from any number of goroutines. An error frame becomes an
// *Error; a connection that ends fails every pending request with the
// reason Err reports.
//
// Frames the server pushes (message, receipt, presence, typing, member,
// reconnect, resync) go, in the order they arrive, to the OnEvent handler
// if one was given, otherwise to Events. So do answers no request waits
// for: error frames without an id, late answers to cancelled requests, and
// answers to frames sent with WriteRaw.
//
// A Conn costs one goroutine (its read loop), plus one more while Events is
// in use.
type Conn struct {
	ws      *gws.Conn
	handler func(*Conn, wire.ServerFrame)
	queue   *eventQueue // nil when handler is set
	nextID  atomic.Uint64

	// Set by the read loop before ready or done is closed; read after.
	authed  bool
	user    wire.User
	node    string
	authErr error
	ready   chan struct{}

	mu      sync.Mutex
	pending map[string]func(wire.ServerFrame, error) // nil once the read loop has ended
	closing error                                    // why we are closing, when it was our choice
	stopped atomic.Bool                              // closing is set: read no more frames
	err     error                                    // why the connection ended
	done    chan struct{}
}

// DialOption configures a Conn.
type DialOption func(*dialConfig)

type dialConfig struct {
	handler   func(*Conn, wire.ServerFrame)
	maxQueued int
	dialer    *net.Dialer
}

// WithDialer makes the Conn open its TCP connection with d, for example
// with a LocalAddr: one source address reaches only ~28k ports per
// destination, so a load generator spreads connections over several.
func WithDialer(d *net.Dialer) DialOption {
	return func(c *dialConfig) { c.dialer = d }
}

// OnEvent makes the Conn call h for each pushed frame instead of queueing it
// on Events. h runs on the Conn's read loop: frames are handed over one at a
// time in arrival order, and no ack is read while h runs. So h must return
// quickly and must not wait for a request on the same Conn (Send, Sync, ...
// would never see their ack); SendAsync, Typing and Close are fine. The read
// loop waits for h as long as it takes: a handler that stalls stalls the
// connection, until the server closes it as too slow.
func OnEvent(h func(c *Conn, f wire.ServerFrame)) DialOption {
	return func(d *dialConfig) { d.handler = h }
}

// MaxQueuedEvents sets how many pushed frames may wait unread on Events
// (default DefaultMaxQueuedEvents). The queue grows as needed, up to n.
func MaxQueuedEvents(n int) DialOption {
	return func(d *dialConfig) { d.maxQueued = n }
}

// WebSocketURL returns the WebSocket address of the deployment the Client
// talks to: its base URL with ws or wss for http or https, plus /v1/ws.
func (c *Client) WebSocketURL() string {
	u := c.base
	switch {
	case strings.HasPrefix(u, "https://"):
		u = "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		u = "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u + "/v1/ws"
}

// Dial opens a WebSocket to WebSocketURL and authenticates with the Client's
// token as the given device. See DialURL.
func (c *Client) Dial(ctx context.Context, device string, opts ...DialOption) (*Conn, error) {
	return c.DialURL(ctx, c.WebSocketURL(), device, opts...)
}

// DialDiscovered asks the deployment which node to use (Discover) and
// dials it; when that dial fails it tries the answer's alternates and then
// WebSocketURL at once, in that order, so a node that died since discovery
// last saw it costs one refused dial, not a backoff. Without an answer from
// Discover it dials WebSocketURL.
// A refused token ends the tries: another node would say the same.
// perDial bounds each attempt (0: only ctx does).
func (c *Client) DialDiscovered(ctx context.Context, device string, perDial time.Duration, opts ...DialOption) (*Conn, error) {
	urls := []string{}
	if d, err := c.Discover(ctx); err == nil {
		urls = append(append(urls, d.WSURL), d.Alternates...)
	}
	urls = append(urls, c.WebSocketURL())
	var errs []error
	seen := map[string]bool{}
	for _, u := range urls {
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if perDial > 0 {
			dctx, cancel = context.WithTimeout(ctx, perDial)
		}
		conn, err := c.DialURL(dctx, u, device, opts...)
		cancel()
		if err == nil {
			return conn, nil
		}
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.Code == "unauthorized" || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return nil, fmt.Errorf("switchboard: no node reachable: %w", errors.Join(errs...))
}

// DialURL opens a WebSocket to wsURL (for example the ws_url from
// Discover), sends the auth frame with the Client's token and device, and
// returns once the server answered ready. A refused token is the server's
// *Error (code unauthorized); a refused upgrade is an *Error with the HTTP
// status. ctx bounds the whole handshake; cancelling it later does not
// affect the Conn.
func (c *Client) DialURL(ctx context.Context, wsURL, device string, opts ...DialOption) (*Conn, error) {
	cfg := dialConfig{maxQueued: DefaultMaxQueuedEvents}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(wsURL)
	if err != nil {
		return nil, fmt.Errorf("websocket url: %w", err)
	}
	addr := u.Host
	switch u.Scheme {
	case "ws":
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	case "wss":
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		}
	default:
		return nil, fmt.Errorf("websocket url %q: scheme must be ws or wss", wsURL)
	}

	d := cfg.dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if u.Scheme == "wss" {
		tc := tls.Client(nc, c.tlsConfig(u.Hostname()))
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
		}
		nc = tc
	}

	conn := &Conn{
		handler: cfg.handler,
		ready:   make(chan struct{}),
		pending: make(map[string]func(wire.ServerFrame, error)),
		done:    make(chan struct{}),
	}
	if conn.handler == nil {
		conn.queue = newEventQueue(cfg.maxQueued)
	}

	// Until ready, cancelling ctx closes the socket, which ends every wait.
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	opt := &gws.ClientOption{Addr: wsURL}
	if dl, ok := ctx.Deadline(); ok {
		opt.HandshakeTimeout = time.Until(dl)
	}
	ws, resp, err := gws.NewClientFromConn(wsEvents{conn}, opt, nc)
	if err != nil {
		stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &Error{Status: resp.StatusCode, Code: codeForStatus(resp.StatusCode),
				Message: "websocket upgrade refused: " + resp.Status}
		}
		return nil, fmt.Errorf("websocket handshake with %s: %w", addr, err)
	}
	conn.ws = ws
	go ws.ReadLoop()

	werr := conn.write(wire.ClientFrame{Type: wire.TypeAuth, ID: conn.newID(), Token: c.Token(), Device: device})
	if werr == nil {
		select {
		case <-conn.ready:
		case <-conn.done:
		case <-ctx.Done():
		}
	}
	if !stop() || werr != nil {
		_ = nc.Close()
		<-conn.done
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("send auth frame: %w", werr)
	}
	select {
	case <-conn.ready:
		return conn, nil
	default:
	}
	<-conn.done
	if conn.authErr != nil {
		return nil, conn.authErr
	}
	return nil, fmt.Errorf("switchboard: no ready frame: %w", conn.err)
}

// tlsConfig returns the TLS settings of the Client's http.Transport, if
// any, for host.
func (c *Client) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{}
	if t, ok := c.http.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// User returns the authenticated user, as the ready frame named it.
func (c *Conn) User() wire.User { return c.user }

// Node returns the id of the node the Conn is connected to.
func (c *Conn) Node() string { return c.node }

// Done is closed when the connection has ended and every pending request
// has failed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open, then why it ended:
// ErrClosed after Close, ErrEventOverflow, a *CloseError with the code and
// reason the server closed with (a slow client, a draining node, ...), or
// the network error.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection and stops delivering events; it does not
// wait for the read loop to end (wait on Done for that). Pending requests
// fail with ErrClosed. Close may be called more than once, and from an
// OnEvent handler.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing == nil {
		c.closing = ErrClosed
	}
	c.stopped.Store(true)
	c.mu.Unlock()
	if c.queue != nil {
		c.queue.abandon()
	}
	c.shutdown(1000)
	return nil
}

// shutdown sends a close frame and closes the socket, giving up on a stuck
// write after closeWait.
func (c *Conn) shutdown(code uint16) {
	_ = c.ws.SetWriteDeadline(time.Now().Add(closeWait))
	_ = c.ws.WriteClose(code, nil)
}

// fail closes the connection because of err, which Err will report.
func (c *Conn) fail(code uint16, err error) {
	c.mu.Lock()
	if c.closing == nil {
		c.closing = err
	}
	c.stopped.Store(true)
	c.mu.Unlock()
	c.shutdown(code)
}

// Events returns the pushed frames, in arrival order. The channel is closed
// once the connection has ended and every frame queued before was received,
// or at once after Close. Events returns nil when the Conn has an OnEvent
// handler.
//
// The read loop never waits for the reader: frames wait in a queue that
// grows as needed; when more than MaxQueuedEvents wait, the connection is
// closed and Err returns ErrEventOverflow (the frames queued so far can
// still be received). Frames pushed by a Sync are queued before Sync
// returns. Call Close when done even if the server ended the connection:
// it stops the goroutine that feeds the channel.
func (c *Conn) Events() <-chan wire.ServerFrame {
	if c.queue == nil {
		return nil
	}
	return c.queue.channel()
}

func (c *Conn) newID() string { return strconv.FormatUint(c.nextID.Add(1), 10) }

// write sends one frame.
func (c *Conn) write(f wire.ClientFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", f.Type, err)
	}
	return c.WriteRaw(b)
}

// WriteRaw sends data as one text frame, as is. It is meant for tests of
// how the server handles bad input; the answer arrives as an event (give
// the frame an id that is not a decimal number, so it cannot be mistaken
// for a pending request's).
func (c *Conn) WriteRaw(data []byte) error {
	if err := c.ws.WriteMessage(gws.OpcodeText, data); err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closing != nil {
			return c.closing
		}
		if c.err != nil {
			return c.err
		}
		return fmt.Errorf("switchboard: write: %w", err)
	}
	return nil
}

// register makes room for the answer to a new request and returns its id.
func (c *Conn) register(cb func(wire.ServerFrame, error)) (string, error) {
	id := c.newID()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closing != nil:
		return "", c.closing
	case c.pending == nil:
		return "", c.err
	}
	c.pending[id] = cb
	return id, nil
}

// take removes and returns the callback waiting for id, or nil.
func (c *Conn) take(id string) func(wire.ServerFrame, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cb := c.pending[id]
	delete(c.pending, id)
	return cb
}

// Do sends f with a fresh id (replacing f.ID) and waits for the answer: the
// ack or pong frame, or the error frame as an *Error. The typed methods are
// built on it; use it for frames they do not cover. A cancelled ctx stops
// the wait (the frame may still have been sent); a late answer then
// arrives as an event.
func (c *Conn) Do(ctx context.Context, f wire.ClientFrame) (wire.ServerFrame, error) {
	if err := ctx.Err(); err != nil {
		return wire.ServerFrame{}, err
	}
	type answer struct {
		f   wire.ServerFrame
		err error
	}
	ch := make(chan answer, 1)
	id, err := c.register(func(f wire.ServerFrame, err error) { ch <- answer{f, err} })
	if err != nil {
		return wire.ServerFrame{}, err
	}
	f.ID = id
	if err := c.write(f); err != nil {
		if c.take(id) != nil {
			return wire.ServerFrame{}, err
		}
		a := <-ch
		return a.f, a.err
	}
	select {
	case a := <-ch:
		return a.f, a.err
	case <-ctx.Done():
		if c.take(id) != nil {
			return wire.ServerFrame{}, ctx.Err()
		}
		a := <-ch
		return a.f, a.err
	}
}

// DoAsync sends f with a fresh id (replacing f.ID) and returns at once. If
// it returns nil, done is called exactly once with the answer (as in Do),
// on the Conn's read loop goroutine: see OnEvent for what done may do
// there. If it returns an error, done is never called.
func (c *Conn) DoAsync(f wire.ClientFrame, done func(wire.ServerFrame, error)) error {
	id, err := c.register(done)
	if err != nil {
		return err
	}
	f.ID = id
	if err := c.write(f); err != nil && c.take(id) != nil {
		return err
	}
	return nil
}

// SendRequest is a message to send: to a user (ToUser, which opens or
// reuses the direct conversation) or to a conversation by id.
type SendRequest struct {
	// ClientMsgID makes the send idempotent: a retry with the same id
	// returns the original message. Send fills it in with NewClientMsgID
	// when empty; set it yourself if you may retry after an error.
	ClientMsgID  string
	ToUser       string
	Conversation string
	Text         string
	MediaID      string
	ReplyTo      string // a message of the same conversation
}

// NewClientMsgID returns a fresh random client_msg_id.
func NewClientMsgID() string { return rand.Text() }

func (r SendRequest) frame() wire.ClientFrame {
	if r.ClientMsgID == "" {
		r.ClientMsgID = NewClientMsgID()
	}
	return wire.ClientFrame{Type: wire.TypeSend, ClientMsgID: r.ClientMsgID, ToUser: r.ToUser,
		Conversation: r.Conversation, Text: r.Text, MediaID: r.MediaID, ReplyTo: r.ReplyTo}
}

func ackMessage(f wire.ServerFrame, err error) (wire.Message, error) {
	if err != nil {
		return wire.Message{}, err
	}
	if f.Msg == nil {
		return wire.Message{}, errors.New("switchboard: send ack without a message")
	}
	return *f.Msg, nil
}

// Send sends a message and returns it as stored, once the server has
// committed it. The sender's other devices and the other members get it
// pushed; this Conn does not.
func (c *Conn) Send(ctx context.Context, req SendRequest) (wire.Message, error) {
	return ackMessage(c.Do(ctx, req.frame()))
}

// SendAsync sends a message without waiting, for pipelining many sends on
// one Conn. If it returns nil, done is called exactly once with the stored
// message or the error, as DoAsync describes; if it returns an error, done
// is never called.
func (c *Conn) SendAsync(req SendRequest, done func(wire.Message, error)) error {
	return c.DoAsync(req.frame(), func(f wire.ServerFrame, err error) { done(ackMessage(f, err)) })
}

// Sync asks for every message after each cursor (conversation id -> last
// seq held; conversations not named start from their read position) and
// returns the caller's conversations. The server pushes the missed messages
// as message frames, in seq order, before its ack: when Sync returns they
// have all been handed to OnEvent or queued on Events.
func (c *Conn) Sync(ctx context.Context, cursors map[string]int64) ([]wire.Conversation, error) {
	f, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypeSync, Cursors: cursors})
	return f.Conversations, err
}

// Receipt moves the caller's delivered or read position ("delivered" or
// "read") in a conversation forward to seq; a seq at or below the current
// position changes nothing.
func (c *Conn) Receipt(ctx context.Context, conversation string, seq int64, status string) error {
	_, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypeReceipt, Conversation: conversation, Seq: seq, Status: status})
	return err
}

// Typing tells the conversation's other online members that the caller is
// typing. There is no ack; an error arrives as an error event.
func (c *Conn) Typing(conversation string) error {
	return c.write(wire.ClientFrame{Type: wire.TypeTyping, Conversation: conversation})
}

// PresenceSubscribe returns the users' presence now; later changes arrive
// as presence events.
func (c *Conn) PresenceSubscribe(ctx context.Context, users []string) ([]wire.Presence, error) {
	f, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypePresenceSubscribe, Users: users})
	return f.PresenceList, err
}

// Ping waits for the server's pong.
func (c *Conn) Ping(ctx context.Context) error {
	_, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypePing})
	return err
}

// dispatch handles one frame on the read loop.
func (c *Conn) dispatch(f wire.ServerFrame) {
	if c.stopped.Load() {
		return // frames still buffered after we chose to close
	}
	if !c.authed {
		switch f.Type {
		case wire.TypeReady:
			if f.User != nil {
				c.user = *f.User
			}
			c.node = f.Node
			c.authed = true
			close(c.ready)
		case wire.TypeError:
			c.authErr = &Error{Code: f.Code, Message: f.Message}
			c.fail(1000, c.authErr)
		default:
			c.fail(1002, fmt.Errorf("switchboard: expected a ready frame, got %q", f.Type))
		}
		return
	}
	switch f.Type {
	case wire.TypeAck, wire.TypePong, wire.TypeError:
		// An answer nobody waits for (a cancelled request's, a WriteRaw
		// frame's, an error about a frame without id) is an event.
		if cb := c.take(f.ID); cb != nil {
			if f.Type == wire.TypeError {
				cb(f, &Error{Code: f.Code, Message: f.Message})
			} else {
				cb(f, nil)
			}
			return
		}
	}
	if c.handler != nil {
		c.handler(c, f)
		return
	}
	if !c.queue.push(f) {
		c.fail(1008, ErrEventOverflow)
	}
}

// end runs once, when the read loop stops.
func (c *Conn) end(cause error) {
	c.mu.Lock()
	reason := c.closing
	if reason == nil {
		var ce *gws.CloseError
		if errors.As(cause, &ce) {
			reason = &CloseError{Code: int(ce.Code), Reason: string(ce.Reason)}
		} else {
			reason = fmt.Errorf("switchboard: connection lost: %w", cause)
		}
	}
	c.err = reason
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, cb := range pending {
		cb(wire.ServerFrame{}, reason)
	}
	if c.queue != nil {
		c.queue.end()
	}
	close(c.done)
}

// wsEvents receives gws's callbacks for one Conn.
type wsEvents struct{ c *Conn }

func (wsEvents) OnOpen(*gws.Conn) {}

func (e wsEvents) OnClose(_ *gws.Conn, err error) { e.c.end(err) }

func (wsEvents) OnPing(s *gws.Conn, payload []byte) { _ = s.WritePong(payload) }

func (wsEvents) OnPong(*gws.Conn, []byte) {}

func (e wsEvents) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	if e.c.stopped.Load() {
		return
	}
	var f wire.ServerFrame
	// UnmarshalJSON itself: json.Unmarshal would first scan the whole frame,
	// which UnmarshalJSON checks anyway (wire's BenchmarkServerFrameUnmarshal).
	if err := f.UnmarshalJSON(m.Bytes()); err != nil {
		e.c.fail(1002, fmt.Errorf("switchboard: bad frame from server: %w", err))
		return
	}
	e.c.dispatch(f)
}
