package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/push/pushtest"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestClusterPushOutboxNodeKilled: three node processes on PostgreSQL and
// Redis; messages are sent through each, and one node is SIGKILLed while
// their pushes are still in the outbox (the grace has not passed). The
// two left push each (message, device) exactly once, the dead node's
// messages included.
func TestClusterPushOutboxNodeKilled(t *testing.T) {
	dbName, db := procDatabase(t)
	prefix := testenv.RedisPrefix(t, testenv.RedisAddr())
	nodes := foNodes(t, 3, procDBURL("127.0.0.1:5432", dbName), testenv.RedisAddr(), prefix,
		append([]string{"--presence-grace", "4s"}, pushArgs...)...)
	ps := pushtest.NewServer(t)
	srv := &testServer{URL: nodes[0].URL}
	alice, bob := user(t, srv, "alice"), user(t, srv, "bob")
	subscribe(t, &testServer{URL: nodes[1].URL}, ps, alice, ps.Subscribe(t, "laptop"))
	subscribe(t, &testServer{URL: nodes[2].URL}, ps, alice, ps.Subscribe(t, "phone"))
	const perNode = 10
	for i, n := range nodes {
		bc, err := client.New(n.URL, client.WithSessionToken(bob.Token())).Dial(ctxT(t), fmt.Sprint("dev", i))
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perNode; j++ {
			if _, err := bc.Send(ctxT(t), client.SendRequest{ToUser: "alice", Text: fmt.Sprint("m", i, j)}); err != nil {
				t.Fatal(err)
			}
		}
		bc.Close()
	}
	count := func(table string) int {
		var n int
		if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if out, q := count("push_outbox"), count("push_queue"); out != 3*perNode || q != 0 {
		t.Fatalf("before the kill: %d outbox entries, %d queued; want %d and 0 (the grace has not passed)", out, q, 3*perNode)
	}
	nodes[0].Kill()

	const want = 3 * perNode * 2
	deadline := time.Now().Add(30 * time.Second)
	for len(ps.Got()) < want || count("push_outbox") != 0 || count("push_queue") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pushes, %d outbox entries, %d queued after 30s; want %d, 0, 0",
				len(ps.Got()), count("push_outbox"), count("push_queue"), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if errs := ps.Errors(); len(errs) > 0 {
		t.Fatalf("push service refused pushes: %v", errs)
	}
	got := ps.Got()
	seen := map[string]int{}
	for i, p := range payloads(t, got) {
		seen[fmt.Sprint(got[i].Subscription, "/", p.Seq)]++
	}
	if len(got) != want || len(seen) != want {
		t.Fatalf("%d pushes, %d distinct (device, seq); want %d of each: %v", len(got), len(seen), want, seen)
	}
}
