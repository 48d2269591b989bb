package gateway

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lxzan/gws"
	"github.com/segmentio/encoding/json"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/wire"
)

// conn is one WebSocket connection. A writer goroutine runs only while
// frames are waiting. Under the gws engine gws's read loop is a goroutine
// per connection; under the poll engine an idle conn has no goroutine at
// all (see poller).
type conn struct {
	g      *Gateway
	socket *gws.Conn  // gws engine only
	nc     *quietConn // the network connection; every write goes here
	poll   *pollState
	id     string
	slot   uint64 // heartbeat slice
	info   chat.ConnInfo
	authed atomic.Bool
	gone   atomic.Bool // unregistered (closed ran)

	// watching, rooms and hidden are only touched under g.mu.
	watching []string
	rooms    []string            // watched rooms
	hidden   map[string]struct{} // users who block this one: their room changes are not shown
	// limits is only touched by the read loop.
	limits limits

	mu      sync.Mutex
	queue   []outFrame
	qbuf    *queueBuf // where queue's array came from, to go back to the pool
	writing bool
	// stalled is set while the writer waits for the client to take what
	// the socket could not: only then is a full queue the client's doing.
	stalled bool
	later   bool // queued frames wait for the coalescer to start the writer
	closed  bool // no more frames are taken
	// closeMsg is the close frame's payload (code and reason), sent once
	// the queue before it is written, when closing is set.
	closing  bool
	closeMsg []byte
	// While a sync runs, pushed messages wait in held so that they reach the
	// client after the sync's own pushes, without duplicates.
	syncing bool
	held    []outFrame
	// Until ready is queued, every frame waits in early, so ready is always
	// the first frame and the node has registered the connection (and its
	// presence and topics) before the client can ask for anything.
	starting bool
	early    []outFrame
	wake     chan struct{} // signalled when the queue drains, for blocking enqueues
	expiry   *time.Timer   // closes the connection when its session expires
}

// outFrame is a frame waiting to be written; conv and seq are set for
// message pushes, conv and rev for update pushes, so a sync can order them.
type outFrame struct {
	op   gws.Opcode
	data []byte
	conv string
	seq  int64
	rev  int64
}

// enqueue queues f for writing. With wait false a full queue closes the
// connection (fan-out never waits for a slow client); with wait true the
// caller (a sync, on this connection's own read loop) waits for room.
func (c *conn) enqueue(f outFrame, wait bool) bool {
	return c.put(f, wait, false)
}

// put is enqueue; with later set the writer is not started at once but by
// the gateway's coalescer, so frames of the next fan-outs go in the same
// write.
func (c *conn) put(f outFrame, wait, later bool) bool {
	c.mu.Lock()
	for {
		if c.closed {
			c.mu.Unlock()
			return false
		}
		// Before ready every frame waits; during a sync, live messages do.
		var hold *[]outFrame
		if c.starting {
			hold = &c.early
		} else if (f.seq > 0 || f.rev > 0) && c.syncing {
			hold = &c.held
		}
		if hold != nil {
			if len(*hold) >= c.g.cfg.QueueSize {
				c.mu.Unlock()
				c.slow()
				return false
			}
			*hold = append(*hold, f)
			c.mu.Unlock()
			return true
		}
		if c.hasRoom() {
			break
		}
		if !wait {
			c.mu.Unlock()
			c.slow()
			return false
		}
		if c.wake == nil {
			c.wake = make(chan struct{})
		}
		wake := c.wake
		c.mu.Unlock()
		select {
		case <-wake:
		case <-time.After(c.g.cfg.WriteWait):
			c.slow()
			return false
		}
		c.mu.Lock()
	}
	if c.queue == nil {
		c.qbuf = c.g.queues.Get().(*queueBuf)
		c.queue = c.qbuf.frames
	}
	c.queue = append(c.queue, f)
	if c.writing {
		c.mu.Unlock()
		return true
	}
	if later {
		first := !c.later
		c.later = true
		c.mu.Unlock()
		if first {
			c.g.coalesce.add(c)
		}
		return true
	}
	c.writing = true
	c.mu.Unlock()
	go c.writeLoop()
	return true
}

// burstQueues is how many times QueueSize a connection's queue may hold
// while its writer is not waiting on the client: a burst of fan-out on a
// busy node can outrun a writer that has not had a processor yet, and that
// is not the client being slow.
const burstQueues = 4

// hasRoom reports whether the queue takes another frame (c.mu held): up to
// QueueSize frames, or burstQueues times that while the writer is not
// stalled on the client.
func (c *conn) hasRoom() bool {
	n, size := len(c.queue), c.g.cfg.QueueSize
	return n < size || !c.stalled && n < burstQueues*size
}

// flush starts the writer of a connection whose frames waited for the
// coalescer, unless it runs already.
func (c *conn) flush() {
	c.mu.Lock()
	c.later = false
	start := !c.writing && len(c.queue) > 0
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// start queues ready and then the frames that waited for it, in one step so
// no other frame can come between.
func (c *conn) start(ready outFrame) {
	c.mu.Lock()
	early := c.early
	c.starting, c.early = false, nil
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.queue = append(append(c.queue, ready), early...)
	begin := !c.writing
	c.writing = true
	c.mu.Unlock()
	if begin {
		go c.writeLoop()
	}
}

func (c *conn) slow() {
	if f := c.g.cfg.Metrics.SlowClosed; f != nil {
		f()
	}
	c.close(CloseSlowClient, "outbound queue full: client too slow", false)
}

// shut closes the network connection at once: a write failed, or the
// client is gone. Under the poll engine it also takes the connection out
// of the poller and unregisters it (gws does both from its read loop,
// which ends when the connection is closed).
func (c *conn) shut() {
	if c.poll == nil {
		c.nc.hangUp()
		return
	}
	if !c.poll.down.CompareAndSwap(false, true) {
		return
	}
	c.g.poller.remove(c)
	c.nc.hangUp()
	c.g.closed(c)
}

// lingerShut ends a poll engine connection whose close frame is written:
// out of the poller, so no reader starts on it again, the write side
// shut, unregistered, and then the socket drained and closed (see
// linger). It runs on the writer, which blocks for up to the linger's time
// and is ending anyway. The down flag is taken first, so neither a reader
// meeting the client's end of stream nor anything else closes the socket
// while the drain still reads it: closing with the client's bytes unread
// is the reset the linger is there to avoid.
func (c *conn) lingerShut() {
	if !c.poll.down.CompareAndSwap(false, true) {
		return
	}
	c.g.poller.remove(c)
	c.nc.halfClose()
	// Unregister before the drain: the node counts the connection gone
	// (drain waits on that count), and the drain may take the whole bound.
	c.g.closed(c)
	c.nc.drainClose()
}

// close stops taking frames and closes the connection with a close frame
// after the frames already queued, or at once if flush is false.
func (c *conn) close(code uint16, reason string, flush bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.held = nil
	if !flush {
		c.queue, c.qbuf = nil, nil
	}
	c.closing, c.closeMsg = true, closePayload(code, reason)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *conn) send(f wire.ServerFrame) {
	c.enqueue(outFrame{op: gws.OpcodeText, data: mustEncode(f)}, false)
}

func (c *conn) sendError(id string, err error) {
	c.send(wire.ServerFrame{Type: wire.TypeError, ID: id, Code: chat.ErrorCode(err), Message: chat.ErrorMessage(err)})
}

// ---- gws.Event

// OnOpen is called by gws when the read loop starts.
func (g *Gateway) OnOpen(*gws.Conn) {}

// closePayload is a close frame's payload: code, then as much of reason
// as fits in a control frame.
func closePayload(code uint16, reason string) []byte {
	b := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), code)
	return append(b, reason[:min(len(reason), 123)]...)
}

// OnClose unregisters the connection and tells the core (unless the
// writer did, see writeClose), then ends the socket's linger on gws's read
// loop, which ends here anyway: gws has written its close frame and called
// Close (which only shuts the write side), and the read loop has read and
// dropped what came after, until the client closed, the linger's bound,
// or an error.
func (g *Gateway) OnClose(socket *gws.Conn, _ error) {
	if c := connOf(socket); c != nil {
		g.closed(c)
		c.nc.drainClose()
	}
}

// closed unregisters a connection whose network connection has closed or
// lingers, and tells the core; once, though both the writer and gws's read
// loop may get here under the gws engine.
func (g *Gateway) closed(c *conn) {
	if c.gone.Swap(true) {
		return
	}
	c.mu.Lock()
	c.closed = true
	c.queue, c.qbuf, c.held, c.closing, c.closeMsg = nil, nil, nil, false, nil
	if c.expiry != nil {
		c.expiry.Stop()
	}
	c.mu.Unlock()
	g.unregister(c)
	g.count.Add(-1)
	if f := g.cfg.Metrics.Connections; f != nil {
		f(-1)
	}
	if c.authed.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		g.svc.Disconnected(ctx, c.info)
		cancel()
	}
}

// OnPing answers a client's ping through the connection's queue, which
// owns every write.
func (g *Gateway) OnPing(socket *gws.Conn, payload []byte) {
	if c := connOf(socket); c != nil {
		c.enqueue(outFrame{op: gws.OpcodePong, data: append([]byte(nil), payload...)}, false)
	}
}

// OnPong keeps the connection alive.
func (g *Gateway) OnPong(socket *gws.Conn, _ []byte) {
	if c := connOf(socket); c != nil {
		c.alive()
	}
}

func (c *conn) alive() {
	c.readBy(time.Now().Add(2*c.g.cfg.Heartbeat + c.g.cfg.Heartbeat/2))
}

// readBy closes the connection if it sends nothing until t.
func (c *conn) readBy(t time.Time) {
	if c.poll != nil {
		c.poll.deadline.Store(t.UnixNano())
		return
	}
	_ = c.socket.SetReadDeadline(t)
}

func connOf(socket *gws.Conn) *conn {
	v, _ := socket.Session().Load("")
	c, _ := v.(*conn)
	return c
}

// OnMessage handles one client frame. Frames are handled one at a time in
// the order they arrive, so one client's sends are stored in order.
func (g *Gateway) OnMessage(socket *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	if c := connOf(socket); c != nil {
		c.receive(msg.Opcode, msg.Bytes())
	}
}

// receive parses and dispatches one client frame.
func (c *conn) receive(op gws.Opcode, data []byte) {
	if c.isClosed() {
		return // a connection on its way out reads nothing more
	}
	if !c.authed.Load() {
		c.first(op, data)
		return
	}
	c.alive()
	f, err := c.g.parse(op, data)
	if err != nil {
		c.sendError(f.ID, err)
		return
	}
	if !c.limits.frames.take(time.Now().UnixNano(), c.g.cfg.FrameRate, c.g.cfg.FrameBurst) {
		if c.limits.refused++; c.limits.refused > refusalsToClose {
			c.close(CloseTooMany, "too many frames", true)
			return
		}
		c.sendError(f.ID, chat.Errorf(chat.ERateLimited, "too many frames; at most %g a second", c.g.cfg.FrameRate))
		return
	}
	c.limits.refused = 0
	c.handle(f)
}

// parse decodes a client frame, refusing what the protocol does not allow.
// The returned frame keeps whatever id could be read.
func (g *Gateway) parse(op gws.Opcode, data []byte) (wire.ClientFrame, error) {
	var f wire.ClientFrame
	switch {
	case op != gws.OpcodeText:
		return f, chat.Errorf(chat.EBadRequest, "binary frames are not supported; send JSON text frames")
	case len(data) > g.cfg.MaxFrame:
		return f, chat.Errorf(chat.ETooLarge, "frame is %d bytes; the limit is %d", len(data), g.cfg.MaxFrame)
	case !utf8.Valid(data):
		return f, chat.Errorf(chat.EBadRequest, "frame is not valid UTF-8")
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return wire.ClientFrame{}, chat.Errorf(chat.EBadRequest, "malformed JSON frame: %v", err)
	}
	if count := g.cfg.Metrics.FrameIn; count != nil {
		count(f.Type)
	}
	return f, nil
}

// first handles a connection's first frame, which must be a well-formed
// auth frame: anything else is answered with an error and closes the
// connection (4001), and nothing after it is read.
func (c *conn) first(op gws.Opcode, data []byte) {
	f, err := c.g.parse(op, data)
	if err != nil {
		c.sendError(f.ID, err)
		c.close(CloseAuthFailed, "expected an auth frame", true)
		return
	}
	// Authenticate on a goroutine of its own: the store lookup's deep
	// stack then dies with it instead of staying with the read loop, which
	// idles with every connection. The read loop waits, so no frame is
	// read before auth is done.
	done := make(chan struct{})
	go func() { defer close(done); c.auth(f) }()
	<-done
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// auth handles the first frame, which must be auth.
func (c *conn) auth(f wire.ClientFrame) {
	g := c.g
	if f.Type != wire.TypeAuth {
		c.sendError(f.ID, chat.Errorf(chat.EUnauthorized, "the first frame must be auth"))
		c.close(CloseAuthFailed, "not authenticated", true)
		return
	}
	if len(f.Device) > 64 {
		c.sendError(f.ID, chat.Errorf(chat.EBadRequest, "device is at most 64 bytes"))
		c.close(CloseAuthFailed, "bad auth frame", true)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sess, err := g.svc.Authenticate(ctx, f.Token)
	if err != nil {
		c.sendError(f.ID, err)
		c.close(CloseAuthFailed, "authentication failed", true)
		return
	}
	u, err := g.svc.User(ctx, sess.UserID)
	if err != nil {
		c.sendError(f.ID, err)
		c.close(CloseAuthFailed, "authentication failed", true)
		return
	}
	c.info = chat.ConnInfo{UserID: sess.UserID, Username: sess.Username, ConnID: c.id, Session: sess.ID}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.starting = true
	c.mu.Unlock()
	c.authed.Store(true)
	g.register(c)
	if err := g.svc.Connected(ctx, c.info); chat.ErrorCode(err) == chat.ERateLimited {
		// The rules refused and undid the connection (too many for this
		// user): OnClose must not undo it again.
		g.unregister(c)
		c.authed.Store(false)
		c.mu.Lock()
		c.starting, c.early = false, nil
		c.mu.Unlock()
		c.sendError(f.ID, err)
		c.close(CloseTooMany, "too many connections", true)
		return
	} else if err != nil {
		g.log.Warn("presence connect", "err", err)
	}
	c.alive()
	c.expireAt(time.UnixMilli(sess.ExpiresAt))
	ready := wire.ServerFrame{Type: wire.TypeReady, ID: f.ID, User: &wire.User{ID: sess.UserID, Username: sess.Username, DisplayName: u.DisplayName}, Node: g.svc.NodeID()}
	c.start(outFrame{op: gws.OpcodeText, data: mustEncode(ready)})
}

// expireAt closes the connection as a logout does (4002) when its session
// expires. One timer per connection, and no goroutine until it fires.
func (c *conn) expireAt(t time.Time) {
	timer := time.AfterFunc(time.Until(t), func() {
		c.close(CloseLoggedOut, "session expired", true)
	})
	c.mu.Lock()
	c.expiry = timer
	c.mu.Unlock()
}

// handle dispatches an authenticated client's frame.
func (c *conn) handle(f wire.ClientFrame) {
	g := c.g
	ctx := g.deadlines.at(time.Now())
	switch f.Type {
	case wire.TypeSend:
		id := f.ID
		g.svc.Send(ctx, c.info, chat.SendRequest{
			ClientMsgID: f.ClientMsgID, ToUser: f.ToUser, Conversation: f.Conversation, Text: f.Text, MediaID: f.MediaID,
			ReplyTo: f.ReplyTo,
		}, func(m chat.Message, err error) {
			if err != nil {
				c.sendError(id, err)
				return
			}
			wm := encode.Message(m)
			c.send(wire.ServerFrame{Type: wire.TypeAck, ID: id, Msg: &wm})
		})
	case wire.TypeSync:
		c.sync(ctx, f)
	case wire.TypeEdit, wire.TypeDelete, wire.TypeReact, wire.TypePin:
		c.change(ctx, f)
	case wire.TypeReceipt:
		if err := g.svc.Receipt(ctx, c.info, f.Conversation, f.Status, f.Seq); err != nil {
			c.sendError(f.ID, err)
			return
		}
		c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID})
	case wire.TypeTyping:
		if !c.limits.typingDue(f.Conversation, time.Now().UnixNano()) {
			return // the members were told a moment ago
		}
		if err := g.svc.Typing(ctx, c.info, f.Conversation); err != nil {
			c.sendError(f.ID, err)
		}
	case wire.TypePresenceSubscribe:
		if !c.limits.presence.take(time.Now().UnixNano(), g.cfg.PresenceRate, g.cfg.PresenceBurst) {
			c.sendError(f.ID, chat.Errorf(chat.ERateLimited, "too many presence subscriptions; at most %g a second", g.cfg.PresenceRate))
			return
		}
		f.Users = uniqueNames(f.Users)
		if len(c.watching)+len(f.Users) > 1000 {
			c.sendError(f.ID, chat.Errorf(chat.ETooLarge, "a connection may watch at most 1000 users"))
			return
		}
		ps, err := g.svc.Presence(ctx, c.info.UserID, f.Users)
		if err != nil {
			c.sendError(f.ID, err)
			return
		}
		ids := make([]string, 0, len(ps))
		list := make([]wire.Presence, len(ps))
		for i, p := range ps {
			if !p.Hidden { // a user who blocks this one is not watched
				ids = append(ids, p.UserID)
			}
			list[i] = encode.Presence(p)
		}
		g.watch(c, ids)
		c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, PresenceList: list})
	case wire.TypeWatch:
		c.watchRoom(ctx, f)
	case wire.TypeUnwatch:
		c.unwatchRoom(f)
	case wire.TypePing:
		c.send(wire.ServerFrame{Type: wire.TypePong, ID: f.ID})
	case wire.TypeAuth:
		c.sendError(f.ID, chat.Errorf(chat.EBadRequest, "already authenticated"))
	case "":
		c.sendError(f.ID, chat.Errorf(chat.EBadRequest, "frame has no type"))
	default:
		c.sendError(f.ID, chat.Errorf(chat.EBadRequest, "unknown frame type %q", f.Type))
	}
}

// sync pushes missed messages, then the ack. Live pushes that arrive
// meanwhile are held and released after, minus those the sync sent.
func (c *conn) sync(ctx context.Context, f wire.ClientFrame) {
	c.mu.Lock()
	c.syncing = true
	c.mu.Unlock()
	sent := make(map[string]int64)
	sentRev := make(map[string]int64)
	convs, err := c.g.svc.Sync(ctx, c.info, chat.SyncRequest{Cursors: f.Cursors, Revs: f.Revs}, func(m chat.Message, update bool) error {
		wm := encode.Message(m)
		frame := wire.ServerFrame{Type: wire.TypeMessage, Msg: &wm}
		if update {
			frame = wire.ServerFrame{Type: wire.TypeUpdate, Conversation: m.ConversationID, Rev: m.Rev, Msg: &wm}
		}
		if !c.enqueue(outFrame{op: gws.OpcodeText, data: mustEncode(frame)}, true) {
			return errClosed
		}
		if update {
			sentRev[m.ConversationID] = m.Rev
		} else {
			sent[m.ConversationID] = m.Seq
		}
		return nil
	})
	c.mu.Lock()
	c.syncing = false
	held := c.held
	c.held = nil
	c.mu.Unlock()
	// Held live messages go out even when the sync failed: they are live
	// pushes like any other, and the client retries the sync for the rest.
	for _, h := range held {
		if h.seq > 0 && h.seq > sent[h.conv] || h.rev > 0 && h.rev > sentRev[h.conv] {
			c.enqueue(h, false)
		}
	}
	if err != nil {
		if !errors.Is(err, errClosed) {
			c.sendError(f.ID, err)
		}
		return
	}
	c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, Conversations: encode.Conversations(convs)})
}

var errClosed = errors.New("connection closed")

// change handles edit, delete, react and pin: the ack carries the message
// as it now is.
func (c *conn) change(ctx context.Context, f wire.ClientFrame) {
	svc := c.g.svc
	on := f.On == nil || *f.On
	var m chat.Message
	var err error
	switch f.Type {
	case wire.TypeEdit:
		m, err = svc.Edit(ctx, c.info, f.Message, f.Text)
	case wire.TypeDelete:
		m, err = svc.Delete(ctx, c.info, f.Message)
	case wire.TypeReact:
		m, err = svc.React(ctx, c.info, f.Message, f.Emoji, on)
	case wire.TypePin:
		m, err = svc.Pin(ctx, c.info, f.Message, on)
	}
	if err != nil {
		c.sendError(f.ID, err)
		return
	}
	wm := encode.Message(m)
	c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, Msg: &wm})
}
