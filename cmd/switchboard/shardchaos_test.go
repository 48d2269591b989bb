package main

// Chaos on the whole sharded deployment: node processes on a directory and
// three shard databases and a six-process Redis Cluster, one node and one
// Redis master SIGKILLed under traffic.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/wire"
)

// shardChaosWord is the word that a quarter of the messages hold, which the
// test searches for.
const shardChaosWord = "walnut"

// TestShardedChaos runs three node processes on a sharded PostgreSQL store
// (a directory and three shards) and a Redis Cluster, with clients spread
// over the nodes sending direct and group messages and retrying what was
// not acked with the same client_msg_id. Mid-traffic one node is SIGKILLed
// (its clients move to the others) and started again, then one Redis
// master is SIGKILLed (its replica takes over). Afterwards: every acked
// message is stored once, on the shard shard_map names, every
// conversation's seqs are 1..N, one sync brings every client up to date,
// and history and search read the same from two nodes as a single database
// would (what was acked, in seq order; the matching acked messages, newest
// first).
func TestShardedChaos(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	dirName, dirDB := procDatabase(t)
	args := []string{"--postgres", procDBURL("127.0.0.1:5432", dirName),
		"--redis", clusterURL(rc), "--redis-prefix", "sbshc" + testenv.Random(t)}
	var shardDBs []*pgxpool.Pool
	for range 3 {
		name, db := procDatabase(t)
		shardDBs = append(shardDBs, db)
		args = append(args, "--shard", procDBURL("127.0.0.1:5432", name))
	}
	// Each node on a port of its own, so that the killed one comes back
	// where its clients knew it.
	nodeArgs := make([][]string, 3)
	nodes := make([]*procNode, 3)
	for i := range nodes {
		nodeArgs[i] = append([]string{"--addr", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))}, args...)
		nodes[i] = startProcNode(t, fmt.Sprintf("shc-n%d", i), nodeArgs[i]...)
	}
	users := foUsers(t, "shc", 12, nodes)
	groups := []string{foGroup(t, users, "crew"), foGroup(t, users, "deck")}

	tr := startFoTraffic(t, users, 2, shardChaosPlan(users, groups))
	tr.waitAcked(t, 100)

	// A node dies; its clients come back on the others and send there.
	dead := nodes[1]
	dead.Kill()
	var victims []*foUser
	for _, u := range users {
		if u.nodes[0] == dead {
			victims = append(victims, u)
		}
	}
	waitReconnected(t, victims, 1, func(node string) bool { return node != dead.ID })
	tr.waitAcked(t, 60)
	// It comes back (same id and port). Its clients leave their stand-in
	// node; discovery names the least loaded, the restarted one, which
	// takes over some of them and carries traffic again.
	nodes[1] = startProcNode(t, dead.ID, nodeArgs[1]...)
	waitDiscovered(t, victims[0].api(nodes[0].URL), dead.ID)
	for _, u := range victims {
		u.mu.Lock()
		n := u.reconnects
		u.mu.Unlock()
		_ = u.current().Close()
		waitReconnected(t, []*foUser{u}, n+1, func(string) bool { return true })
	}
	var back []string
	for _, u := range victims {
		u.mu.Lock()
		back = append(back, u.name+" on "+u.node)
		u.mu.Unlock()
	}
	if !slices.ContainsFunc(back, func(s string) bool { return strings.HasSuffix(s, " on "+dead.ID) }) {
		t.Fatalf("no client of %s went back to it after its restart: %v", dead.ID, back)
	}
	tr.waitAcked(t, 60)

	// A Redis master dies; each node notices the cluster change by itself.
	killClusterMaster(t, rc, nodes)
	tr.waitAcked(t, 100)
	tr.Stop(t)

	// Every acked message once, gapless seqs, each conversation on the
	// shard that shard_map names, and on more than one shard in all.
	where := checkStores(t, shardDBs, users)
	checkShardMap(t, dirDB, where)

	// One sync from each client's cursors brings it up to date: nothing
	// else may sync for it now.
	tr.cancel()
	tr.keep.Wait()
	for _, u := range users {
		conn := u.current()
		if err := conn.Err(); err != nil {
			t.Fatalf("%s: connection down after the traffic: %v", u.name, err)
		}
		if _, err := conn.Sync(ctxT(t), u.trk.Cursors()); err != nil {
			t.Fatalf("%s: sync: %v", u.name, err)
		}
	}
	waitCaughtUpOn(t, shardDBs, users)
	wantNoHoles(t, users)

	var acked []wire.Message
	for _, u := range users {
		acked = slices.AppendSeq(acked, maps.Values(u.ackedMessages()))
	}
	checkShardedReads(t, shardDBs, users, acked, nodes[0], nodes[1])

	for _, n := range nodes {
		select {
		case <-n.exited:
			t.Errorf("node %s exited", n.ID)
		default:
		}
	}
	for _, u := range users {
		u.mu.Lock()
		t.Logf("%s: reconnects %d, resyncs %d, now on %s; send errors %v", u.name, u.reconnects, u.resyncs, u.node, u.sendErrs)
		u.mu.Unlock()
	}
}

// shardChaosPlan: every third message of user i goes to one of the groups,
// the others to user i+1; every fourth holds shardChaosWord.
func shardChaosPlan(users []*foUser, groups []string) func(u *foUser, k int) client.SendRequest {
	idx := map[string]int{}
	for i, u := range users {
		idx[u.name] = i
	}
	return func(u *foUser, k int) client.SendRequest {
		i := idx[u.name]
		word := "pecan"
		if k%4 == 0 {
			word = shardChaosWord
		}
		req := client.SendRequest{ClientMsgID: fmt.Sprintf("%s-%d", u.name, k), Text: fmt.Sprintf("%s #%d %s", u.name, k, word)}
		if k%3 == 1 {
			req.Conversation = groups[(i+k)%len(groups)]
		} else {
			req.ToUser = users[(i+1)%len(users)].name
		}
		return req
	}
}

// checkShardMap checks that each conversation's messages are on the shard
// that the directory's shard_map names, and that they are spread over more
// than one shard.
func checkShardMap(t *testing.T, dir *pgxpool.Pool, where map[string]int) {
	t.Helper()
	used := map[int]bool{}
	for conv, sh := range where {
		var mapped int
		if err := dir.QueryRow(ctxT(t), `SELECT shard FROM shard_map WHERE conversation_id = $1`, conv).Scan(&mapped); err != nil {
			t.Fatalf("shard_map of %s: %v", conv, err)
		}
		if mapped != sh {
			t.Errorf("conversation %s is on shard %d; shard_map says %d", conv, sh, mapped)
		}
		used[sh] = true
	}
	if len(used) < 2 {
		t.Errorf("%d conversations on %d shard(s); want them spread", len(where), len(used))
	}
}

// checkShardedReads checks history and search, each read through two
// nodes, against the acked messages: what a single database would answer.
func checkShardedReads(t *testing.T, shardDBs []*pgxpool.Pool, users []*foUser, acked []wire.Message, a, b *procNode) {
	t.Helper()
	byConv := map[string][]wire.Message{}
	for _, m := range acked {
		byConv[m.Conversation] = append(byConv[m.Conversation], m)
	}
	checked := map[string]bool{}
	for _, u := range users {
		convs, err := u.api(a.URL).Conversations(ctxT(t))
		if err != nil {
			t.Fatalf("%s: conversations: %v", u.name, err)
		}
		mine := map[string]bool{}
		for _, c := range convs {
			mine[c.ID] = true
			if checked[c.ID] {
				continue
			}
			checked[c.ID] = true
			want := slices.SortedFunc(slices.Values(byConv[c.ID]), func(x, y wire.Message) int { return int(x.Seq - y.Seq) })
			pa, pb := historyPages(t, u.api(a.URL), c.ID), historyPages(t, u.api(b.URL), c.ID)
			if !slices.EqualFunc(pa, pb, func(x, y []wire.Message) bool { return slices.EqualFunc(x, y, sameMessage) }) {
				t.Errorf("history of %s: %s and %s give other pages", c.ID, a.ID, b.ID)
			}
			if got := slices.Concat(pa...); !slices.EqualFunc(got, want, sameMessage) {
				t.Errorf("history of %s: %d messages %v; want the %d acked %v", c.ID, len(got), msgIDs(got), len(want), msgIDs(want))
			}
			if c.LastSeq != int64(len(want)) {
				t.Errorf("%s lists %s at seq %d; want %d", u.name, c.ID, c.LastSeq, len(want))
			}
		}
		// Search: the acked messages with the word in u's conversations,
		// newest first, from both nodes alike.
		var want []wire.Message
		for _, m := range acked {
			if mine[m.Conversation] && strings.Contains(m.Text, shardChaosWord) {
				want = append(want, m)
			}
		}
		slices.SortFunc(want, func(x, y wire.Message) int { return strings.Compare(y.ID, x.ID) })
		sa, sb := searchAll(t, u.api(a.URL)), searchAll(t, u.api(b.URL))
		if !slices.EqualFunc(sa, sb, sameMessage) {
			t.Errorf("%s: search on %s found %v, on %s %v", u.name, a.ID, msgIDs(sa), b.ID, msgIDs(sb))
		}
		if !slices.EqualFunc(sa, want, sameMessage) {
			t.Errorf("%s: search found %d %v; want the %d acked %v", u.name, len(sa), msgIDs(sa), len(want), msgIDs(want))
			found := map[string]bool{}
			for _, m := range sa {
				found[m.ID] = true
			}
			for _, m := range want {
				if !found[m.ID] {
					searchState(t, shardDBs, m.ID)
				}
			}
		}
	}
	if len(checked) != len(byConv) {
		t.Errorf("the users list %d conversations; messages were acked in %d", len(checked), len(byConv))
	}
}

// historyPages reads a conversation's whole history forward, a page of 25
// at a time.
func historyPages(t *testing.T, c *client.Client, conv string) [][]wire.Message {
	t.Helper()
	var pages [][]wire.Message
	var after int64
	for {
		page, err := c.Messages(ctxT(t), conv, client.HistoryQuery{After: after, Forward: true, Limit: 25})
		if err != nil {
			t.Fatalf("history of %s after %d: %v", conv, after, err)
		}
		if len(page) == 0 {
			return pages
		}
		pages = append(pages, page)
		after = page[len(page)-1].Seq
	}
}

// searchAll pages through every search result for shardChaosWord.
func searchAll(t *testing.T, c *client.Client) []wire.Message {
	t.Helper()
	var out []wire.Message
	before := ""
	for {
		page, err := c.Search(ctxT(t), client.SearchQuery{Text: shardChaosWord, Before: before, Limit: 40})
		if err != nil {
			t.Fatalf("search before %q: %v", before, err)
		}
		out = append(out, page...)
		if len(page) < 40 {
			return out
		}
		before = page[len(page)-1].ID
	}
}

// sameMessage compares what a read must give back of an acked message.
func sameMessage(x, y wire.Message) bool {
	return x.ID == y.ID && x.Conversation == y.Conversation && x.Seq == y.Seq && x.From == y.From && x.Text == y.Text
}

func msgIDs(ms []wire.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s/%d", m.ID, m.Seq)
	}
	return out
}

// waitReconnected waits until each user has reconnected at least n times
// and is connected to a node that ok accepts.
func waitReconnected(t *testing.T, users []*foUser, n int, ok func(node string) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, u := range users {
		for {
			u.mu.Lock()
			back := u.reconnects >= n && ok(u.node) && u.conn.Err() == nil
			node := u.node
			u.mu.Unlock()
			if back {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not reconnect (now on %s)", u.name, node)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// waitDiscovered waits until discovery through c names the node id (a
// node started a moment ago is named once its first registry entry is in).
func waitDiscovered(t *testing.T, c *client.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.Discover(ctxT(t))
		if err == nil && d.Node == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovery does not name %s: %+v, %v", id, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// searchState logs, for a message that search did not find, its search_id,
// whether message_search holds it, and the shard's indexer state.
func searchState(t *testing.T, shardDBs []*pgxpool.Pool, id string) {
	t.Helper()
	for i, db := range shardDBs {
		var sid, indexedTo, nextTo, nextXmax int64
		var indexed bool
		err := db.QueryRow(ctxT(t), `SELECT m.search_id, EXISTS (SELECT 1 FROM message_search x WHERE x.search_id = m.search_id),
			s.indexed_to, s.next_to, s.next_xmax FROM messages m, search_index s WHERE m.id = $1`, id).Scan(&sid, &indexed, &indexedTo, &nextTo, &nextXmax)
		if err == nil {
			t.Logf("message %s on shard %d: search_id %d, in message_search %v; indexed_to %d, next_to %d, next_xmax %d",
				id, i, sid, indexed, indexedTo, nextTo, nextXmax)
		}
	}
}
