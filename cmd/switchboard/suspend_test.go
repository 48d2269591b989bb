package main

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
)

// Suspending a user closes their connections on every node of a 3-node
// cluster at once, and no node lets them back in until it is lifted.
func TestClusterSuspendClosesEveryNode(t *testing.T) {
	pg, rd, prefix := clusterEnv(t)
	nodes := make([]*testServer, 3)
	for i := range nodes {
		nodes[i] = startServer(t, "--postgres", pg, "--redis", rd, "--redis-prefix", prefix, "--node-id", fmt.Sprintf("node%d", i+1))
	}
	ctx := ctxT(t)
	root := user(t, nodes[0], "root")
	grantAdmin(t, "root", "--postgres", pg)
	ned := user(t, nodes[0], "ned")
	token := ned.Token()
	var conns []*client.Conn
	for i, s := range nodes {
		conns = append(conns, dial(t, on(ned, s), fmt.Sprintf("tab-%d", i)))
	}
	bystander := dial(t, on(user(t, nodes[1], "ola"), nodes[2]), "ola")

	st, err := on(root, nodes[2]).Stats(ctx)
	if err != nil || len(st.Nodes) != 3 || st.Users != 3 {
		t.Fatalf("Stats = %+v, %v; want 3 nodes, 3 users", st, err)
	}

	if _, err := on(root, nodes[1]).Suspend(ctx, "ned", true); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		closed(t, c, 4002)
	}
	if err := bystander.Ping(ctx); err != nil {
		t.Fatalf("another user's connection: %v", err)
	}
	for _, s := range nodes {
		_, err := client.New(s.URL, client.WithSessionToken(token)).Conversations(ctx)
		wantCode(t, err, "unauthorized")
		_, err = client.New(s.URL).Login(ctx, "ned", "password-ned")
		wantCode(t, err, "forbidden")
	}
	if _, err := on(root, nodes[2]).Suspend(ctx, "ned", false); err != nil {
		t.Fatal(err)
	}
	again := login(t, nodes[2], "ned")
	dial(t, on(again, nodes[0]), "back")
}
