package main

// Nodes on a Redis Cluster of real redis-server processes (three masters,
// three replicas), with the PostgreSQL store.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// clusterURL is the --redis URL of rc.
func clusterURL(rc *testenv.RedisCluster) string {
	return "redis-cluster://" + strings.Join(rc.Addrs(), ",")
}

// startNodesOn starts n in-process nodes on one new database, the Redis at
// redisURL and a new key prefix.
func startNodesOn(t *testing.T, n int, redisURL string, args ...string) []*testServer {
	t.Helper()
	pg := testenv.Postgres(t)
	prefix := "sbtest" + testenv.Random(t)
	nodes := make([]*testServer, n)
	for i := range nodes {
		nodes[i] = startServer(t, append([]string{"--postgres", pg, "--redis", redisURL, "--redis-prefix", prefix,
			"--node-id", fmt.Sprintf("node%d", i+1)}, args...)...)
	}
	return nodes
}

// Direct and group messages between users on three nodes of one Redis
// Cluster arrive, each conversation in order: the group routed by node,
// and as a large group on its topic (--large-group 2).
func TestRedisClusterDelivery(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	for _, large := range []string{"1000", "2"} {
		t.Run("large-group="+large, func(t *testing.T) {
			nodes := startNodesOn(t, 3, clusterURL(rc), "--large-group", large)
			clusterDelivery(t, nodes)
			var pubs float64
			for _, n := range nodes {
				pubs += metric(t, n, "switchboard_bus_publishes_total")
			}
			if topics := large == "2"; topics != (pubs > 0) {
				t.Errorf("%v topic publishes with --large-group %s", pubs, large)
			}
		})
	}
}

func clusterDelivery(t *testing.T, nodes []*testServer) {
	names := []string{"alice", "bob", "carol"}
	var users []*client.Client
	var conns []*client.Conn
	for i, n := range names {
		u := user(t, nodes[i], n)
		users = append(users, u)
		conns = append(conns, dial(t, u, "web"))
	}
	for i := range conns {
		for j := range i {
			if conns[i].Node() == conns[j].Node() {
				t.Fatalf("%s and %s both on %s", names[i], names[j], conns[i].Node())
			}
		}
	}
	g, err := users[0].CreateGroup(ctxT(t), "crew", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users[1:] {
		if _, err := u.JoinGroup(ctxT(t), "crew"); err != nil {
			t.Fatal(err)
		}
	}

	// Direct messages one way and the other, then the group from everyone.
	// The sending device does not get its own message pushed.
	const dms, groupMsgs = 20, 30
	type sent struct {
		id       string
		from, to int // to -1: the group
	}
	var all []sent
	for i := range dms {
		from, to := i%2, 1-i%2
		m, err := conns[from].Send(ctxT(t), client.SendRequest{ToUser: names[to], Text: fmt.Sprint("dm ", i)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{m.ID, from, to})
	}
	for i := range groupMsgs {
		m, err := conns[i%3].Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprint("all ", i)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{m.ID, i % 3, -1})
	}

	// Each device gets what was sent to it, each conversation in order.
	for i, c := range conns {
		var wantDM, wantGroup []string
		for _, m := range all {
			switch {
			case m.from == i:
			case m.to == i:
				wantDM = append(wantDM, m.id)
			case m.to == -1:
				wantGroup = append(wantGroup, m.id)
			}
		}
		var gotDM, gotGroup []string
		lastSeq := map[string]int64{}
		for len(gotDM)+len(gotGroup) < len(wantDM)+len(wantGroup) {
			m := nextMessage(t, c)
			if m.Seq <= lastSeq[m.Conversation] {
				t.Fatalf("%s: seq %d after %d in %s", names[i], m.Seq, lastSeq[m.Conversation], m.Conversation)
			}
			lastSeq[m.Conversation] = m.Seq
			if m.Conversation == g.ID {
				gotGroup = append(gotGroup, m.ID)
			} else {
				gotDM = append(gotDM, m.ID)
			}
		}
		if !slices.Equal(gotDM, wantDM) || !slices.Equal(gotGroup, wantGroup) {
			t.Fatalf("%s got direct %v and group %v;\nwant %v and %v", names[i], gotDM, gotGroup, wantDM, wantGroup)
		}
	}
}

// The Redis commands a node issues for a group message (presence Locate,
// then one envelope per other node holding members) grow with the nodes,
// not the members: on a cluster Locate is one script call per master that
// holds members' keys, in one round trip per master. Also measured: a
// direct message. The figures are in docs/benchmarks.md.
func TestRedisClusterCommandsPerMessage(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	for _, tc := range []struct{ name, url string }{
		{"redis", "redis://" + testenv.RedisAddr() + "/0"},
		{"redis-cluster", clusterURL(rc)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startNodesOn(t, 3, tc.url)
			owner := user(t, nodes[0], "owner")
			oc := dial(t, owner, "web")
			g, err := owner.CreateGroup(ctxT(t), "room", "")
			if err != nil {
				t.Fatal(err)
			}
			peer := user(t, nodes[1], "peer")
			pc := dial(t, peer, "web")
			dm := commandsPerMessage(t, nodes[0], oc, []*client.Conn{pc}, client.SendRequest{ToUser: "peer"})
			t.Logf("%s: a direct message across nodes: %d Redis commands", tc.name, dm)

			var conns []*client.Conn
			costs := map[int]int{}
			for _, size := range []int{10, 100, 200} {
				conns = append(conns, joinMembers(t, nodes, "room", len(conns), size-len(conns))...)
				costs[size] = commandsPerMessage(t, nodes[0], oc, conns, client.SendRequest{Conversation: g.ID})
				t.Logf("%s: a group message to %d members on 3 nodes: %d Redis commands", tc.name, size, costs[size])
			}
			// Two other nodes hold members: two envelopes, plus Locate:
			// one call on one server, one per master holding members on a
			// cluster.
			want := 3
			if tc.name == "redis-cluster" {
				want = len(rc.Masters()) + 2
			}
			if costs[100] != want || costs[200] != want || costs[10] > want {
				t.Errorf("commands per group message %v, want %d from 100 members on (and no more below)", costs, want)
			}
		})
	}
}

// commandsPerMessage sends req from conn on node s five times and returns
// the median count of Redis commands s issued for one message (presence
// and bus work), each counted once the message reached every receiver.
// The median, as a count may land in the next message's window (a node
// counts an envelope once its XADD returned, which may be after the
// receiver has it) and a periodic presence refresh may fall into one.
func commandsPerMessage(t *testing.T, s *testServer, conn *client.Conn, receivers []*client.Conn, req client.SendRequest) int {
	t.Helper()
	work := func() float64 {
		return metric(t, s, "switchboard_presence_commands_total") + metric(t, s, "switchboard_bus_sends_total") +
			metric(t, s, "switchboard_bus_publishes_total") + metric(t, s, "switchboard_bus_broadcasts_total")
	}
	var counts []int
	for i := range 5 {
		before := work()
		req.Text = fmt.Sprint("count ", i)
		m, err := conn.Send(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range receivers {
			for got := nextMessage(t, r); got.ID != m.ID; got = nextMessage(t, r) {
			}
		}
		counts = append(counts, int(work()-before))
	}
	slices.Sort(counts)
	return counts[len(counts)/2]
}

// joinMembers signs up n users, spread over nodes, who join the group and
// connect; it returns their connections once every member event is in.
func joinMembers(t *testing.T, nodes []*testServer, group string, from, n int) []*client.Conn {
	t.Helper()
	conns := make([]*client.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("m%03d", from+i)
			c := client.New(nodes[(from+i)%len(nodes)].URL)
			if _, err := c.Signup(ctxT(t), name, "password-"+name, ""); err != nil {
				errs <- err
				return
			}
			if _, err := c.Login(ctxT(t), name, "password-"+name); err != nil {
				errs <- err
				return
			}
			if _, err := c.JoinGroup(ctxT(t), group); err != nil {
				errs <- err
				return
			}
			conn, err := c.Dial(ctxT(t), "web")
			if err != nil {
				errs <- err
				return
			}
			conns[i] = conn
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// SIGKILL one master of the Redis Cluster under traffic between three node
// processes: its replica takes over, the nodes carry on without a restart,
// and no acknowledged message is lost; every client catches up.
func TestRedisClusterFailover(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	dbName, db := procDatabase(t)
	prefix := "sbrc" + testenv.Random(t)
	nodes := foNodesURL(t, 3, procDBURL("127.0.0.1:5432", dbName), clusterURL(rc), prefix)
	users := foUsers(t, "rc", 12, nodes)
	group := foGroup(t, users, "crew")

	tr := startFoTraffic(t, users, 2, foPlan(users, group))
	tr.waitAcked(t, 150)
	killClusterMaster(t, rc, nodes)
	// Sends go on through and after the failover: each ends acked or
	// failed with unavailable (anything else fails checkStore).
	tr.waitAcked(t, 150)
	tr.Stop(t)
	checkStore(t, db, users)
	// A last sync from each client's cursors, as after any Redis outage:
	// a message routed while its recipient's presence slot was failing
	// over is not pushed across nodes, and with no later message to reveal
	// the gap the client would not know to ask.
	finalSync(t, users)
	waitCaughtUp(t, db, users)
	wantNoHoles(t, users)
	for _, n := range nodes {
		select {
		case <-n.exited:
			t.Errorf("node %s exited", n.ID)
		default:
		}
		t.Logf("%s log lines about Redis:\n%s", n.ID, redisLogLines(n.logs.String()))
	}
}

// redisLogLines keeps the log lines that mention Redis.
func redisLogLines(log string) string {
	var out []string
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(line, "Redis") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// killClusterMaster SIGKILLs one master of rc, waits until a replica
// serves its slots, and then until each node has noticed the master go
// and the cluster come back, by itself (redis.Watch).
func killClusterMaster(t testing.TB, rc *testenv.RedisCluster, nodes []*procNode) {
	t.Helper()
	rc.Node(rc.Masters()[0]).Kill()
	rc.WaitOK()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range nodes {
		for {
			lines := redisLogLines(n.logs.String())
			if strings.Contains(lines, "Redis available again") || strings.Contains(lines, "Redis server changed") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s logged no Redis change:\n%s", n.ID, lines)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
