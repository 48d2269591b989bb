package gateway

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/internal/httpjson"
	"github.com/switchboard-chat/switchboard/wire"
)

// Limits of a Last-Event-ID (the cursors a stream resumes from).
const (
	MaxEventIDBytes   = 64 << 10
	maxSyncRounds     = 1000 // sync calls a stream's catch-up may take
	eventIDSeparator  = ","
	eventIDCursorJoin = ":"
)

// sseConn is one Server-Sent Events stream (GET /v1/events): a connection
// like a WebSocket one for presence and delivery, that only receives. The
// request's own goroutine is its writer.
type sseConn struct {
	g    *Gateway
	id   string
	info chat.ConnInfo

	mu     sync.Mutex
	queue  []outFrame
	closed bool
	last   []byte // the frame written before the stream ends, if any
	wake   chan struct{}
	done   chan struct{} // closed when the stream must end
}

// sseRegistry is this node's event streams by user and by session, under
// a lock of its own.
type sseRegistry struct {
	mu        sync.RWMutex
	byUser    map[string]map[*sseConn]struct{}
	bySession map[string]map[*sseConn]struct{}
}

func (r *sseRegistry) add(c *sseConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byUser == nil {
		r.byUser = make(map[string]map[*sseConn]struct{})
		r.bySession = make(map[string]map[*sseConn]struct{})
	}
	for _, m := range []struct {
		m map[string]map[*sseConn]struct{}
		k string
	}{{r.byUser, c.info.UserID}, {r.bySession, c.info.Session}} {
		if m.m[m.k] == nil {
			m.m[m.k] = make(map[*sseConn]struct{}, 1)
		}
		m.m[m.k][c] = struct{}{}
	}
}

func (r *sseRegistry) remove(c *sseConn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range []struct {
		m map[string]map[*sseConn]struct{}
		k string
	}{{r.byUser, c.info.UserID}, {r.bySession, c.info.Session}} {
		delete(m.m[m.k], c)
		if len(m.m[m.k]) == 0 {
			delete(m.m, m.k)
		}
	}
}

// users returns the streams of users, but not connection except.
func (r *sseRegistry) users(users []string, except string) []*sseConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.byUser) == 0 {
		return nil // no stream open: a large fan-out skips a lookup per recipient
	}
	var out []*sseConn
	for _, u := range users {
		for c := range r.byUser[u] {
			if c.id != except {
				out = append(out, c)
			}
		}
	}
	return out
}

func (r *sseRegistry) session(id string) []*sseConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*sseConn, 0, len(r.bySession[id]))
	for c := range r.bySession[id] {
		out = append(out, c)
	}
	return out
}

func (r *sseRegistry) all() []*sseConn {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*sseConn
	for _, set := range r.byUser {
		for c := range set {
			out = append(out, c)
		}
	}
	return out
}

// deliverSSE hands an event the WebSocket connections got to the streams.
func (g *Gateway) deliverSSE(ev *chat.Event, out outFrame) int {
	switch ev.Kind {
	case chat.EventRevoke:
		frame := mustEncode(wire.ServerFrame{Type: wire.TypeError, Code: chat.EUnauthorized, Message: "session ended"})
		for _, c := range g.sse.session(ev.SessionID) {
			c.end(frame, true)
		}
		return 0
	case chat.EventResync:
		for _, c := range g.sse.all() {
			c.enqueue(out)
		}
		return 0
	case chat.EventPresence:
		return 0 // presence_subscribe is a WebSocket frame
	}
	cs := g.sse.users(ev.Recipients, ev.ExceptConn)
	for _, c := range cs {
		c.enqueue(out)
	}
	return len(cs)
}

// drainSSE ends every stream with a reconnect frame.
func (g *Gateway) drainSSE(reason string) {
	frame := mustEncode(wire.ServerFrame{Type: wire.TypeReconnect, Reason: reason})
	for _, c := range g.sse.all() {
		c.end(frame, true)
	}
}

// enqueue queues f; a stream whose queue is full ends (fan-out never
// waits for a slow client).
func (c *sseConn) enqueue(f outFrame) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.g.cfg.QueueSize {
		c.mu.Unlock()
		if m := c.g.cfg.Metrics.SlowClosed; m != nil {
			m()
		}
		c.end(mustEncode(wire.ServerFrame{Type: wire.TypeError, Code: chat.ERateLimited, Message: "outbound queue full: client too slow"}), false)
		return
	}
	c.queue = append(c.queue, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// end stops the stream after the frames queued (flush) or at once, with
// last as its final frame.
func (c *sseConn) end(last []byte, flush bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed, c.last = true, last
	if !flush {
		c.queue = nil
	}
	close(c.done)
}

func (c *sseConn) take() ([]outFrame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q, c.closed
}

// ServeEvents streams the server frames of sess's user as Server-Sent
// Events until the client goes, the session ends or the node drains. The
// caller has authenticated the request. Each message event's id holds the
// stream's per-conversation seq cursors; a request with Last-Event-ID
// first pushes what came after them (from the store, as sync does), then
// the live frames.
func (g *Gateway) ServeEvents(w http.ResponseWriter, r *http.Request, sess chat.Session) {
	if g.draining.Load() {
		w.Header().Set("Retry-After", "1")
		httpjson.Error(w, r, g.log, chat.Errorf(chat.EUnavailable, "node is draining; reconnect elsewhere"))
		return
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = r.URL.Query().Get("last_event_id")
	}
	cursors, err := ParseEventID(lastID)
	if err != nil {
		httpjson.Error(w, r, g.log, err)
		return
	}
	rc := http.NewResponseController(w)
	n := g.nextID.Add(1)
	c := &sseConn{g: g, id: g.svc.NodeID() + "/e" + strconv.FormatUint(n, 36),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.info = chat.ConnInfo{UserID: sess.UserID, Username: sess.Username, ConnID: c.id, Session: sess.ID}
	ctx := r.Context()

	// Registered before the catch-up, so nothing committed meanwhile is
	// missed; the writer drops what the catch-up already sent.
	g.sse.add(c)
	if err := g.svc.Connected(ctx, c.info); err != nil {
		g.sse.remove(c)
		if chat.ErrorCode(err) != chat.ERateLimited {
			g.log.Warn("presence connect", "err", err)
			// Connected undid itself only for rate_limited; undo the rest.
			g.svc.Disconnected(context.WithoutCancel(ctx), c.info)
		}
		httpjson.Error(w, r, g.log, err)
		return
	}
	g.count.Add(1)
	if f := g.cfg.Metrics.Connections; f != nil {
		f(1)
	}
	defer func() {
		c.end(nil, false)
		g.sse.remove(c)
		g.count.Add(-1)
		if f := g.cfg.Metrics.Connections; f != nil {
			f(-1)
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		g.svc.Disconnected(dctx, c.info)
		cancel()
	}()
	expiry := time.AfterFunc(time.Until(time.UnixMilli(sess.ExpiresAt)), func() {
		c.end(mustEncode(wire.ServerFrame{Type: wire.TypeError, Code: chat.EUnauthorized, Message: "session expired"}), true)
	})
	defer expiry.Stop()

	// The server's read timeout would end a stream that reads nothing
	// (net/http cancels the request when its background read times out);
	// heartbeats and write deadlines watch the stream instead.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, rc: rc, wait: g.cfg.WriteWait, cursors: cursors}
	ready := wire.ServerFrame{Type: wire.TypeReady, User: &wire.User{ID: sess.UserID, Username: sess.Username}, Node: g.svc.NodeID()}
	// retry: how long a browser waits before reconnecting.
	if s.raw("retry: 2000\n\n") != nil || s.frame(mustEncode(ready), "", 0) != nil {
		return
	}
	if err := c.catchUp(ctx, s); err != nil {
		return
	}
	heartbeat := time.NewTicker(g.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if s.raw(": keep-alive\n\n") != nil {
				return
			}
			continue
		case <-c.wake:
		case <-c.done:
		}
		q, closed := c.take()
		if s.frames(q) != nil {
			return
		}
		if closed {
			c.mu.Lock()
			last := c.last
			c.mu.Unlock()
			if last != nil {
				_ = s.frame(last, "", 0)
			}
			return
		}
	}
}

// catchUp pushes, from the store, every message after the stream's
// cursors (a conversation without one starts at the read position), in as
// many sync rounds as it takes, and then an ack frame with id "sync" that
// lists the conversations and whose event id covers every one of them.
func (c *sseConn) catchUp(ctx context.Context, s *sseWriter) error {
	var convs []chat.ConversationState
	for round := 0; ; round++ {
		given := make(map[string]int64, len(s.cursors))
		for k, v := range s.cursors {
			given[k] = v
		}
		var err error
		convs, err = c.g.svc.Sync(ctx, c.info, chat.SyncRequest{Cursors: given}, func(m chat.Message, update bool) error {
			wm := encode.Message(m)
			if update { // not asked for (no revs): the stream resumes by seq
				return s.frame(mustEncode(wire.ServerFrame{Type: wire.TypeUpdate, Conversation: m.ConversationID, Rev: m.Rev, Msg: &wm}), "", 0)
			}
			return s.frame(mustEncode(wire.ServerFrame{Type: wire.TypeMessage, Msg: &wm}), m.ConversationID, m.Seq)
		})
		if err != nil {
			if !errors.Is(err, errClosed) && ctx.Err() == nil {
				_ = s.frame(mustEncode(wire.ServerFrame{Type: wire.TypeError, Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)}), "", 0)
			}
			return err
		}
		behind := false
		for _, cs := range convs {
			if at, ok := s.cursors[cs.ID]; !ok {
				s.cursors[cs.ID] = cs.LastSeq // nothing after its start was sent
			} else if at < cs.LastSeq {
				behind = true // a round stops at chat.MaxSyncPerConv
			}
		}
		if !behind || round >= maxSyncRounds {
			break
		}
	}
	// Cursors of conversations the user is no longer in are dropped.
	keep := make(map[string]int64, len(convs))
	for _, cs := range convs {
		keep[cs.ID] = s.cursors[cs.ID]
	}
	s.cursors = keep
	s.changed = true
	// Live frames that queued meanwhile follow; the writer skips the
	// messages the catch-up sent.
	return s.frame(mustEncode(wire.ServerFrame{Type: wire.TypeAck, ID: "sync", Conversations: encode.Conversations(convs)}), "", -1)
}

// sseWriter writes events to one stream and keeps its cursors.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	wait    time.Duration
	cursors map[string]int64
	changed bool // the cursors moved since the last id was written
	buf     bytes.Buffer
}

// frames writes queued frames in one flush; a message at or below its
// conversation's cursor was sent already and is skipped.
func (s *sseWriter) frames(q []outFrame) error {
	if len(q) == 0 {
		return nil
	}
	s.buf.Reset()
	for _, f := range q {
		s.append(f.data, f.conv, f.seq)
	}
	return s.flush()
}

// frame writes one frame at once. seq > 0 marks a message (skipped when
// already sent, and its event carries the new cursors); seq < 0 forces an
// id with the cursors.
func (s *sseWriter) frame(data []byte, conv string, seq int64) error {
	s.buf.Reset()
	s.append(data, conv, seq)
	return s.flush()
}

func (s *sseWriter) append(data []byte, conv string, seq int64) {
	if seq > 0 {
		if seq <= s.cursors[conv] {
			return
		}
		s.cursors[conv] = seq
		s.changed = true
	}
	if seq != 0 && s.changed {
		s.buf.WriteString("id: ")
		s.buf.WriteString(FormatEventID(s.cursors))
		s.buf.WriteByte('\n')
		s.changed = false
	}
	// JSON has no raw newlines, so one data line holds the frame.
	s.buf.WriteString("data: ")
	s.buf.Write(data)
	s.buf.WriteString("\n\n")
}

func (s *sseWriter) raw(text string) error {
	s.buf.Reset()
	s.buf.WriteString(text)
	return s.flush()
}

func (s *sseWriter) flush() error {
	if s.buf.Len() == 0 {
		return nil
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.wait))
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return errClosed
	}
	if err := s.rc.Flush(); err != nil {
		return errClosed
	}
	return nil
}

// FormatEventID encodes per-conversation seq cursors as an event id:
// "CONV:SEQ,CONV:SEQ" sorted by conversation, zero cursors left out.
func FormatEventID(cursors map[string]int64) string {
	ids := make([]string, 0, len(cursors))
	for id, seq := range cursors {
		if seq > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(eventIDSeparator)
		}
		b.WriteString(id)
		b.WriteString(eventIDCursorJoin)
		b.WriteString(strconv.FormatInt(cursors[id], 10))
	}
	return b.String()
}

// ParseEventID decodes FormatEventID's cursors; "" is no cursors.
// EBadRequest for anything else, or one over MaxEventIDBytes.
func ParseEventID(s string) (map[string]int64, error) {
	out := make(map[string]int64)
	if s == "" {
		return out, nil
	}
	if len(s) > MaxEventIDBytes {
		return nil, chat.Errorf(chat.EBadRequest, "Last-Event-ID is %d bytes; the limit is %d", len(s), MaxEventIDBytes)
	}
	for _, part := range strings.Split(s, eventIDSeparator) {
		id, seqText, ok := strings.Cut(part, eventIDCursorJoin)
		seq, err := strconv.ParseInt(seqText, 10, 64)
		if !ok || id == "" || len(id) > 64 || err != nil || seq < 0 {
			return nil, chat.Errorf(chat.EBadRequest, "Last-Event-ID is not a list of CONVERSATION:SEQ cursors")
		}
		out[id] = seq
	}
	return out, nil
}
