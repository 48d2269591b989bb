package main

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// lifeGroup makes a group with one member per name, member i on node
// i%len(nodes), each with a connected device; the first member sends one
// message to it.
func lifeGroup(t *testing.T, nodes []*testServer, group string, names ...string) ([]*client.Client, []*client.Conn, wire.Message) {
	t.Helper()
	var apis []*client.Client
	var conns []*client.Conn
	var conv string
	for i, n := range names {
		c := user(t, nodes[i%len(nodes)], n)
		if i == 0 {
			g, err := c.CreateGroup(ctxT(t), group, "")
			if err != nil {
				t.Fatal(err)
			}
			conv = g.ID
		} else if _, err := c.JoinGroup(ctxT(t), group); err != nil {
			t.Fatal(err)
		}
		apis = append(apis, c)
		conns = append(conns, dial(t, c, "web"))
	}
	m, err := conns[0].Send(ctxT(t), client.SendRequest{Conversation: conv, Text: "the plan"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range conns[1:] {
		if got := nextMessage(t, c); got.ID != m.ID {
			t.Fatalf("got %+v; want the plan", got)
		}
	}
	return apis, conns, m
}

// TestClusterUpdatesInRevOrder: members on three nodes edit and react to
// one message at once; devices on every node get every update once, in rev
// order, with no gap.
func TestClusterUpdatesInRevOrder(t *testing.T) {
	nodes := startCluster(t, 3, "--reorder-wait", "10s")
	_, conns, m := lifeGroup(t, nodes, "revs", "alice", "bob", "carol", "dave", "erin", "frank")
	const perActor = 25
	actors, watchers := conns[:3], conns[3:] // one of each on every node
	var wg sync.WaitGroup
	for i, c := range actors {
		wg.Go(func() {
			for k := range perActor {
				var err error
				switch i {
				case 0:
					_, err = c.Edit(ctxT(t), m.ID, fmt.Sprintf("the plan, take %d", k))
				case 1:
					_, err = c.React(ctxT(t), m.ID, "👍", k%2 == 0)
				default:
					_, err = c.React(ctxT(t), m.ID, "🎉", k%2 == 0)
				}
				if err != nil {
					t.Errorf("actor %d change %d: %v", i, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	total := int64(len(actors) * perActor) // every change changes something
	for i, c := range append(watchers, actors...) {
		want := total
		if i >= len(watchers) {
			want = total - perActor // an actor's own changes come as acks
		}
		var tr client.Tracker
		var last int64
		for got := int64(0); got < want; got++ {
			f := nextUpdate(t, c)
			if f.Rev <= last {
				t.Fatalf("device %d on %s: rev %d after %d", i, c.Node(), f.Rev, last)
			}
			last = f.Rev
			tr.ObserveUpdate(f.Conversation, f.Rev)
		}
		if i < len(watchers) {
			if st := tr.Stats(); st.UpdateGaps != 0 || st.UpdateDups != 0 || tr.Rev(m.Conversation) != total {
				t.Errorf("watcher %d on %s: stats %+v, rev %d; want revs 1..%d", i, c.Node(), st, tr.Rev(m.Conversation), total)
			}
		}
	}
}

// TestClusterConcurrentReactions: two devices on different nodes react
// with the same emoji at once, in opposite orders; every node ends with the
// same reactions, and the last update each device got is that state.
func TestClusterConcurrentReactions(t *testing.T) {
	nodes := startCluster(t, 3, "--reorder-wait", "10s")
	apis, conns, m := lifeGroup(t, nodes, "reacts", "alice", "bob", "carol")
	emoji := []string{"👍", "🎉", "❤️", "😂", "🚀", "👀", "🙏", "🔥"}
	var wg sync.WaitGroup
	for i, c := range conns[1:] {
		wg.Go(func() {
			for k := range emoji {
				e := emoji[k]
				if i == 1 {
					e = emoji[len(emoji)-1-k]
				}
				if _, err := c.React(ctxT(t), m.ID, e, true); err != nil {
					t.Errorf("react %s: %v", e, err)
				}
			}
		})
	}
	wg.Wait()
	var want []wire.Reaction
	for i, api := range apis {
		h, err := on(api, nodes[(i+1)%3]).Messages(ctxT(t), m.Conversation, client.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		got := h[0].Reactions
		if len(got) != len(emoji) {
			t.Fatalf("%d reactions; want %d", len(got), len(emoji))
		}
		for _, r := range got {
			if r.Count != 2 || len(r.Users) != 2 {
				t.Errorf("%s: %+v; want bob and carol", r.Emoji, r)
			}
		}
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("node %d has %+v; node 1 has %+v", (i+1)%3+1, got, want)
		}
	}
	// alice watched: she got all 16 updates, the last one the final state.
	var last wire.ServerFrame
	for range 2 * len(emoji) {
		last = nextUpdate(t, conns[0])
	}
	if last.Rev != int64(2*len(emoji)) || !reflect.DeepEqual(last.Msg.Reactions, want) {
		t.Errorf("alice's last update rev %d %+v; want rev %d %+v", last.Rev, last.Msg.Reactions, 2*len(emoji), want)
	}
}
