package main

// The failover tests' users, each with one device that keeps itself
// connected (redialling through discovery and syncing from its Tracker's
// cursors) and pipelines sends, retrying a failed one with the same
// client_msg_id. Each records what it received and what was acked, for the
// checks of the store. foUsers signs up a set of them; foGroup makes them a
// group.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// foUser is one user with one device that keeps itself connected: when its
// connection drops it asks a live node for discovery, redials, and syncs
// from its Tracker's cursors. Its sender pipelines sends and retries a
// failed one with the same client_msg_id.
type foUser struct {
	name  string
	token string
	nodes []*procNode // where it may ask for discovery, its own node first
	trk   client.Tracker

	syncReq chan struct{}

	mu         sync.Mutex
	conn       *client.Conn
	node       string // id of the node conn is on
	reconnects int
	resyncs    int
	frames     map[string]map[int64]int // (conv, seq) -> message frames received
	observed   map[string]map[int64]bool
	acked      map[string]wire.Message // client_msg_id -> stored message
	badAcks    []string                // same client_msg_id, different message
	sendErrs   map[string]int          // error code (or "conn") -> count
	fatal      []string                // errors a retry cannot cure
	firstTry   map[string]time.Time    // client_msg_id -> first send
	acks       []foAck                 // every first ack, in order

	inflight atomic.Int64
	resolved atomic.Int64 // sends acked or failed
	unavail  atomic.Int64 // sends failed with unavailable
}

func newFoUser(t testing.TB, name string, nodes []*procNode) *foUser {
	t.Helper()
	ctx := ctxT(t)
	api := client.New(nodes[0].URL)
	if _, err := api.Signup(ctx, name, "password-"+name, ""); err != nil {
		t.Fatalf("signup %s: %v", name, err)
	}
	login, err := api.Login(ctx, name, "password-"+name)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	u := &foUser{name: name, token: login.Token, nodes: nodes, syncReq: make(chan struct{}, 1),
		frames: map[string]map[int64]int{}, observed: map[string]map[int64]bool{},
		acked: map[string]wire.Message{}, sendErrs: map[string]int{}}
	conn, err := u.api(nodes[0].URL).Dial(ctx, "dev-"+name, client.OnEvent(u.onEvent))
	if err != nil {
		t.Fatalf("dial %s: %v", name, err)
	}
	u.conn, u.node = conn, conn.Node()
	return u
}

func (u *foUser) api(base string) *client.Client {
	return client.New(base, client.WithSessionToken(u.token))
}

func (u *foUser) current() *client.Conn {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.conn
}

// onEvent runs on the connection's read loop: it must not wait.
func (u *foUser) onEvent(_ *client.Conn, f wire.ServerFrame) {
	switch f.Type {
	case wire.TypeMessage:
		if f.Msg == nil {
			return
		}
		u.mu.Lock()
		m := u.frames[f.Msg.Conversation]
		if m == nil {
			m = map[int64]int{}
			u.frames[f.Msg.Conversation] = m
		}
		m[f.Msg.Seq]++
		u.mu.Unlock()
		u.observe(*f.Msg)
	case wire.TypeResync, wire.TypeReconnect:
		u.mu.Lock()
		if f.Type == wire.TypeResync {
			u.resyncs++
		}
		u.mu.Unlock()
		u.wantSync()
	}
}

// observe feeds m to the Tracker once (a message may come as a push, by
// sync and as its own sender's ack) and asks for a sync on a gap.
func (u *foUser) observe(m wire.Message) {
	u.mu.Lock()
	seen := u.observed[m.Conversation]
	if seen == nil {
		seen = map[int64]bool{}
		u.observed[m.Conversation] = seen
	}
	dup := seen[m.Seq]
	seen[m.Seq] = true
	u.mu.Unlock()
	if dup {
		return
	}
	if _, gap := u.trk.Observe(m); gap {
		u.wantSync()
	}
}

func (u *foUser) wantSync() {
	select {
	case u.syncReq <- struct{}{}:
	default:
	}
}

// redelivered counts the message frames that carried a (conversation, seq)
// a user's device had received as a message frame before. The protocol
// allows them: a sync sends everything above the cursor, including seqs
// held above a hole, and a push may race a sync on a new connection.
func redelivered(users []*foUser) int {
	n := 0
	for _, u := range users {
		n += u.redelivered()
	}
	return n
}

func (u *foUser) redelivered() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, m := range u.frames {
		for _, c := range m {
			n += c - 1
		}
	}
	return n
}

// keepConnected redials whenever the connection drops and serves sync
// requests, until ctx ends.
func (u *foUser) keepConnected(ctx context.Context) {
	for {
		conn := u.current()
		select {
		case <-ctx.Done():
			return
		case <-u.syncReq:
			sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			_, _ = conn.Sync(sctx, u.trk.Cursors())
			cancel()
		case <-conn.Done():
			u.reconnect(ctx)
		}
	}
}

// reconnect asks each node in turn for discovery and dials what it names,
// or that node itself when the named one does not answer (a crashed node
// stays in discovery until its registry entry expires); then it syncs.
func (u *foUser) reconnect(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		n := u.nodes[i%len(u.nodes)]
		api := u.api(n.URL)
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var urls []string
		if d, err := api.Discover(dctx); err == nil {
			urls = append(urls, d.WSURL)
		}
		cancel()
		urls = append(urls, api.WebSocketURL())
		for _, ws := range urls {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := api.DialURL(dctx, ws, "dev-"+u.name, client.OnEvent(u.onEvent))
			cancel()
			if err != nil {
				continue
			}
			u.mu.Lock()
			u.conn, u.node = conn, conn.Node()
			u.reconnects++
			u.mu.Unlock()
			sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			_, err = conn.Sync(sctx, u.trk.Cursors())
			cancel()
			if err != nil {
				u.wantSync()
			}
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// send pipelines req on the current connection; done gets the error that
// calls for a retry (nil once it is acked).
func (u *foUser) send(req client.SendRequest, done func(error)) {
	u.inflight.Add(1)
	u.mu.Lock()
	if u.firstTry == nil {
		u.firstTry = map[string]time.Time{}
	}
	if _, ok := u.firstTry[req.ClientMsgID]; !ok {
		u.firstTry[req.ClientMsgID] = time.Now()
	}
	u.mu.Unlock()
	finish := func(m wire.Message, err error) {
		if err == nil {
			u.mu.Lock()
			if _, ok := u.acked[req.ClientMsgID]; !ok {
				now := time.Now()
				u.acks = append(u.acks, foAck{sent: u.firstTry[req.ClientMsgID], at: now})
			}
			if old, ok := u.acked[req.ClientMsgID]; ok && (old.ID != m.ID || old.Seq != m.Seq) {
				u.badAcks = append(u.badAcks, fmt.Sprintf("%s: %s/%d then %s/%d", req.ClientMsgID, old.ID, old.Seq, m.ID, m.Seq))
			}
			u.acked[req.ClientMsgID] = m
			u.mu.Unlock()
			u.observe(m)
		} else {
			code := client.ErrorCode(err)
			u.mu.Lock()
			if code == "" {
				u.sendErrs["conn"]++
			} else {
				u.sendErrs[code]++
			}
			if code != "" && code != "unavailable" && code != "internal" {
				u.fatal = append(u.fatal, fmt.Sprintf("send %s: %v", req.ClientMsgID, err))
			}
			u.mu.Unlock()
		}
		if client.ErrorCode(err) == "unavailable" {
			u.unavail.Add(1)
		}
		u.resolved.Add(1)
		u.inflight.Add(-1)
		done(err)
	}
	if err := u.current().SendAsync(req, finish); err != nil {
		finish(wire.Message{}, err)
	}
}

// foAck is one message's first acknowledgement and how long it took from
// its first send, retries included.
type foAck struct {
	sent, at time.Time
}

// senderLoop sends the messages next returns, at most window at a time,
// until stop is closed; then it retries what failed until every one of its
// sends is acked or ctx ends.
func (u *foUser) senderLoop(ctx context.Context, stop <-chan struct{}, window int, next func(k int) client.SendRequest) {
	sem := make(chan struct{}, window)
	var mu sync.Mutex
	var retry []client.SendRequest
	stopped := false
	for k := 0; ctx.Err() == nil; {
		if !stopped {
			select {
			case <-stop:
				stopped = true
			default:
			}
		}
		mu.Lock()
		var req client.SendRequest
		switch {
		case len(retry) > 0:
			req, retry = retry[0], retry[1:]
		case !stopped:
			req = next(k)
			k++
		}
		mu.Unlock()
		if req.ClientMsgID == "" {
			if len(sem) == 0 {
				mu.Lock()
				n := len(retry)
				mu.Unlock()
				if n == 0 {
					return // everything acked
				}
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if u.current().Err() != nil {
			// Wait for the reconnect rather than spin on a dead connection.
			time.Sleep(20 * time.Millisecond)
		}
		u.send(req, func(err error) {
			if err != nil {
				mu.Lock()
				retry = append(retry, req)
				mu.Unlock()
			}
			<-sem
		})
	}
}

func (u *foUser) ackedMessages() map[string]wire.Message {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.acked)
}

// foGroup creates a group that every user joins and returns its id.
func foGroup(t testing.TB, users []*foUser, name string) string {
	t.Helper()
	ctx := ctxT(t)
	g, err := users[0].api(users[0].nodes[0].URL).CreateGroup(ctx, name, "")
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	for _, u := range users[1:] {
		if _, err := u.api(u.nodes[0].URL).JoinGroup(ctx, name); err != nil {
			t.Fatalf("%s joins %s: %v", u.name, name, err)
		}
	}
	return g.ID
}

// foUsers signs up n users; user i starts on nodes[i%len(nodes)] and asks
// the others for discovery when that one fails.
func foUsers(t testing.TB, prefix string, n int, nodes []*procNode) []*foUser {
	t.Helper()
	users := make([]*foUser, n)
	for i := range users {
		order := append(slices.Clone(nodes[i%len(nodes):]), nodes[:i%len(nodes)]...)
		users[i] = newFoUser(t, fmt.Sprintf("%s%02d", prefix, i), order)
	}
	t.Cleanup(func() {
		for _, u := range users {
			_ = u.current().Close()
		}
	})
	return users
}
