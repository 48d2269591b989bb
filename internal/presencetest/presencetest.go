// Package presencetest is the conformance suite every chat.Presence runs.
package presencetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Opener returns the Presence of node. Presences opened within one test
// share one backing state; different tests do not. The suite opens each
// node at most once per test.
type Opener func(t *testing.T, node string) chat.Presence

// Run runs the suite. multiNode says that presences of different nodes
// share state (a cluster implementation); without it only one node is
// used and the cross-node cases are skipped.
func Run(t *testing.T, open Opener, multiNode bool) {
	t.Run("ConnectCountsDevices", func(t *testing.T) {
		t.Parallel()
		p := open(t, "n1")
		for i, want := range []int{1, 2, 3} {
			if got := mustConnect(t, p, "alice", fmt.Sprintf("c%d", i)); got != want {
				t.Fatalf("connection %d: Connect reports %d; want %d", i, got, want)
			}
		}
		if got := mustConnect(t, p, "alice", "c0"); got != 3 {
			t.Fatalf("the same connection again: %d; want 3", got)
		}
		if got := mustConnect(t, p, "bob", "c9"); got != 1 {
			t.Fatalf("another user: %d; want 1", got)
		}
		if !multiNode {
			return
		}
		if got := mustConnect(t, open(t, "n2"), "alice", "c3"); got != 4 {
			t.Fatalf("on a second node: %d; want 4 over both", got)
		}
	})
	t.Run("DisconnectCountsDevices", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		p := open(t, "n1")
		mustConnect(t, p, "alice", "c1")
		mustConnect(t, p, "alice", "c2")
		mustConnect(t, p, "bob", "c3")
		if got := mustDisconnect(t, p, "alice", "c1"); got != 1 {
			t.Fatalf("remaining after first disconnect = %d, want 1", got)
		}
		if got := mustDisconnect(t, p, "alice", "c2"); got != 0 {
			t.Fatalf("remaining after last disconnect = %d, want 0", got)
		}
		wantOnline(t, ctx, p, map[string]bool{"alice": false, "bob": true})
	})

	t.Run("ConnectTwiceCountsOnce", func(t *testing.T) {
		t.Parallel()
		p := open(t, "n1")
		mustConnect(t, p, "alice", "c1")
		mustConnect(t, p, "alice", "c1")
		if got := mustDisconnect(t, p, "alice", "c1"); got != 0 {
			t.Fatalf("remaining = %d, want 0", got)
		}
	})

	t.Run("DisconnectUnknown", func(t *testing.T) {
		t.Parallel()
		p := open(t, "n1")
		if got := mustDisconnect(t, p, "ghost", "c1"); got != 0 {
			t.Fatalf("remaining for a user never connected = %d, want 0", got)
		}
		mustConnect(t, p, "alice", "c1")
		if got := mustDisconnect(t, p, "alice", "nope"); got != 1 {
			t.Fatalf("remaining after disconnecting an unknown connection = %d, want 1", got)
		}
	})

	t.Run("LocateSingleNode", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		p := open(t, "n1")
		mustConnect(t, p, "alice", "c1")
		mustConnect(t, p, "alice", "c2")
		mustConnect(t, p, "bob", "c3")
		mustConnect(t, p, "carol", "c4")
		mustDisconnect(t, p, "carol", "c4")
		wantLocate(t, ctx, p, []string{"alice", "bob", "carol", "dave"}, map[string][]string{
			"n1": {"alice", "bob"},
		})
	})

	t.Run("LocateNobody", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		p := open(t, "n1")
		wantLocate(t, ctx, p, nil, map[string][]string{})
		wantLocate(t, ctx, p, []string{"alice", "bob"}, map[string][]string{})
		wantOnline(t, ctx, p, map[string]bool{"alice": false})
	})

	t.Run("ManyUsers", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		nodes := []string{"n1"}
		if multiNode {
			nodes = []string{"n1", "n2", "n3"}
		}
		ps := make([]chat.Presence, len(nodes))
		for i, n := range nodes {
			ps[i] = open(t, n)
		}
		want := map[string][]string{}
		var ids []string
		online := map[string]bool{}
		for i := range 1500 {
			id := fmt.Sprintf("user%04d", i)
			ids = append(ids, id)
			if i%3 == 0 {
				continue // offline
			}
			k := i % len(nodes)
			mustConnect(t, ps[k], id, "conn-"+id)
			want[nodes[k]] = append(want[nodes[k]], id)
			online[id] = true
		}
		wantLocate(t, ctx, ps[0], ids, want)
		got, err := ps[len(ps)-1].Online(ctx, ids)
		if err != nil {
			t.Fatalf("Online: %v", err)
		}
		for _, id := range ids {
			if got[id] != online[id] {
				t.Fatalf("Online[%s] = %v, want %v", id, got[id], online[id])
			}
		}
	})

	if !multiNode {
		return
	}

	t.Run("RemainingAcrossNodes", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		a, b := open(t, "n1"), open(t, "n2")
		mustConnect(t, a, "alice", "c1")
		mustConnect(t, b, "alice", "c2")
		mustConnect(t, b, "alice", "c3")
		if got := mustDisconnect(t, a, "alice", "c1"); got != 2 {
			t.Fatalf("remaining after disconnect on n1 = %d, want 2 (on n2)", got)
		}
		wantLocate(t, ctx, a, []string{"alice"}, map[string][]string{"n2": {"alice"}})
		wantOnline(t, ctx, a, map[string]bool{"alice": true})
		if got := mustDisconnect(t, b, "alice", "c2"); got != 1 {
			t.Fatalf("remaining = %d, want 1", got)
		}
		if got := mustDisconnect(t, b, "alice", "c3"); got != 0 {
			t.Fatalf("remaining = %d, want 0", got)
		}
		wantOnline(t, ctx, a, map[string]bool{"alice": false})
	})

	t.Run("SameConnIDOnTwoNodes", func(t *testing.T) {
		t.Parallel()
		a, b := open(t, "n1"), open(t, "n2")
		mustConnect(t, a, "alice", "c1")
		mustConnect(t, b, "alice", "c1")
		if got := mustDisconnect(t, a, "alice", "c1"); got != 1 {
			t.Fatalf("remaining = %d, want 1: connection ids are per node", got)
		}
	})

	t.Run("LocateGroupsByNode", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		a, b, c := open(t, "n1"), open(t, "n2"), open(t, "n3")
		mustConnect(t, a, "alice", "c1")
		mustConnect(t, a, "bob", "c2")
		mustConnect(t, b, "carol", "c3")
		mustConnect(t, b, "alice", "c4") // alice has devices on two nodes
		mustConnect(t, c, "erin", "c5")
		mustDisconnect(t, c, "erin", "c5")
		users := []string{"alice", "bob", "carol", "dave", "erin"}
		want := map[string][]string{"n1": {"alice", "bob"}, "n2": {"alice", "carol"}}
		for _, p := range []chat.Presence{a, b, c} {
			wantLocate(t, ctx, p, users, want)
		}
		wantOnline(t, ctx, c, map[string]bool{"alice": true, "bob": true, "carol": true, "dave": false, "erin": false})
	})
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustConnect(t *testing.T, p chat.Presence, user, conn string) int {
	t.Helper()
	n, err := p.Connect(testContext(t), user, conn)
	if err != nil {
		t.Fatalf("Connect(%s, %s): %v", user, conn, err)
	}
	return n
}

func mustDisconnect(t *testing.T, p chat.Presence, user, conn string) int {
	t.Helper()
	n, err := p.Disconnect(testContext(t), user, conn)
	if err != nil {
		t.Fatalf("Disconnect(%s, %s): %v", user, conn, err)
	}
	return n
}

// wantLocate checks Locate(users) against want; the order of users within
// a node is not part of the contract.
func wantLocate(t *testing.T, ctx context.Context, p chat.Presence, users []string, want map[string][]string) {
	t.Helper()
	got, err := p.Locate(ctx, users)
	if err != nil {
		t.Fatalf("Locate: %v", err)
	}
	norm := func(m map[string][]string) map[string][]string {
		out := make(map[string][]string, len(m))
		for k, v := range m {
			if len(v) == 0 {
				continue
			}
			out[k] = slices.Sorted(slices.Values(v))
		}
		return out
	}
	g, w := norm(got), norm(want)
	if !maps.EqualFunc(g, w, slices.Equal) {
		t.Fatalf("Locate(%d users):\n got %v\nwant %v", len(users), summary(g), summary(w))
	}
	for node, us := range got {
		if len(us) == 0 {
			t.Fatalf("Locate lists node %q with no users", node)
		}
	}
}

func summary(m map[string][]string) string {
	out := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if len(v) > 6 {
			out += fmt.Sprintf("%s: %d users %v... ", k, len(v), v[:6])
			continue
		}
		out += fmt.Sprintf("%s: %v ", k, v)
	}
	return "{" + out + "}"
}

func wantOnline(t *testing.T, ctx context.Context, p chat.Presence, want map[string]bool) {
	t.Helper()
	users := slices.Sorted(maps.Keys(want))
	got, err := p.Online(ctx, users)
	if err != nil {
		t.Fatalf("Online: %v", err)
	}
	for _, u := range users {
		if got[u] != want[u] {
			t.Errorf("Online[%s] = %v, want %v", u, got[u], want[u])
		}
	}
}
