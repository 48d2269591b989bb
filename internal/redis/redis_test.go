package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-chat/switchboard/internal/bustest"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/presencetest"
	"github.com/switchboard-chat/switchboard/internal/redis"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// guard bounds every poll so a broken implementation fails instead of
// hanging; tests never assert how long something took.
const guard = 20 * time.Second

func TestPresence(t *testing.T) {
	e := newEnv(t)
	presencetest.Run(t, func(t *testing.T, node string) chat.Presence {
		return redis.NewPresence(e.client(t), e.prefix(t), node, time.Minute)
	}, true)
}

func TestBus(t *testing.T) {
	e := newEnv(t)
	bustest.Run(t, func(t *testing.T, node string) chat.Bus {
		return redis.NewBus(e.client(t), e.prefix(t), node, redis.BusOptions{})
	}, true)
}

// A node that stops refreshing (it crashed) loses its users after the TTL,
// while a node that refreshes keeps them.
func TestPresenceExpiresDeadNode(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	const ttl = time.Second
	dead := redis.NewPresence(e.client(t), prefix, "dead", ttl)
	live := redis.NewPresence(e.client(t), prefix, "live", ttl)
	ctx := testContext(t)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = live.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	for i := range 5 {
		connect(t, dead, fmt.Sprintf("d%d", i), "c")
		connect(t, live, fmt.Sprintf("l%d", i), "c")
	}
	connect(t, dead, "both", "c1")
	connect(t, live, "both", "c2")

	poll(t, "the dead node's users to go offline", func() bool {
		on, err := live.Online(ctx, []string{"d0", "d1", "d2", "d3", "d4"})
		mustNil(t, err)
		for _, v := range on {
			if v {
				return false
			}
		}
		return true
	})
	got, err := live.Locate(ctx, []string{"l0", "l1", "l2", "l3", "l4", "both", "d0"})
	mustNil(t, err)
	if len(got) != 1 || len(got["live"]) != 6 {
		t.Fatalf("Locate after the dead node expired = %v, want all six live users on node live", got)
	}
	// The dead node's user keys are deleted by Redis, not left behind.
	poll(t, "the dead node's keys to expire", func() bool {
		n, err := e.admin.Exists(ctx, prefix+":u:d0", prefix+":u:d4").Result()
		mustNil(t, err)
		return n == 0
	})
	if n, err := live.Disconnect(ctx, "both", "c2"); err != nil || n != 0 {
		t.Fatalf("Disconnect = %d, %v; want 0: the dead node's connection no longer counts", n, err)
	}
}

// Refreshing a node with many users is a handful of script calls in one
// round trip, not one per user.
func TestRefreshCost(t *testing.T) {
	e := newEnv(t)
	ctx := testContext(t)
	p := redis.NewPresence(e.client(t), e.prefix(t), "n1", time.Minute)
	const users = 3000
	for i := range users {
		connect(t, p, fmt.Sprintf("u%d", i), "c1")
	}
	connect(t, p, "u0", "c2")
	mustNil(t, p.Refresh(ctx)) // loads the script
	before := p.Stats()
	mustNil(t, p.Refresh(ctx))
	after := p.Stats()
	if got := after.RoundTrips - before.RoundTrips; got != 1 {
		t.Errorf("Refresh of %d users took %d round trips, want 1", users, got)
	}
	if got := after.Commands - before.Commands; got > users/100 {
		t.Errorf("Refresh of %d users took %d commands, want a few", users, got)
	}
	if p.Conns() != users+1 {
		t.Errorf("Conns = %d, want %d", p.Conns(), users+1)
	}
}

// Entries Redis lost (a restart without persistence) come back with the
// next refresh, and only for connections still open.
func TestPresenceRestoresLostEntries(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	ctx := testContext(t)
	p := redis.NewPresence(e.client(t), prefix, "n1", time.Minute)
	connect(t, p, "alice", "c1")
	connect(t, p, "alice", "c2")
	connect(t, p, "bob", "c3")
	if _, err := p.Disconnect(ctx, "bob", "c3"); err != nil {
		t.Fatal(err)
	}
	e.deleteKeys(t, prefix)
	wantOnline(t, p, map[string]bool{"alice": false, "bob": false})
	mustNil(t, p.Refresh(ctx))
	wantOnline(t, p, map[string]bool{"alice": true, "bob": false})
	if n, err := p.Disconnect(ctx, "alice", "c1"); err != nil || n != 1 {
		t.Fatalf("Disconnect = %d, %v; want 1", n, err)
	}
	if p.Conns() != 1 {
		t.Fatalf("Conns = %d, want 1", p.Conns())
	}
}

func TestPresenceLeave(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	ctx := testContext(t)
	a := redis.NewPresence(e.client(t), prefix, "a", time.Minute)
	b := redis.NewPresence(e.client(t), prefix, "b", time.Minute)
	connect(t, a, "alice", "c1")
	connect(t, a, "bob", "c2")
	connect(t, b, "bob", "c3")
	mustNil(t, a.Leave(ctx))
	wantOnline(t, b, map[string]bool{"alice": false, "bob": true})
	if a.Conns() != 0 {
		t.Fatalf("Conns after Leave = %d, want 0", a.Conns())
	}
}

func TestRegistry(t *testing.T) { testRegistry(t, newEnv(t).backend()) }

func testRegistry(t *testing.T, e backend) {
	prefix := e.prefix(t)
	ctx := testContext(t)
	r := redis.NewRegistry(e.client(t), prefix, time.Second)
	mustNil(t, r.Register(ctx, redis.NodeInfo{ID: "a", URL: "ws://127.0.0.1:1/v1/ws", Conns: 5}))
	mustNil(t, r.Register(ctx, redis.NodeInfo{ID: "b", URL: "ws://127.0.0.1:2/v1/ws?x=a|b", Conns: 2}))
	got, err := r.Nodes(ctx)
	mustNil(t, err)
	want := []redis.NodeInfo{
		{ID: "b", URL: "ws://127.0.0.1:2/v1/ws?x=a|b", Conns: 2},
		{ID: "a", URL: "ws://127.0.0.1:1/v1/ws", Conns: 5},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Nodes = %v, want %v", got, want)
	}

	// b keeps itself registered; a stops (it crashed) and drops out.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(runCtx, func() redis.NodeInfo { return want[0] })
	}()
	poll(t, "the dead node to leave the registry", func() bool {
		got, err := r.Nodes(ctx)
		mustNil(t, err)
		return len(got) == 1 && got[0].ID == "b"
	})
	stop()
	<-done // Run deregisters b when it ends
	got, err = r.Nodes(ctx)
	mustNil(t, err)
	if len(got) != 0 {
		t.Fatalf("Nodes after b stopped = %v, want none", got)
	}
}

// A group message to 300 members online on 3 nodes costs the sender one
// Locate and one XADD per other node: O(nodes), not O(members).
func TestFanOutCostsPerNode(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	ctx := testContext(t)
	nodes := []string{"n1", "n2", "n3"}
	var members []string
	for i, n := range nodes {
		p := redis.NewPresence(e.client(t), prefix, n, time.Minute)
		for j := range 100 {
			u := fmt.Sprintf("u%d-%d", i, j)
			members = append(members, u)
			connect(t, p, u, "c-"+u)
		}
	}
	open := func(t *testing.T, node string) chat.Bus {
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
	}
	b := bustest.Start(t, open, "n2")
	c := bustest.Start(t, open, "n3")
	bustest.Ready(t, b, c)

	// The sender's node: its own client, counted by a hook too.
	var hooked atomic.Uint64
	client := e.client(t)
	client.AddHook(countHook{&hooked})
	presence := redis.NewPresence(client, prefix, "n1", time.Minute)
	bus := redis.NewBus(client, prefix, "n1", redis.BusOptions{})
	if _, err := presence.Locate(ctx, members[:1]); err != nil { // load the script
		t.Fatal(err)
	}
	p0, b0, h0 := presence.Stats(), bus.Stats(), hooked.Load()

	// What the core does for a group message: locate, then one envelope
	// per remote node with that node's recipients.
	byNode, err := presence.Locate(ctx, members)
	mustNil(t, err)
	msg := &chat.Message{ID: "m1", ConversationID: "g", Seq: 1, SenderID: "u0-0", Sender: "u0-0", Text: "hi"}
	for node, users := range byNode {
		if node == "n1" {
			continue
		}
		mustNil(t, bus.Send(ctx, node, &chat.Event{Kind: chat.EventMessage, Recipients: users, Message: msg}))
	}

	p1, b1, h1 := presence.Stats(), bus.Stats(), hooked.Load()
	if got := p1.Commands - p0.Commands; got != 1 {
		t.Errorf("Locate of 300 users took %d commands, want 1", got)
	}
	if got := p1.RoundTrips - p0.RoundTrips; got != 1 {
		t.Errorf("Locate of 300 users took %d round trips, want 1", got)
	}
	if got := b1.XAdds - b0.XAdds; got != 2 {
		t.Errorf("fan-out took %d XADDs, want 2 (one per remote node)", got)
	}
	if got := b1.Commands - b0.Commands; got != 2 {
		t.Errorf("fan-out took %d bus commands, want 2", got)
	}
	if got := h1 - h0; got != 3 {
		t.Errorf("the client sent %d commands, want 3", got)
	}
	for _, r := range []*bustest.Runner{b, c} {
		ev := r.Next(t)
		if ev.Kind != chat.EventMessage || len(ev.Recipients) != 100 {
			t.Fatalf("node %s got %s with %d recipients, want the message for its 100 users", r.Node, ev.Kind, len(ev.Recipients))
		}
		own := fmt.Sprintf("u%d-", r.Node[1]-'1') // n2 holds u1-*, n3 u2-*
		for _, u := range ev.Recipients {
			if !strings.HasPrefix(u, own) {
				t.Fatalf("node %s got recipient %s of another node", r.Node, u)
			}
		}
	}
}

// The reader's connection is killed: the handler gets a resync once the
// bus reads again, and traffic goes on.
func TestBusResyncAfterConnectionKilled(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	name := "sbtest-" + prefix[len("sbtest:"):]
	opts := *e.opts
	opts.ClientName = name
	client := goredis.NewClient(&opts)
	t.Cleanup(func() { _ = client.Close() })
	open := func(t *testing.T, node string) chat.Bus {
		if node == "n1" {
			return redis.NewBus(client, prefix, node, redis.BusOptions{})
		}
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
	}
	a := bustest.Start(t, open, "n1")
	b := bustest.Start(t, open, "n2")
	bustest.Ready(t, a, b)
	if got := bustest.Flush(t, b, a); len(got) != 0 {
		t.Fatalf("events before the kill: %v", got)
	}

	killed := e.killClients(t, name)
	if killed == 0 {
		t.Fatal("found no connection of the bus to kill")
	}
	if ev := a.Next(t); ev.Kind != chat.EventResync {
		t.Fatalf("after the kill got %q, want %q", ev.Kind, chat.EventResync)
	}
	ev := &chat.Event{Kind: chat.EventRevoke, SessionID: "after"}
	mustNil(t, b.Bus.Send(testContext(t), "n1", ev))
	if got := a.Next(t); got.SessionID != "after" {
		t.Fatalf("after reconnecting got %+v, want the revoke", got)
	}
}

// Redis goes away for a while: calls fail with EUnavailable, and once it is
// back the bus resyncs by itself and carries events again.
func TestRedisDown(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	px := testenv.StartProxy(t, e.opts.Addr)
	opts := *e.opts
	opts.Addr = px.Addr
	opts.MaxRetries = -1
	opts.DialTimeout = time.Second
	client := goredis.NewClient(&opts)
	t.Cleanup(func() { _ = client.Close() })

	presence := redis.NewPresence(client, prefix, "n1", time.Minute)
	open := func(t *testing.T, node string) chat.Bus {
		if node == "n1" {
			return redis.NewBus(client, prefix, node, redis.BusOptions{Backoff: 20 * time.Millisecond})
		}
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
	}
	a := bustest.Start(t, open, "n1")
	b := bustest.Start(t, open, "n2")
	bustest.Ready(t, a, b)
	ctx := testContext(t)

	px.Stop()
	ev := &chat.Event{Kind: chat.EventRevoke, SessionID: "s"}
	if err := a.Bus.Send(ctx, "n2", ev); chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("Send with Redis down: %v, want code %s", err, chat.EUnavailable)
	}
	if err := a.Bus.Broadcast(ctx, ev); chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("Broadcast with Redis down: %v, want code %s", err, chat.EUnavailable)
	}
	if _, err := presence.Connect(ctx, "alice", "c1"); chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("Connect with Redis down: %v, want code %s", err, chat.EUnavailable)
	}
	if _, err := presence.Locate(ctx, []string{"alice"}); chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("Locate with Redis down: %v, want code %s", err, chat.EUnavailable)
	}
	// Meanwhile n2 sends n1 an event n1 cannot read yet.
	mustNil(t, b.Bus.Send(ctx, "n1", &chat.Event{Kind: chat.EventRevoke, SessionID: "during"}))

	px.Start()
	if got := a.Next(t); got.Kind != chat.EventResync {
		t.Fatalf("after Redis came back got %q, want %q", got.Kind, chat.EventResync)
	}
	if got := a.Next(t); got.SessionID != "during" {
		t.Fatalf("got %+v, want the event sent while the link was down", got)
	}
	connect(t, presence, "alice", "c1")
	mustNil(t, a.Bus.Send(ctx, "n2", ev))
	if got := b.Next(t); got.SessionID != "s" {
		t.Fatalf("n2 got %+v, want the revoke", got)
	}
}

// A node that falls further behind than its inbox keeps gets a resync
// before the events that are left.
func TestBusResyncAfterTrim(t *testing.T) {
	e := newEnv(t)
	prefix := e.prefix(t)
	ctx := testContext(t)
	opts := redis.BusOptions{MaxLen: 20, Batch: 5}
	recv := redis.NewBus(e.client(t), prefix, "n1", opts)
	send := redis.NewBus(e.client(t), prefix, "n2", opts)

	entered, release := make(chan struct{}), make(chan struct{})
	events := make(chan *chat.Event, 1000)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = recv.Run(runCtx, func(ev *chat.Event) {
			if ev.Kind == chat.EventMessage && ev.Message.Seq == 0 {
				close(entered)
				<-release // the node is stuck while its inbox fills
			}
			events <- ev
		})
	}()
	t.Cleanup(func() { stop(); <-done })

	const n = 600
	poll(t, "n1's inbox to exist", func() bool { return send.Send(ctx, "n1", msgEvent(0)) == nil })
	<-entered
	for i := 1; i <= n; i++ {
		mustNil(t, send.Send(ctx, "n1", msgEvent(i)))
	}
	close(release)
	resynced := false
	for {
		select {
		case ev := <-events:
			if ev.Kind == chat.EventResync {
				resynced = true
				continue
			}
			if ev.Message.Seq < n {
				continue
			}
			if !resynced {
				t.Fatal("the inbox was trimmed past what n1 read, and n1 got no resync")
			}
			if s := recv.Stats(); s.Resyncs != 1 {
				t.Fatalf("Resyncs = %d, want 1", s.Resyncs)
			}
			return
		case <-time.After(guard):
			t.Fatal("the last event never arrived")
		}
	}
}

func TestTopics(t *testing.T) { testTopics(t, newEnv(t).backend()) }

// testTopics: a topic publish reaches each subscribed node once. On one
// server it is one XADD to the topic's stream; on a cluster one XADD to
// each subscribed node's inbox.
func testTopics(t *testing.T, e backend) {
	prefix := e.prefix(t)
	ctx := testContext(t)
	open := func(t *testing.T, node string) chat.Bus {
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
	}
	a, b, c := bustest.Start(t, open, "n1"), bustest.Start(t, open, "n2"), bustest.Start(t, open, "n3")
	bustest.Ready(t, a, b, c)
	bb, cb, ab := b.Bus.(*redis.Bus), c.Bus.(*redis.Bus), a.Bus.(*redis.Bus)
	mustNil(t, bb.SubscribeTopic(ctx, "big"))
	mustNil(t, cb.SubscribeTopic(ctx, "big"))
	mustNil(t, cb.SubscribeTopic(ctx, "big")) // twice is once

	before := ab.Stats()
	ev := &chat.Event{Kind: chat.EventMessage, Message: &chat.Message{ID: "m1", ConversationID: "big", Seq: 7, Text: "all"}}
	mustNil(t, ab.PublishTopic(ctx, "big", ev))
	wantXAdds := uint64(1)
	if e.cluster {
		wantXAdds = 2 // one per subscribed node
	}
	if s := ab.Stats(); s.XAdds-before.XAdds != wantXAdds || s.Publishes-before.Publishes != 1 {
		t.Fatalf("a publish took %d XADDs (%d publishes), want %d (1)", s.XAdds-before.XAdds, s.Publishes-before.Publishes, wantXAdds)
	}
	for _, r := range []*bustest.Runner{b, c} {
		if got := r.Next(t); got.Message == nil || got.Message.ID != "m1" {
			t.Fatalf("node %s got %+v, want the topic message", r.Node, got)
		}
		if extra := bustest.Flush(t, a, r); len(extra) != 0 {
			t.Fatalf("node %s got the topic message more than once: %v", r.Node, extra)
		}
	}
	if got := bustest.Flush(t, a, a); len(got) != 0 {
		t.Fatalf("n1 is not subscribed but got %v", got)
	}

	mustNil(t, cb.UnsubscribeTopic(ctx, "big"))
	ev2 := &chat.Event{Kind: chat.EventMessage, Message: &chat.Message{ID: "m2", ConversationID: "big", Seq: 8}}
	mustNil(t, ab.PublishTopic(ctx, "big", ev2))
	if got := b.Next(t); got.Message == nil || got.Message.ID != "m2" {
		t.Fatalf("n2 got %+v, want m2", got)
	}
	// m2 was published before Flush's marker, so a node still reading the
	// topic would get it first: the bus merges its streams in id order.
	if got := bustest.Flush(t, a, c); len(got) != 0 {
		t.Fatalf("n3 unsubscribed but got %v", got)
	}

	mustNil(t, ab.PublishTopic(ctx, "nobody", ev))
	for _, k := range []string{prefix + ":topic:nobody", prefix + ":tsub:nobody"} {
		if n, err := e.admin.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("publishing to a topic nobody reads created %s (%d, %v)", k, n, err)
		}
	}
}

func TestSendToUnknownNode(t *testing.T) {
	e := newEnv(t)
	b := redis.NewBus(e.client(t), e.prefix(t), "n1", redis.BusOptions{})
	err := b.Send(testContext(t), "nowhere", &chat.Event{Kind: chat.EventRevoke})
	if chat.ErrorCode(err) != chat.EUnavailable {
		t.Fatalf("Send to a node that never ran: %v, want code %s", err, chat.EUnavailable)
	}
}

// ---- helpers

// backend is what a test body shared by one server and a cluster needs:
// new clients, the test's key prefix and a client for checks.
type backend struct {
	client  func(t *testing.T) goredis.UniversalClient
	prefix  func(t *testing.T) string
	admin   goredis.UniversalClient
	cluster bool
}

func (e *env) backend() backend {
	return backend{
		client: func(t *testing.T) goredis.UniversalClient { return e.client(t) },
		prefix: e.prefix,
		admin:  e.admin,
	}
}

// env is the Redis a test runs against, with a key prefix per test.
type env struct {
	opts  *goredis.Options
	admin *goredis.Client

	mu       sync.Mutex
	prefixes map[*testing.T]string
}

// newEnv connects to the test Redis (127.0.0.1:6379, or the address or URL
// in SWITCHBOARD_TEST_REDIS). Without it the test fails when CI is set and
// is skipped otherwise.
func newEnv(t *testing.T) *env {
	t.Helper()
	addr := os.Getenv("SWITCHBOARD_TEST_REDIS")
	opts := &goredis.Options{Addr: "127.0.0.1:6379"}
	switch {
	case strings.Contains(addr, "://"):
		o, err := goredis.ParseURL(addr)
		if err != nil {
			t.Fatalf("SWITCHBOARD_TEST_REDIS: %v", err)
		}
		opts = o
	case addr != "":
		opts.Addr = addr
	}
	admin := goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.Ping(ctx).Err(); err != nil {
		_ = admin.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s: %v", opts.Addr, err)
		}
		t.Skipf("Redis at %s: %v (set CI to fail instead)", opts.Addr, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return &env{opts: opts, admin: admin, prefixes: make(map[*testing.T]string)}
}

// prefix returns t's key prefix, the same for every call in one test; its
// keys are deleted when t ends.
func (e *env) prefix(t *testing.T) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.prefixes[t]; ok {
		return p
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := "sbtest:" + hex.EncodeToString(b)
	e.prefixes[t] = p
	t.Cleanup(func() { e.deleteKeys(t, p) })
	return p
}

// client returns a new client, closed when t ends.
func (e *env) client(t *testing.T) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(e.opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (e *env) deleteKeys(t *testing.T, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := e.admin.Scan(ctx, 0, prefix+":*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	if err := it.Err(); err != nil {
		t.Errorf("scan keys of %s: %v", prefix, err)
		return
	}
	if len(keys) > 0 {
		if err := e.admin.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("delete keys of %s: %v", prefix, err)
		}
	}
}

// killClients kills the server side of every connection named name.
func (e *env) killClients(t *testing.T, name string) int {
	t.Helper()
	ctx := testContext(t)
	list, err := e.admin.ClientList(ctx).Result()
	mustNil(t, err)
	killed := 0
	for line := range strings.SplitSeq(list, "\n") {
		var id, n string
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "id":
				id = v
			case "name":
				n = v
			}
		}
		if n != name || id == "" {
			continue
		}
		if err := e.admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
			killed++
		}
	}
	return killed
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*guard)
	t.Cleanup(cancel)
	return ctx
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// poll calls cond until it holds, failing the test after guard.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantOnline(t *testing.T, p chat.Presence, want map[string]bool) {
	t.Helper()
	users := make([]string, 0, len(want))
	for u := range want {
		users = append(users, u)
	}
	got, err := p.Online(testContext(t), users)
	mustNil(t, err)
	for _, u := range users {
		if got[u] != want[u] {
			t.Errorf("Online[%s] = %v, want %v", u, got[u], want[u])
		}
	}
}

func msgEvent(seq int) *chat.Event {
	return &chat.Event{Kind: chat.EventMessage, Recipients: []string{"u"},
		Message: &chat.Message{ID: fmt.Sprint(seq), Seq: int64(seq), Text: "x"}}
}

// countHook counts every command a client sends, pipelined or not.
type countHook struct{ n *atomic.Uint64 }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(uint64(len(cmds)))
		return next(ctx, cmds)
	}
}

func connect(t *testing.T, p chat.Presence, user, conn string) {
	t.Helper()
	_, err := p.Connect(testContext(t), user, conn)
	mustNil(t, err)
}
