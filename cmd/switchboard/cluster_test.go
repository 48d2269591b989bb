package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/wire"
)

// clusterEnv gives a test its own PostgreSQL database and Redis key prefix.
func clusterEnv(t *testing.T) (pgURL, redisURL, prefix string) {
	t.Helper()
	addr := testenv.RedisAddr()
	return testenv.Postgres(t), "redis://" + addr + "/0", testenv.RedisPrefix(t, addr)
}

// startCluster starts n in-process nodes on one database and Redis prefix.
func startCluster(t *testing.T, n int, args ...string) []*testServer {
	t.Helper()
	pg, rd, prefix := clusterEnv(t)
	nodes := make([]*testServer, n)
	for i := range nodes {
		nodes[i] = startServer(t, append([]string{"--postgres", pg, "--redis", rd, "--redis-prefix", prefix,
			"--node-id", fmt.Sprintf("node%d", i+1)}, args...)...)
	}
	return nodes
}

// on returns c talking to node s (same token).
func on(c *client.Client, s *testServer) *client.Client {
	return client.New(s.URL, client.WithSessionToken(c.Token()))
}

// metric reads one unlabelled counter or gauge from a node's /metrics.
func metric(t *testing.T, s *testServer, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.Metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestClusterDirectMessageAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	alice, bob := user(t, nodes[0], "alice"), user(t, nodes[1], "bob")
	ac := dial(t, alice, "web")
	bc := dial(t, on(bob, nodes[2]), "phone") // bob's token works on any node
	if ac.Node() == bc.Node() {
		t.Fatalf("both on %s", ac.Node())
	}
	m, err := ac.Send(ctxT(t), client.SendRequest{ToUser: "bob", Text: "across nodes"})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, bc); got.ID != m.ID {
		t.Fatalf("bob got %+v", got)
	}
	r, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: "and back"})
	if err != nil {
		t.Fatal(err)
	}
	if got := nextMessage(t, ac); got.ID != r.ID || got.Seq != 2 {
		t.Fatalf("alice got %+v", got)
	}
	// Discovery hands out a live node's WebSocket URL.
	d, err := alice.Discover(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.WSURL, "ws://127.0.0.1:") || !strings.HasPrefix(d.Node, "node") {
		t.Fatalf("discover = %+v", d)
	}
}

func TestClusterGroupFanOutPerNode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		largeGroup string
		// Bus work per message: envelopes sent to inboxes, and topic publishes.
		sends, publishes float64
	}{
		// One envelope per other node per message, however many members.
		{"per node", "0", 2, 0},
		// Above the large-group size: one publish, whatever the nodes.
		{"topic", "50", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groupFanOut(t, tc.largeGroup, tc.sends, tc.publishes)
		})
	}
}

func groupFanOut(t *testing.T, largeGroup string, wantSends, wantPublishes float64) {
	const perNode = 100
	nodes := startCluster(t, 3, "--large-group", largeGroup)
	owner := user(t, nodes[0], "owner")
	g, err := owner.CreateGroup(ctxT(t), "big-room", "")
	if err != nil {
		t.Fatal(err)
	}
	var conns []*client.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 3*perNode)
	for i := 0; i < 3*perNode; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := nodes[i%3]
			c := client.New(s.URL)
			name := fmt.Sprintf("m%03d", i)
			if _, err := c.Signup(ctxT(t), name, "password-"+name, ""); err != nil {
				errs <- err
				return
			}
			if _, err := c.Login(ctxT(t), name, "password-"+name); err != nil {
				errs <- err
				return
			}
			if _, err := c.JoinGroup(ctxT(t), "big-room"); err != nil {
				errs <- err
				return
			}
			conn, err := c.Dial(ctxT(t), "web")
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}(i)
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
	// Drain the member-joined events so only messages remain to count.
	oc := dial(t, owner, "web")
	sends0 := metric(t, nodes[0], "switchboard_bus_sends_total")
	pubs0 := metric(t, nodes[0], "switchboard_bus_publishes_total")
	const messages = 5
	for i := 0; i < messages; i++ {
		if _, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprint("hello all ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range conns {
		got := 0
		for got < messages {
			if m := nextMessage(t, c); m.Conversation == g.ID {
				got++
			}
		}
	}
	sends := metric(t, nodes[0], "switchboard_bus_sends_total") - sends0
	pubs := metric(t, nodes[0], "switchboard_bus_publishes_total") - pubs0
	if sends != wantSends*messages || pubs != wantPublishes*messages {
		t.Fatalf("bus work for %d messages to %d members on 3 nodes: %v sends, %v publishes; want %v and %v per message",
			messages, 3*perNode+1, sends, pubs, wantSends, wantPublishes)
	}
	// Receipts take the same path, and reach the sender's other device.
	if err := conns[0].Receipt(ctxT(t), g.ID, messages, "read"); err != nil {
		t.Fatal(err)
	}
	if f := next(t, oc, wire.TypeReceiptEv); f.Seq != messages || f.Status != "read" {
		t.Fatalf("receipt = %+v", f)
	}
}

func TestClusterPresenceAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, "--presence-grace", "1s")
	carol, dave := user(t, nodes[0], "carol"), user(t, nodes[1], "dave")
	cc := dial(t, carol, "web")
	if _, err := cc.PresenceSubscribe(ctxT(t), []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	dc := dial(t, dave, "web")
	f := next(t, cc, wire.TypePresence)
	if f.UserName != "dave" || f.Online == nil || !*f.Online {
		t.Fatalf("presence = %+v", f)
	}
	u, err := carol.User(ctxT(t), "dave")
	if err != nil || u.Online == nil || !*u.Online {
		t.Fatalf("dave seen from node 1: %+v %v", u, err)
	}
	dc.Close()
	f = next(t, cc, wire.TypePresence)
	if f.Online == nil || *f.Online || f.LastSeen == nil || *f.LastSeen == 0 {
		t.Fatalf("offline presence = %+v", f)
	}
	u, err = carol.User(ctxT(t), "dave")
	if err != nil || u.Online == nil || *u.Online || u.LastSeen == nil || *u.LastSeen != *f.LastSeen {
		t.Fatalf("dave after leaving, from node 1: %+v %v", u, err)
	}
}

func TestClusterLogoutOnEveryNode(t *testing.T) {
	nodes := startCluster(t, 3)
	erin := user(t, nodes[0], "erin")
	c2 := dial(t, on(erin, nodes[1]), "tab-1")
	c3 := dial(t, on(erin, nodes[2]), "tab-2")
	token := erin.Token()
	if err := erin.Logout(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client.Conn{c2, c3} {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("connection on %s outlived its session", c.Node())
		}
		var ce *client.CloseError
		if !errors.As(c.Err(), &ce) || ce.Code != 4002 {
			t.Fatalf("close on %s = %v", c.Node(), c.Err())
		}
	}
	for _, s := range nodes {
		_, err := client.New(s.URL, client.WithSessionToken(token)).Conversations(ctxT(t))
		wantCode(t, err, "unauthorized")
	}
}

// Senders of one group on different nodes commit concurrently; every
// member must still get the group's messages pushed in seq order.
func TestClusterGroupOrderAcrossNodes(t *testing.T) {
	for _, largeGroup := range []string{"0", "5"} { // node-addressed envelopes, then the group topic
		t.Run("large-group="+largeGroup, func(t *testing.T) {
			// A long hold: the test is about order, not about how fast a
			// loaded machine carries a predecessor between nodes.
			nodes := startCluster(t, 3, "--large-group", largeGroup, "--reorder-wait", "10s")
			owner := user(t, nodes[0], "owner")
			g, err := owner.CreateGroup(ctxT(t), "order", "")
			if err != nil {
				t.Fatal(err)
			}
			var conns []*client.Conn
			for i := 0; i < 9; i++ {
				c := user(t, nodes[i%3], fmt.Sprintf("ord%d", i))
				if _, err := c.JoinGroup(ctxT(t), "order"); err != nil {
					t.Fatal(err)
				}
				conns = append(conns, dial(t, c, "web"))
			}
			const perSender = 150
			senders := conns[:3] // one on each node
			var wg sync.WaitGroup
			for _, c := range senders {
				wg.Add(1)
				go func(c *client.Conn) {
					defer wg.Done()
					sendMany(t, c, client.SendRequest{Conversation: g.ID, Text: "burst"}, perSender)
				}(c)
			}
			wg.Wait()
			total := 3 * perSender
			for i, c := range conns {
				want := total
				if i < 3 {
					want = total - perSender // not pushed its own messages
				}
				var last int64
				for got := 0; got < want; got++ {
					m := nextMessage(t, c)
					if m.Seq <= last {
						t.Fatalf("member %d: seq %d pushed after %d", i, m.Seq, last)
					}
					last = m.Seq
				}
			}
		})
	}
}

// TestClusterRemovedMemberStopsReceiving: removed on node 1, connected to
// node 2, the sender on node 3; with per-node envelopes and, with
// --large-group 2, on the group's topic.
func TestClusterRemovedMemberStopsReceiving(t *testing.T) {
	for _, large := range []string{"1000", "2"} {
		t.Run("large-group-"+large, func(t *testing.T) {
			nodes := startCluster(t, 3, "--large-group", large)
			for _, how := range []string{"remove", "ban"} {
				t.Run(how, func(t *testing.T) { removalStopsDelivery(t, nodes, how) })
			}
		})
	}
}

// TestClusterGroupAuthorization runs the authorization matrix with its
// users spread over three nodes.
func TestClusterGroupAuthorization(t *testing.T) {
	authorizationMatrix(t, startCluster(t, 3))
}
