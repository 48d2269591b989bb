package tui

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// Default reconnect backoff bounds: the first retry waits
// DefaultMinBackoff, each failed attempt doubles the wait up to
// DefaultMaxBackoff.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
)

// maxSyncRounds bounds the syncs run back to back after a connect: the
// server sends at most 1000 messages per conversation per sync, so a long
// absence takes several.
const maxSyncRounds = 20

// Session keeps one authenticated user connected: it dials, syncs from the
// Tracker's cursors, watches for gaps, and redials with backoff when the
// connection ends. Everything it learns reaches the UI as tea.Msgs on
// Events, in the order the server sent it.
type Session struct {
	c          *client.Client
	device     string
	minBackoff time.Duration
	maxBackoff time.Duration

	tracker client.Tracker
	out     chan tea.Msg

	mu      sync.Mutex
	conn    *client.Conn
	syncing bool // a gap-filling sync is running
}

// SessionOption configures a Session.
type SessionOption func(*Session)

// WithBackoff sets the reconnect backoff bounds (defaults
// DefaultMinBackoff and DefaultMaxBackoff); a bound below 1 ms is 1 ms.
func WithBackoff(lo, hi time.Duration) SessionOption {
	return func(s *Session) {
		s.minBackoff = max(lo, time.Millisecond)
		s.maxBackoff = max(hi, s.minBackoff)
	}
}

// NewSession returns a Session for the logged-in Client c; device labels
// its connections.
func NewSession(c *client.Client, device string, opts ...SessionOption) *Session {
	s := &Session{c: c, device: device, out: make(chan tea.Msg, 4096),
		minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Client returns the HTTP client the Session uses.
func (s *Session) Client() *client.Client { return s.c }

// Events returns what the Session reports, for the model's waitEvent.
func (s *Session) Events() <-chan tea.Msg { return s.out }

// emit hands a message to the UI. It waits when the UI lags by more than
// the channel's buffer, which stalls the read loop as the client package
// documents; it gives up once ctx ends.
func (s *Session) emit(ctx context.Context, m tea.Msg) {
	select {
	case s.out <- m:
	case <-ctx.Done():
	}
}

// current returns the open connection, or nil between connections.
func (s *Session) current() *client.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// errOffline is what requests fail with while no connection is open.
var errOffline = errors.New("not connected")

// Run keeps the Session connected until ctx ends. A connection that ends
// after it caught up is dialled again at once; failed dials, and
// connections that end before catching up, wait a backoff first (doubling
// between the Session's bounds, with jitter so that many clients of a
// restarted node do not return in step).
func (s *Session) Run(ctx context.Context) {
	backoff := s.minBackoff
	wait := func(attempt int, err error) bool {
		d := jitter(backoff)
		s.emit(ctx, ConnStateMsg{State: Offline, Err: err, Attempt: attempt, RetryIn: d})
		backoff = min(2*backoff, s.maxBackoff)
		select {
		case <-time.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		s.emit(ctx, ConnStateMsg{State: Connecting, Attempt: attempt})
		conn, err := s.dial(ctx)
		if err != nil {
			if client.ErrorCode(err) == "unauthorized" {
				s.emit(ctx, ConnStateMsg{State: Failed, Err: err})
				return
			}
			if !wait(attempt, err) {
				return
			}
			continue
		}
		if s.serve(ctx, conn) {
			backoff, attempt = s.minBackoff, 0
			continue
		}
		if ctx.Err() == nil && !wait(attempt, conn.Err()) {
			return
		}
	}
}

// jitter returns d scaled by a random factor in [0.75, 1.25).
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.75 + rand.Float64()/2))
}

// dial opens a connection whose pushed frames go through onFrame.
func (s *Session) dial(ctx context.Context) (*client.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return s.c.Dial(dctx, s.device, client.OnEvent(func(c *client.Conn, f wire.ServerFrame) {
		s.onFrame(ctx, c, f)
	}))
}

// serve syncs a fresh connection and waits for it to end; caughtUp
// reports whether the sync got through.
func (s *Session) serve(ctx context.Context, conn *client.Conn) (caughtUp bool) {
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.conn = nil
		s.mu.Unlock()
		_ = conn.Close()
	}()
	s.emit(ctx, ConnStateMsg{State: Syncing})
	s.prime(ctx)
	convs, err := s.sync(ctx, conn)
	if err != nil {
		// Not caught up means not usable: start over on a new connection.
		s.emit(ctx, NoticeMsg{Text: "sync: " + describe(err)})
		return false
	}
	s.emit(ctx, SyncedMsg{Conversations: convs})
	s.emit(ctx, ConnStateMsg{State: Online})
	select {
	case <-conn.Done():
		s.emit(ctx, ConnStateMsg{State: Offline, Err: conn.Err()})
	case <-ctx.Done():
	}
	return true
}

// prime starts the Tracker of every conversation it does not know yet at
// the read position, where the server starts a sync for a conversation the
// cursors leave out: what lies below is history, not news, and the first
// pushed message is then no gap.
func (s *Session) prime(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	convs, err := s.c.Conversations(ctx)
	if err != nil {
		return // the sync's own answer primes them instead
	}
	known := s.tracker.Cursors()
	for _, cv := range convs {
		if _, ok := known[cv.ID]; !ok {
			s.tracker.Start(cv.ID, min(cv.ReadSeq, cv.LastSeq))
		}
	}
}

// sync asks for everything after the Tracker's cursors, again while a
// conversation still has messages beyond its cursor.
func (s *Session) sync(ctx context.Context, conn *client.Conn) ([]wire.Conversation, error) {
	var convs []wire.Conversation
	for range maxSyncRounds {
		cursors := s.tracker.Cursors()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		var err error
		convs, err = conn.Sync(sctx, cursors)
		cancel()
		if err != nil {
			return nil, err
		}
		more := false
		for _, cv := range convs {
			if _, ok := cursors[cv.ID]; !ok && s.tracker.Cursor(cv.ID) == 0 {
				s.tracker.Start(cv.ID, min(cv.ReadSeq, cv.LastSeq))
			}
			if s.tracker.Cursor(cv.ID) < cv.LastSeq {
				if c, ok := cursors[cv.ID]; !ok || c < s.tracker.Cursor(cv.ID) {
					more = true
				}
			}
		}
		if !more {
			break
		}
	}
	return convs, nil
}

// onFrame runs on the connection's read loop: it filters duplicates,
// acknowledges delivery, starts a sync on a gap and passes the frame on.
func (s *Session) onFrame(ctx context.Context, conn *client.Conn, f wire.ServerFrame) {
	switch f.Type {
	case wire.TypeMessage:
		if f.Msg == nil {
			return
		}
		dup, gap := s.tracker.Observe(*f.Msg)
		if dup {
			return
		}
		if f.Msg.From != conn.User().Username {
			_ = conn.DoAsync(wire.ClientFrame{Type: wire.TypeReceipt, Conversation: f.Msg.Conversation,
				Seq: f.Msg.Seq, Status: "delivered"}, func(wire.ServerFrame, error) {})
		}
		if gap {
			s.fillGap(ctx, conn)
		}
	case wire.TypeResync:
		s.fillGap(ctx, conn)
		return
	case wire.TypeReconnect:
		// The node is draining: leave now, Run dials again.
		_ = conn.Close()
		return
	}
	s.emit(ctx, FrameMsg{Frame: f})
}

// fillGap syncs in the background (the read loop may not wait for an ack).
func (s *Session) fillGap(ctx context.Context, conn *client.Conn) {
	s.mu.Lock()
	if s.syncing {
		s.mu.Unlock()
		return
	}
	s.syncing = true
	s.mu.Unlock()
	go func() {
		defer func() {
			s.mu.Lock()
			s.syncing = false
			s.mu.Unlock()
		}()
		if convs, err := s.sync(ctx, conn); err == nil {
			s.emit(ctx, SyncedMsg{Conversations: convs})
		}
	}()
}

// Send sends text to a conversation, or to a user when conv is "".
func (s *Session) Send(ctx context.Context, conv, toUser, clientMsgID, text string) (wire.Message, error) {
	conn := s.current()
	if conn == nil {
		return wire.Message{}, errOffline
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	m, err := conn.Send(ctx, client.SendRequest{ClientMsgID: clientMsgID, Conversation: conv, ToUser: toUser, Text: text})
	if err == nil {
		// Our own message moves our cursor like any other.
		s.tracker.Observe(m)
	}
	return m, err
}

// Read moves the read position of conv to seq.
func (s *Session) Read(ctx context.Context, conv string, seq int64) error {
	conn := s.current()
	if conn == nil {
		return errOffline
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return conn.Receipt(ctx, conv, seq, "read")
}

// Typing tells conv's other members that the user is typing.
func (s *Session) Typing(conv string) error {
	conn := s.current()
	if conn == nil {
		return errOffline
	}
	return conn.Typing(conv)
}

// WatchPresence subscribes to users' presence and returns it now.
func (s *Session) WatchPresence(ctx context.Context, users []string) ([]wire.Presence, error) {
	conn := s.current()
	if conn == nil {
		return nil, errOffline
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	return conn.PresenceSubscribe(ctx, users)
}

// describe turns an error into a short line for the status bar.
func describe(err error) string {
	var ce *client.CloseError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return fmt.Sprintf("closed by server (%d %s)", ce.Code, ce.Reason)
	}
	var e *client.Error
	if errors.As(err, &e) {
		return e.Code + ": " + e.Message
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error() // "connect: connection refused", without the addresses
	}
	return err.Error()
}
