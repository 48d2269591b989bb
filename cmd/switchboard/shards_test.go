package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/shard"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// startShardedCluster starts n nodes on a directory and nShards shard
// databases and one Redis prefix; it returns the nodes and the directory's
// URL.
func startShardedCluster(t *testing.T, n, nShards int, args ...string) ([]*testServer, string) {
	t.Helper()
	dir, rd, prefix := clusterEnv(t)
	base := []string{"--postgres", dir, "--redis", rd, "--redis-prefix", prefix}
	for range nShards {
		base = append(base, "--shard", testenv.Postgres(t))
	}
	nodes := make([]*testServer, n)
	for i := range nodes {
		nodes[i] = startServer(t, append(append([]string{"--node-id", fmt.Sprintf("node%d", i+1)}, base...), args...)...)
	}
	return nodes, dir
}

// TestShardedClusterDirectAndGroups runs two nodes on a directory and
// three shards: direct messages and groups across the nodes, history,
// search and sync after a reconnect, with the conversations spread over
// the shards.
func TestShardedClusterDirectAndGroups(t *testing.T) {
	nodes, dir := startShardedCluster(t, 2, 3)
	const nUsers = 6
	var (
		clients []*client.Client
		conns   []*client.Conn
	)
	for i := range nUsers {
		c := user(t, nodes[i%2], fmt.Sprintf("sh%d", i))
		clients = append(clients, c)
		conns = append(conns, dial(t, c, "web"))
	}
	// Direct: each user writes to the next, who is on the other node.
	for i := range nUsers {
		to := (i + 1) % nUsers
		m, err := conns[i].Send(ctxT(t), client.SendRequest{ToUser: fmt.Sprintf("sh%d", to), Text: fmt.Sprintf("direct walnut %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if got := nextMessage(t, conns[to]); got.ID != m.ID || got.Seq != 1 {
			t.Fatalf("sh%d got %+v; want %s with seq 1", to, got, m.ID)
		}
	}
	// Groups: every user in each; messages from both nodes reach everyone.
	const nGroups = 4
	var groups []string
	for g := range nGroups {
		gc, err := clients[g%nUsers].CreateGroup(ctxT(t), fmt.Sprintf("sharded-%d", g), "")
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, gc.ID)
		for i, c := range clients {
			if i != g%nUsers {
				if _, err := c.JoinGroup(ctxT(t), gc.Name); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for g, id := range groups {
		for k, from := range []int{0, 1} { // one sender on each node
			m, err := conns[from].Send(ctxT(t), client.SendRequest{Conversation: id, Text: fmt.Sprintf("group walnut %d %d", g, k)})
			if err != nil {
				t.Fatal(err)
			}
			if m.Seq != int64(k+1) {
				t.Fatalf("group %d message %d has seq %d", g, k, m.Seq)
			}
			for i, c := range conns {
				if i == from {
					continue
				}
				if got := nextMessage(t, c); got.ID != m.ID {
					t.Fatalf("sh%d got %+v; want %s", i, got, m.ID)
				}
			}
		}
	}

	// The conversations are spread over more than one shard.
	db, err := pgx.Connect(ctxT(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var used, mapped int
	if err := db.QueryRow(ctxT(t), `SELECT count(DISTINCT shard), count(*) FROM shard_map`).Scan(&used, &mapped); err != nil {
		t.Fatal(err)
	}
	if mapped != nUsers+nGroups || used < 2 {
		t.Errorf("shard_map has %d conversations on %d shards; want %d on 2 or 3", mapped, used, nUsers+nGroups)
	}

	// Lists, history and search, read on the other node.
	c0 := on(clients[0], nodes[1])
	convs, err := c0.Conversations(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != 2+nGroups {
		t.Fatalf("sh0 lists %d conversations; want %d", len(convs), 2+nGroups)
	}
	for _, id := range groups {
		ms, err := c0.Messages(ctxT(t), id, client.HistoryQuery{Limit: 10})
		if err != nil || len(ms) != 2 || ms[0].Seq != 1 || ms[1].Seq != 2 {
			t.Errorf("history of %s: %d messages, %v; want seqs 1, 2", id, len(ms), err)
		}
	}
	hits, err := c0.Search(ctxT(t), client.SearchQuery{Text: "walnut", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	// sh0 reads its two direct conversations (one message each) and two
	// messages in each group.
	if want := 2 + 2*nGroups; len(hits) != want {
		t.Errorf("search found %d messages; want %d", len(hits), want)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].ID >= hits[i-1].ID {
			t.Errorf("search results not newest first: %s after %s", hits[i].ID, hits[i-1].ID)
		}
	}
	page, err := c0.Search(ctxT(t), client.SearchQuery{Text: "walnut", Limit: 3, Before: hits[2].ID})
	if err != nil || len(page) != 3 || page[0].ID != hits[3].ID {
		t.Errorf("second search page: %d results, %v; want 3 from %s", len(page), err, hits[3].ID)
	}

	// A reconnect on the other node syncs every conversation from zero.
	conns[0].Close()
	again := dial(t, on(clients[0], nodes[1]), "web")
	cursors := map[string]int64{}
	for _, c := range convs {
		cursors[c.ID] = 0
	}
	synced, err := again.Sync(ctxT(t), cursors)
	if err != nil {
		t.Fatal(err)
	}
	if len(synced) != len(convs) {
		t.Errorf("sync acked %d conversations; want %d", len(synced), len(convs))
	}
	want := 2 + 2*nGroups
	for got := 0; got < want; got++ {
		nextMessage(t, again)
	}
}

// TestShardedClusterGroupAuthorization runs the authorization matrix on a
// sharded store.
func TestShardedClusterGroupAuthorization(t *testing.T) {
	nodes, _ := startShardedCluster(t, 2, 3)
	authorizationMatrix(t, nodes)
}

// TestAdminPartitions lists the partitions of a directory and two shards,
// then drops the current month: the messages sent in it are gone from the
// shard that held them.
func TestAdminPartitions(t *testing.T) {
	ctx := ctxT(t)
	dir, shards := testenv.Postgres(t), []string{testenv.Postgres(t), testenv.Postgres(t)}
	s, err := shard.Open(ctx, dir, shards)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := chat.User{ID: "u1", Username: "alice", CreatedAt: 1}
	if err := s.CreateUser(ctx, u, "h"); err != nil {
		t.Fatal(err)
	}
	var convs []string
	for i := range 4 {
		g := chat.Conversation{ID: fmt.Sprintf("g%d", i), Kind: chat.KindGroup, Name: fmt.Sprintf("g%d", i), CreatedAt: 1}
		if err := s.CreateGroup(ctx, g, u.ID); err != nil {
			t.Fatal(err)
		}
		b := []*chat.Append{{Message: chat.Message{ID: fmt.Sprintf("m%d", i), ConversationID: g.ID, SenderID: u.ID, TS: time.Now().UnixMilli(), Text: "now"}}}
		if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil {
			t.Fatalf("append: %v, %v", err, b[0].Err)
		}
		convs = append(convs, g.ID)
	}
	admin := func(args ...string) []partitionReport {
		t.Helper()
		var out, errb bytes.Buffer
		args = append([]string{"admin", "partitions", "--postgres", dir, "--shard", shards[0], "--shard", shards[1]}, args...)
		if err := run(ctx, args, func(string) string { return "" }, &out, &errb); err != nil {
			t.Fatalf("admin partitions %v: %v\n%s", args, err, errb.String())
		}
		var r []partitionReport
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			t.Fatalf("admin partitions output %q: %v", out.String(), err)
		}
		return r
	}
	now := time.Now().UTC()
	month := fmt.Sprintf("messages_y%04dm%02d", now.Year(), now.Month())
	list := admin()
	if len(list) != 3 || list[0].Database != "directory" || list[2].Database != "shard 1" {
		t.Fatalf("admin partitions reported %+v; want the directory and two shards", list)
	}
	for _, r := range list {
		var names []string
		for _, p := range r.Partitions {
			names = append(names, p.Name)
		}
		if !slices.Contains(names, month) || !slices.Contains(names, "messages_default") {
			t.Errorf("%s has partitions %v; want %s and messages_default", r.Database, names, month)
		}
	}
	next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	for _, r := range admin("--drop-before", next) {
		if !slices.Equal(r.Retired, []string{month}) {
			t.Errorf("%s retired %v; want [%s]", r.Database, r.Retired, month)
		}
	}
	for _, c := range convs {
		if ms, err := s.Messages(ctx, c, chat.HistoryQuery{Limit: 10}); err != nil || len(ms) != 0 {
			t.Errorf("history of %s after dropping its month: %d messages, %v; want none", c, len(ms), err)
		}
	}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"admin", "partitions", "--postgres", dir, "--drop-before", "2025"}, func(string) string { return "" }, &out, &errb); err == nil {
		t.Errorf("admin partitions --drop-before 2025 succeeded; want a bad month error")
	}
}
