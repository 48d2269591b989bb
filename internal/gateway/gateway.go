// Package gateway owns WebSocket connections: the auth handshake, the read
// loop, one bounded outbound queue per connection, heartbeats, and the map
// of this node's users to their connections. It implements chat.Deliverer.
package gateway

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/encode"
	"github.com/switchboard-chat/switchboard/wire"
)

var _ chat.Deliverer = (*Gateway)(nil)

// Close codes the gateway sends with a close frame (4000-4999 are for
// applications; gws itself sends 1009 for a frame over its read limit).
const (
	CloseGoingAway  = 1001
	CloseAuthFailed = 4001
	CloseLoggedOut  = 4002
	CloseSlowClient = 4008
	// CloseTooMany: the user holds too many connections, or the client
	// went on sending frames past its budget.
	CloseTooMany = 4029
)

// Config tunes a Gateway. Zero values take the defaults in brackets.
type Config struct {
	MaxFrame    int           // largest frame handled [64 KiB]; up to 16x more is read and refused with too_large, beyond that the connection closes
	QueueSize   int           // outbound frames a connection may have waiting [1024]; burstQueues times that while its writer is not waiting on the client
	AuthTimeout time.Duration // time to send the auth frame [10s]
	Heartbeat   time.Duration // ping interval; two missed pongs close [25s]
	WriteWait   time.Duration // longest a write may block [10s]
	FrameRate   float64       // frames a connection may send per second, after FrameBurst [50]; negative: no limit
	FrameBurst  int           // [200]
	// PresenceRate and PresenceBurst limit presence_subscribe frames per
	// connection [1/s, burst 10].
	PresenceRate  float64
	PresenceBurst int
	// A fan-out to at least CoalesceMin of this node's connections [64]
	// leaves its frames queued for up to Coalesce [5ms] before the writers
	// start, so that one write(2) carries the frames of several messages;
	// negative Coalesce writes at once.
	Coalesce    time.Duration
	CoalesceMin int
	// A connection the server closes lingers (see linger): after the
	// close frame it reads and drops what the client still sends, until
	// the client closes, for up to LingerTime [2s] and LingerBytes
	// [256 KiB], before its socket closes.
	LingerTime  time.Duration
	LingerBytes int
	// Engine reads the connections: EnginePoll [default] or EngineGWS.
	Engine  string
	Logger  *slog.Logger
	Metrics *Metrics
}

// Metrics are the gateway's counters; any field may be nil.
type Metrics struct {
	Connections func(delta int)
	FrameIn     func(typ string)
	FramesOut   func(n int)
	SlowClosed  func()
}

// Gateway serves /v1/ws and pushes events to this node's connections.
type Gateway struct {
	cfg      Config
	svc      *chat.Service
	log      *slog.Logger
	upgrader *gws.Upgrader

	mu        sync.RWMutex
	gen       uint64 // counts registrations and unregistrations: targets' entries are good while it holds
	conns     map[*conn]struct{}
	byUser    map[string][]*conn // a slice: fan-out walks it for every recipient
	bySession map[string]map[*conn]struct{}
	watchers  map[string]map[*conn]struct{} // presence subscriptions by user id
	rooms     map[string]map[*conn]struct{} // room watches by conversation id

	frames   sync.Pool // write buffers of the connections' writers
	queues   sync.Pool // *queueBuf: outbound queues of connections with frames waiting
	reads    sync.Pool // read buffers of the poll engine's readers
	poller   *poller   // the poll engine; nil under the gws engine
	coalesce coalescer
	// deadlines gives each client frame 30 s; see deadline.go.
	deadlines *deadlines
	targets   targets     // resolved recipient lists of large groups; see targets.go
	sse       sseRegistry // event streams (GET /v1/events)

	nextID   atomic.Uint64
	draining atomic.Bool
	count    atomic.Int64
}

// New returns a Gateway in front of svc.
func New(svc *chat.Service, cfg Config) *Gateway {
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = 64 << 10
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 1024
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = 10 * time.Second
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 25 * time.Second
	}
	if cfg.FrameRate == 0 {
		cfg.FrameRate, cfg.FrameBurst = 50, 200
	}
	if cfg.PresenceRate == 0 {
		cfg.PresenceRate, cfg.PresenceBurst = 1, 10
	}
	if cfg.WriteWait == 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.Coalesce == 0 {
		cfg.Coalesce = 5 * time.Millisecond
	}
	if cfg.CoalesceMin == 0 {
		cfg.CoalesceMin = 64
	}
	if cfg.LingerTime == 0 {
		cfg.LingerTime = defaultLingerTime
	}
	if cfg.LingerBytes == 0 {
		cfg.LingerBytes = defaultLingerBytes
	}
	if cfg.Engine == "" {
		cfg.Engine = EnginePoll
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = &Metrics{}
	}
	g := &Gateway{
		cfg:       cfg,
		svc:       svc,
		log:       cfg.Logger,
		conns:     make(map[*conn]struct{}),
		byUser:    make(map[string][]*conn),
		bySession: make(map[string]map[*conn]struct{}),
		watchers:  make(map[string]map[*conn]struct{}),
		rooms:     make(map[string]map[*conn]struct{}),
		deadlines: newDeadlines(30*time.Second, time.Second),
	}
	g.frames.New = func() any { b := make([]byte, 0, 4096); return &b }
	g.queues.New = func() any { return &queueBuf{frames: make([]outFrame, 0, 8)} }
	g.coalesce.wait = cfg.Coalesce
	g.reads.New = func() any { b := make([]byte, 0, readBufSize); return &b }
	if cfg.Engine == EnginePoll {
		g.poller = newPoller(g)
	}
	g.upgrader = gws.NewUpgrader(g, &gws.ServerOption{
		// Read up to 16x the frame limit so an oversized frame costs one
		// error frame, not the connection; beyond that gws closes with 1009.
		ReadMaxPayloadSize: cfg.MaxFrame * 16,
		// A small read buffer keeps idle connections cheap.
		ReadBufferSize:   readBuffer,
		HandshakeTimeout: 5 * time.Second,
		NewSession:       func() gws.SessionStorage { return &session{} },
		Logger:           slogAdapter{cfg.Logger},
	})
	return g
}

// readBuffer is each connection's read buffer: small, so idle connections
// are cheap.
const readBuffer = 1024

// Count returns the number of open connections: WebSockets and event streams.
func (g *Gateway) Count() int { return int(g.count.Load()) }

// ServeHTTP upgrades a request to a WebSocket connection.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.draining.Load() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":{"code":"unavailable","message":"node is draining; reconnect elsewhere"}}`, http.StatusServiceUnavailable)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, `{"error":{"code":"internal","message":"connection cannot be upgraded"}}`, http.StatusInternalServerError)
		return
	}
	netConn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	// gws sends a read error's text as the close reason; quietConn strips
	// the socket addresses from those errors.
	qc := newQuietConn(netConn, g.cfg.LingerTime, g.cfg.LingerBytes)
	_, isTCP := netConn.(*net.TCPConn)
	poll := g.poller != nil && isTCP
	var br *bufio.Reader
	if !poll {
		br = bufio.NewReaderSize(qc, readBuffer)
	}
	// gws does the handshake for both engines.
	socket, err := g.upgrader.UpgradeFromConn(qc, br, r)
	if err != nil {
		// gws has answered the bad handshake and called Close, which only
		// starts the linger: the answer is not to be overtaken by a reset
		// either. This handler's goroutine ends the linger.
		qc.drainClose()
		return
	}
	n := g.nextID.Add(1)
	// Connection ids are unique across the cluster: events name the
	// connection that caused them (ExceptConn) on every node.
	c := &conn{g: g, nc: qc, id: g.svc.NodeID() + "/" + strconv.FormatUint(n, 36), slot: n}
	// The HTTP server's request deadlines stay on a hijacked connection;
	// from here the gateway owns them: auth timeout and heartbeats for
	// reads, a deadline per write in the writer.
	_ = netConn.SetReadDeadline(time.Time{})
	_ = netConn.SetWriteDeadline(time.Time{})
	if poll {
		c.poll = &pollState{frames: frameReader{max: g.cfg.MaxFrame * 16}}
		c.poll.deadline.Store(time.Now().Add(g.cfg.AuthTimeout).UnixNano())
		// Bytes the client sent right behind its upgrade request.
		if k := brw.Reader.Buffered(); k > 0 {
			c.poll.pending, _ = brw.Reader.Peek(k)
			c.poll.pending = append([]byte(nil), c.poll.pending...)
		}
	} else {
		c.socket = socket
		socket.Session().Store("", c)
		c.readBy(time.Now().Add(g.cfg.AuthTimeout))
	}
	g.mu.Lock()
	g.conns[c] = struct{}{}
	g.mu.Unlock()
	g.count.Add(1)
	if f := g.cfg.Metrics.Connections; f != nil {
		f(1)
	}
	if poll {
		if err := g.poller.add(c, netConn); err != nil {
			g.log.Warn("poll engine", "err", err)
			c.poll.down.Store(true)
			qc.hangUp()
			g.closed(c)
		}
		return
	}
	go socket.ReadLoop()
}

// Run pings every connection each heartbeat interval until ctx ends. The
// connections are split in ten slices pinged a tenth of an interval apart so
// pings do not come in one burst.
func (g *Gateway) Run(ctx context.Context) {
	const slices = 10
	t := time.NewTicker(g.cfg.Heartbeat / slices)
	defer t.Stop()
	for tick := uint64(0); ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.RLock()
		var batch []*conn
		for c := range g.conns {
			if c.slot%slices == tick%slices {
				batch = append(batch, c)
			}
		}
		g.mu.RUnlock()
		for _, c := range batch {
			if c.authed.Load() {
				c.enqueue(outFrame{op: gws.OpcodePing}, false)
			}
		}
	}
}

// Drain stops taking connections, asks every client to reconnect elsewhere,
// and waits until they have gone or ctx ends; then it closes the rest.
func (g *Gateway) Drain(ctx context.Context, reason string) {
	g.draining.Store(true)
	g.drainSSE(reason)
	frame := mustEncode(wire.ServerFrame{Type: wire.TypeReconnect, Reason: reason})
	for _, c := range g.snapshot() {
		c.enqueue(outFrame{op: gws.OpcodeText, data: frame}, false)
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for g.Count() > 0 {
		select {
		case <-ctx.Done():
			for _, c := range g.snapshot() {
				c.close(CloseGoingAway, "node shutting down", false)
			}
			// Give the closed connections a moment to unregister (and leave
			// presence) before the node closes its stores under them.
			for i := 0; i < 40 && g.Count() > 0; i++ {
				time.Sleep(50 * time.Millisecond)
			}
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) snapshot() []*conn {
	g.mu.RLock()
	defer g.mu.RUnlock()
	out := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		out = append(out, c)
	}
	return out
}

// Deliver pushes ev to this node's connections of its recipients. The frame
// is encoded once and shared by every connection. It never blocks: a
// connection whose queue is full is closed.
func (g *Gateway) Deliver(ev *chat.Event) {
	switch ev.Kind {
	case chat.EventRevoke:
		g.mu.RLock()
		cs := collect(g.bySession[ev.SessionID])
		g.mu.RUnlock()
		for _, c := range cs {
			c.close(CloseLoggedOut, "session ended", true)
		}
		g.deliverSSE(ev, outFrame{})
		return
	case chat.EventBlock:
		g.blockChanged(ev.Block)
		return
	case chat.EventResync:
		frame := mustEncode(wire.ServerFrame{Type: wire.TypeResync})
		g.deliverSSE(ev, outFrame{data: frame})
		for _, c := range g.snapshot() {
			if c.authed.Load() {
				c.enqueue(outFrame{op: gws.OpcodeText, data: frame}, false)
			}
		}
		return
	}
	f, ok := encode.Event(ev)
	if !ok {
		return
	}
	out := outFrame{op: gws.OpcodeText, data: mustEncode(f)}
	switch ev.Kind {
	case chat.EventMessage:
		out.conv, out.seq = ev.Message.ConversationID, ev.Message.Seq
	case chat.EventUpdate:
		out.conv, out.rev = ev.Message.ConversationID, ev.Message.Rev
	}
	if ev.Kind == chat.EventRoom {
		n := g.deliverRoom(ev, out)
		if f := g.cfg.Metrics.FramesOut; f != nil {
			f(n)
		}
		return
	}
	if ev.Kind == chat.EventMember && ev.Member.Gone() {
		defer g.memberGone(ev.Member)
	}
	var targets []*conn
	switch ev.Kind {
	case chat.EventPresence:
		g.mu.RLock()
		targets = collect(g.watchers[ev.Presence.UserID])
		g.mu.RUnlock()
	case chat.EventMessage, chat.EventUpdate:
		// A group's messages resolve the same member list each time.
		targets = g.targets.get(g, out.conv, ev.Recipients)
	default:
		targets = resolve(g, ev.Recipients)
	}
	later := g.cfg.Coalesce > 0 && len(targets) >= g.cfg.CoalesceMin
	n := 0
	for _, c := range targets {
		if c.id != ev.ExceptConn {
			c.put(out, false, later)
			n++
		}
	}
	streams := g.deliverSSE(ev, out)
	if f := g.cfg.Metrics.FramesOut; f != nil {
		f(n + streams)
	}
}

func collect(set map[*conn]struct{}) []*conn {
	out := make([]*conn, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	return out
}

// mustEncode encodes a frame the server writes. It calls MarshalJSON
// itself: json.Marshal would check and compact what MarshalJSON wrote,
// which costs more than writing it (wire's BenchmarkServerFrameMarshal).
func mustEncode(f wire.ServerFrame) []byte {
	b, err := f.MarshalJSON()
	if err != nil {
		// Only our own types are encoded here; failing is a programming error.
		panic("gateway: encode frame: " + err.Error())
	}
	return b
}

// register adds an authenticated connection to the local maps.
func (g *Gateway) register(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen++
	g.byUser[c.info.UserID] = append(g.byUser[c.info.UserID], c)
	add(g.bySession, c.info.Session, c)
}

// unregister removes a closed connection from every map.
func (g *Gateway) unregister(c *conn) {
	g.mu.Lock()
	rooms := c.rooms
	c.rooms = nil
	for _, r := range rooms {
		remove(g.rooms, r, c)
	}
	g.mu.Unlock()
	for _, r := range rooms {
		g.svc.Unwatch(r)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
	if c.authed.Load() {
		g.gen++
		g.byUser[c.info.UserID] = slices.DeleteFunc(g.byUser[c.info.UserID], func(o *conn) bool { return o == c })
		if len(g.byUser[c.info.UserID]) == 0 {
			delete(g.byUser, c.info.UserID)
		}
		remove(g.bySession, c.info.Session, c)
	}
	for _, u := range c.watching {
		remove(g.watchers, u, c)
	}
}

func (g *Gateway) watch(c *conn, userIDs []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range userIDs {
		if _, ok := g.watchers[u][c]; ok {
			continue
		}
		add(g.watchers, u, c)
		c.watching = append(c.watching, u)
	}
}

func add(m map[string]map[*conn]struct{}, k string, c *conn) {
	set := m[k]
	if set == nil {
		set = make(map[*conn]struct{}, 1)
		m[k] = set
	}
	set[c] = struct{}{}
}

func remove(m map[string]map[*conn]struct{}, k string, c *conn) {
	set := m[k]
	delete(set, c)
	if len(set) == 0 {
		delete(m, k)
	}
}

// session is gws's per-connection storage cut down to the one value we keep.
type session struct{ c *conn }

func (s *session) Len() int                       { return 1 }
func (s *session) Load(string) (any, bool)        { return s.c, s.c != nil }
func (s *session) Delete(string)                  { s.c = nil }
func (s *session) Store(_ string, v any)          { s.c, _ = v.(*conn) }
func (s *session) Range(f func(string, any) bool) { f("", s.c) }

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Error(v ...any) { a.l.Error("websocket", "detail", v) }
