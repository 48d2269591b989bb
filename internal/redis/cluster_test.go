package redis_test

import (
	"context"
	"fmt"
	"log/slog"
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

// TestCluster runs the adapters on a Redis Cluster of six real
// redis-server processes (three masters, three replicas): the conformance
// suites, the shared tests, the cost of a group message, and last a master
// killed under the adapters.
func TestCluster(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	e := newClusterEnv(t, rc)
	b := e.backend()

	t.Run("Presence", func(t *testing.T) {
		presencetest.Run(t, func(t *testing.T, node string) chat.Presence {
			return redis.NewPresence(b.client(t), b.prefix(t), node, time.Minute)
		}, true)
	})
	t.Run("Bus", func(t *testing.T) {
		bustest.Run(t, func(t *testing.T, node string) chat.Bus {
			return redis.NewBus(b.client(t), b.prefix(t), node, redis.BusOptions{})
		}, true)
	})
	t.Run("Topics", func(t *testing.T) { testTopics(t, b) })
	t.Run("Registry", func(t *testing.T) { testRegistry(t, b) })
	t.Run("LimiterIsSharedByNodes", func(t *testing.T) { testLimiterShared(t, b) })
	t.Run("LimiterRefills", func(t *testing.T) { testLimiterRefills(t, b) })
	t.Run("GroupMessageCost", func(t *testing.T) { testClusterGroupCost(t, e) })
	t.Run("StaleSlotMap", func(t *testing.T) { testClusterStaleSlotMap(t, e) })
	t.Run("BusRenew", func(t *testing.T) { testClusterBusRenew(t, e) })
	t.Run("MasterKilled", func(t *testing.T) { testClusterMasterKilled(t, e) })
}

// The Redis work of a group message on a cluster: Locate is one script
// call per master, sent as one pipeline per master, and the fan-out one
// XADD per other node; ten times the members costs the same.
func testClusterGroupCost(t *testing.T, e *clusterEnv) {
	masters := len(e.rc.Masters())
	type cost struct{ locate, locateTrips, bus uint64 }
	measure := func(t *testing.T, perNode int) cost {
		prefix := e.prefix(t)
		ctx := testContext(t)
		nodes := []string{"n1", "n2", "n3"}
		var members []string
		for i, n := range nodes {
			p := redis.NewPresence(e.client(t), prefix, n, time.Minute)
			for j := range perNode {
				u := fmt.Sprintf("u%d-%d", i, j)
				members = append(members, u)
				connect(t, p, u, "c-"+u)
			}
		}
		open := func(t *testing.T, node string) chat.Bus {
			return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
		}
		r2, r3 := bustest.Start(t, open, "n2"), bustest.Start(t, open, "n3")
		bustest.Ready(t, r2, r3)

		// The sender's node, its client counting each pipeline a master
		// is sent (a round trip) and every command.
		var trips, cmds atomic.Uint64
		client := e.clientWith(t, func(c *goredis.Client) { c.AddHook(tripHook{&trips}) })
		client.AddHook(countHook{&cmds})
		presence := redis.NewPresence(client, prefix, "n1", time.Minute)
		bus := redis.NewBus(client, prefix, "n1", redis.BusOptions{})
		if _, err := presence.Locate(ctx, members); err != nil { // load the script everywhere
			t.Fatal(err)
		}
		p0, b0, t0, c0 := presence.Stats(), bus.Stats(), trips.Load(), cmds.Load()
		byNode, err := presence.Locate(ctx, members)
		mustNil(t, err)
		p1, t1 := presence.Stats(), trips.Load()
		msg := &chat.Message{ID: "m1", ConversationID: "g", Seq: 1, SenderID: "u0-0", Sender: "u0-0", Text: "hi"}
		for node, users := range byNode {
			if node != "n1" {
				mustNil(t, bus.Send(ctx, node, &chat.Event{Kind: chat.EventMessage, Recipients: users, Message: msg}))
			}
		}
		b1, c1 := bus.Stats(), cmds.Load()
		for _, r := range []*bustest.Runner{r2, r3} {
			if ev := r.Next(t); ev.Kind != chat.EventMessage || len(ev.Recipients) != perNode {
				t.Fatalf("node %s got %s with %d recipients, want %d", r.Node, ev.Kind, len(ev.Recipients), perNode)
			}
		}
		c := cost{locate: p1.Commands - p0.Commands, locateTrips: t1 - t0, bus: b1.Commands - b0.Commands}
		if c.locate+c.bus != c1-c0 {
			t.Errorf("the adapters counted %d commands, the client sent %d", c.locate+c.bus, c1-c0)
		}
		t.Logf("%d members on 3 nodes: Locate %d commands in %d round trips (one per master of %d), fan-out %d commands",
			3*perNode, c.locate, c.locateTrips, masters, c.bus)
		return c
	}
	var small, large cost
	t.Run("members=90", func(t *testing.T) { small = measure(t, 30) })
	t.Run("members=900", func(t *testing.T) { large = measure(t, 300) })
	if small != large {
		t.Errorf("a group message to 90 members cost %+v, to 900 %+v: want the same", small, large)
	}
	if large.locate != uint64(masters) {
		t.Errorf("Locate took %d commands, want one per master (%d)", large.locate, masters)
	}
	if large.locateTrips != uint64(masters) {
		t.Errorf("Locate took %d round trips, want one per master (%d)", large.locateTrips, masters)
	}
	if large.bus != 2 {
		t.Errorf("fan-out took %d commands, want 2 (one per other node)", large.bus)
	}
}

// A client whose slot map is wrong (as after a resharding or failover it
// has not heard of yet) sends the per-master calls to a master that does
// not serve all their keys; they are refused and made again one key at a
// time, and the answers are right.
func testClusterStaleSlotMap(t *testing.T, e *clusterEnv) {
	prefix := e.prefix(t)
	ctx := testContext(t)
	good := redis.NewPresence(e.client(t), prefix, "n1", time.Minute)
	var users []string
	for i := range 50 {
		u := fmt.Sprintf("u%d", i)
		users = append(users, u)
		connect(t, good, u, "c")
	}
	// A map that gives every slot to one master.
	one := e.rc.Masters()[0]
	opt := e.rc.Options()
	opt.ClusterSlots = func(context.Context) ([]goredis.ClusterSlot, error) {
		return []goredis.ClusterSlot{{Start: 0, End: 16383, Nodes: []goredis.ClusterNode{{Addr: one}}}}, nil
	}
	stale := goredis.NewClusterClient(opt)
	t.Cleanup(func() { _ = stale.Close() })
	p := redis.NewPresence(stale, prefix, "n2", time.Minute)
	connect(t, p, "u0", "c2")
	got, err := p.Locate(ctx, users)
	mustNil(t, err)
	if len(got["n1"]) != len(users) || len(got["n2"]) != 1 {
		t.Fatalf("Locate through a stale slot map: %d users on n1, %v on n2; want %d and [u0]", len(got["n1"]), got["n2"], len(users))
	}
	for _, u := range users {
		connect(t, p, u, "c3")
	}
	mustNil(t, p.Refresh(ctx))
	on, err := good.Locate(ctx, users)
	mustNil(t, err)
	if len(on["n2"]) != len(users) {
		t.Fatalf("after a Refresh through a stale slot map n2 holds %d users, want %d", len(on["n2"]), len(users))
	}
}

// The fan-out lists lost (as when a master fails over before replicating
// them): broadcasts and topic events reach nobody until the nodes Renew,
// which they do when Watch reports the change.
func testClusterBusRenew(t *testing.T, e *clusterEnv) {
	prefix := e.prefix(t)
	ctx := testContext(t)
	open := func(t *testing.T, node string) chat.Bus {
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{})
	}
	a, b := bustest.Start(t, open, "n1"), bustest.Start(t, open, "n2")
	bustest.Ready(t, a, b)
	mustNil(t, b.Bus.(*redis.Bus).SubscribeTopic(ctx, "big"))
	for _, k := range []string{prefix + ":busnodes", prefix + ":tsub:big"} {
		mustNil(t, e.admin.Del(ctx, k).Err())
	}
	ev := &chat.Event{Kind: chat.EventRevoke, SessionID: "s1"}
	mustNil(t, a.Bus.Broadcast(ctx, ev))
	mustNil(t, a.Bus.(*redis.Bus).PublishTopic(ctx, "big", msgEvent(1)))
	if got, ok := b.NextWithin(200 * time.Millisecond); ok {
		t.Fatalf("n2 got %s with the lists gone", got.Kind)
	}
	for _, r := range []*bustest.Runner{a, b} {
		mustNil(t, r.Bus.(*redis.Bus).Renew(ctx))
	}
	mustNil(t, a.Bus.Broadcast(ctx, ev))
	mustNil(t, a.Bus.(*redis.Bus).PublishTopic(ctx, "big", msgEvent(2)))
	if got := b.Next(t); got.Kind != chat.EventRevoke {
		t.Fatalf("n2 got %s, want the broadcast", got.Kind)
	}
	if got := b.Next(t); got.Message == nil || got.Message.Seq != 2 {
		t.Fatalf("n2 got %s, want the topic event", bustestDescribe(got))
	}
	if got := a.Next(t); got.Kind != chat.EventRevoke {
		t.Fatalf("n1 got %s, want its own broadcast", got.Kind)
	}
}

func bustestDescribe(ev *chat.Event) string {
	if ev.Message != nil {
		return fmt.Sprintf("%s seq %d", ev.Kind, ev.Message.Seq)
	}
	return ev.Kind
}

// A master is killed with SIGKILL under running adapters: its replica takes
// over, the bus reading an inbox on it tells its handler to resync and
// reads on, sends and presence work again without a restart, and Watch
// reports the change.
func testClusterMasterKilled(t *testing.T, e *clusterEnv) {
	prefix := e.prefix(t)
	ctx := testContext(t)
	open := func(t *testing.T, node string) chat.Bus {
		return redis.NewBus(e.client(t), prefix, node, redis.BusOptions{Backoff: 20 * time.Millisecond})
	}
	r1, r2 := bustest.Start(t, open, "n1"), bustest.Start(t, open, "n2")
	bustest.Ready(t, r1, r2)
	p1 := redis.NewPresence(e.client(t), prefix, "n1", time.Minute)
	p2 := redis.NewPresence(e.client(t), prefix, "n2", time.Minute)
	var users []string
	for i := range 40 {
		u := fmt.Sprintf("u%d", i)
		users = append(users, u)
		connect(t, []*redis.Presence{p1, p2}[i%2], u, "c")
	}

	watched := e.client(t)
	var changes atomic.Int32
	var logs lockedBuffer
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		redis.Watch(wctx, watched, 100*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), func(context.Context) { changes.Add(1) })
	}()
	t.Cleanup(func() { stop(); <-done })

	// Kill the master holding n2's inbox.
	m, err := e.admin.(*goredis.ClusterClient).MasterForKey(ctx, prefix+":inbox:n2")
	mustNil(t, err)
	victim := m.Options().Addr
	e.rc.Node(victim).Kill()
	e.rc.WaitOK()
	for _, a := range e.rc.Masters() {
		if a == victim {
			t.Fatalf("the killed node %s still serves slots", victim)
		}
	}

	// n2 learns that events may have been lost, and sends reach it again.
	poll(t, "n2 to resync", func() bool {
		ev, ok := r2.NextWithin(50 * time.Millisecond)
		return ok && ev.Kind == chat.EventResync
	})
	var sent int
	poll(t, "a send to n2 to succeed", func() bool {
		sent++
		return r1.Bus.Send(ctx, "n2", msgEvent(sent)) == nil
	})
	for {
		ev := r2.Next(t)
		if ev.Kind == chat.EventMessage && ev.Message.Seq == int64(sent) {
			break
		}
	}
	// Presence lost what the dead master had not replicated; a refresh
	// (what a node does on Watch's change) puts it back.
	mustNil(t, p1.Refresh(ctx))
	mustNil(t, p2.Refresh(ctx))
	got, err := p1.Locate(ctx, users)
	mustNil(t, err)
	if len(got["n1"]) != 20 || len(got["n2"]) != 20 {
		t.Fatalf("Locate after the failover = %v, want 20 users on each node", got)
	}
	poll(t, "Watch to report the change", func() bool { return changes.Load() > 0 })
	if out := logs.String(); !strings.Contains(out, "Redis") {
		t.Errorf("nothing logged about the failover:\n%s", out)
	}
}

// clusterEnv is the Redis Cluster a test runs against, with a key prefix
// per test.
type clusterEnv struct {
	rc    *testenv.RedisCluster
	admin goredis.UniversalClient

	mu       sync.Mutex
	prefixes map[*testing.T]string
}

func newClusterEnv(t *testing.T, rc *testenv.RedisCluster) *clusterEnv {
	return &clusterEnv{rc: rc, admin: rc.Client(t), prefixes: make(map[*testing.T]string)}
}

func (e *clusterEnv) backend() backend {
	return backend{
		client:  func(t *testing.T) goredis.UniversalClient { return e.client(t) },
		prefix:  e.prefix,
		admin:   e.admin,
		cluster: true,
	}
}

// client returns a new cluster client as a node makes it, closed when t
// ends.
func (e *clusterEnv) client(t *testing.T) *goredis.ClusterClient {
	cc := redis.NewClusterClient(e.rc.Options())
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// clientWith is client with onNode called for each node's client.
func (e *clusterEnv) clientWith(t *testing.T, onNode func(*goredis.Client)) *goredis.ClusterClient {
	cc := redis.NewClusterClient(e.rc.Options())
	cc.OnNewNode(onNode)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// prefix returns t's key prefix; its keys are deleted from every master
// when t ends.
func (e *clusterEnv) prefix(t *testing.T) string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.prefixes[t]; ok {
		return p
	}
	p := "sbtest:" + testenv.Random(t)
	e.prefixes[t] = p
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := e.admin.(*goredis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			keys, err := c.Keys(ctx, p+":*").Result()
			if err != nil || len(keys) == 0 {
				return err
			}
			pipe := c.Pipeline()
			for _, k := range keys {
				pipe.Del(ctx, k) // one slot per command
			}
			_, err = pipe.Exec(ctx)
			return err
		})
		if err != nil && !strings.Contains(err.Error(), "refused") {
			t.Errorf("delete keys of %s: %v", p, err)
		}
	})
	return p
}

// tripHook counts the round trips of one node's client: a command alone or
// a pipeline.
type tripHook struct{ n *atomic.Uint64 }

func (h tripHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h tripHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h tripHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}
