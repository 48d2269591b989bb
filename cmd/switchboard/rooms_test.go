package main

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/gateway"
	"github.com/switchboard-chat/switchboard/wire"
)

// nextRoom returns the next room frame.
func nextRoom(t *testing.T, c *client.Conn) (count int, user, event string) {
	t.Helper()
	f := next(t, c, wire.TypeRoom)
	if f.OnlineCount == nil {
		t.Fatalf("room frame without a count: %+v", f)
	}
	return *f.OnlineCount, f.UserName, f.Event
}

// roomPresence: a watcher learns the room's online count and each change,
// from members on any node; removal, unwatch and blocks end what it hears.
func roomPresence(t *testing.T, servers []*testServer) {
	at := func(i int) *testServer { return servers[i%len(servers)] }
	owner := user(t, at(0), "rp-owner")
	m1, m2, m3 := user(t, at(1), "rp-one"), user(t, at(2), "rp-two"), user(t, at(1), "rp-three")
	g, err := owner.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: "room-presence"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"rp-one", "rp-two", "rp-three"} {
		if _, err := owner.AddMember(ctxT(t), "room-presence", u); err != nil {
			t.Fatal(err)
		}
	}
	oc := dial(t, owner, "web")
	c2 := dial(t, m2, "web")
	room, err := oc.Watch(ctxT(t), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if room.Online != 2 || !slices.Equal(room.Users, []string{"rp-owner", "rp-two"}) {
		t.Fatalf("watch = %+v; want 2 online, rp-owner and rp-two", room)
	}
	again, err := oc.Watch(ctxT(t), g.ID)
	if err != nil || again.Online != 2 {
		t.Fatalf("watching twice = %+v, %v", again, err)
	}

	c1 := dial(t, m1, "web")
	if n, u, ev := nextRoom(t, oc); n != 3 || u != "rp-one" || ev != "online" {
		t.Fatalf("room frame %d %s %s; want 3 rp-one online", n, u, ev)
	}
	quiet(t, oc, wire.TypeRoom) // one frame per change, even when watched twice
	c1.Close()
	if n, u, ev := nextRoom(t, oc); n != 2 || u != "rp-one" || ev != "offline" {
		t.Fatalf("room frame %d %s %s; want 2 rp-one offline", n, u, ev)
	}
	// A removed member no longer counts, and its own watch ends.
	if _, err := c2.Watch(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	if err := owner.RemoveMember(ctxT(t), "room-presence", "rp-two"); err != nil {
		t.Fatal(err)
	}
	if n, u, ev := nextRoom(t, oc); n != 1 || u != "rp-two" || ev != "offline" {
		t.Fatalf("room frame %d %s %s; want 1 rp-two offline", n, u, ev)
	}
	dial(t, m1, "web")
	if n, _, _ := nextRoom(t, oc); n != 2 {
		t.Fatalf("count %d; want 2", n)
	}
	quiet(t, c2, wire.TypeRoom)
	// One who blocks the watcher counts but is not named to it.
	if err := m3.Block(ctxT(t), "rp-owner"); err != nil {
		t.Fatal(err)
	}
	dial(t, m3, "web")
	quiet(t, oc, wire.TypeRoom)
	room, err = oc.Watch(ctxT(t), g.ID)
	if err != nil || room.Online != 3 || slices.Contains(room.Users, "rp-three") {
		t.Fatalf("watch with a blocker online = %+v, %v; want 3 online, rp-three unnamed", room, err)
	}
	if err := oc.Unwatch(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	dial(t, m2, "web") // not a member: nothing to tell anyway
	c1b := dial(t, m1, "phone")
	c1b.Close()
	quiet(t, oc, wire.TypeRoom)
}

func TestRoomPresence(t *testing.T) {
	roomPresence(t, []*testServer{startServer(t)})
}

func TestClusterRoomPresence(t *testing.T) {
	roomPresence(t, startCluster(t, 3))
}

// TestRoomLimits crosses the room limits: at most 100 watched rooms per
// connection, and a watch names at most 100 online users (but counts all).
func TestRoomLimits(t *testing.T) {
	s := startServer(t)
	owner := user(t, s, "rl-owner")
	oc := dial(t, owner, "web")
	var first string
	for i := range gateway.MaxWatchedRooms + 1 {
		g, err := owner.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: fmt.Sprintf("rl-room-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = g.ID
		}
		_, err = oc.Watch(ctxT(t), g.ID)
		if i < gateway.MaxWatchedRooms && err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
		if i == gateway.MaxWatchedRooms {
			wantCode(t, err, "too_large")
		}
	}
	// Watching one already watched is still fine at the limit.
	if _, err := oc.Watch(ctxT(t), first); err != nil {
		t.Fatalf("re-watch at the limit: %v", err)
	}
	for i := range chat.MaxRoomUsers + 1 {
		name := fmt.Sprintf("rl-m%03d", i)
		c := user(t, s, name)
		if _, err := owner.AddMember(ctxT(t), "rl-room-0", name); err != nil {
			t.Fatal(err)
		}
		dial(t, c, "web")
	}
	room, err := oc.Watch(ctxT(t), first)
	if err != nil {
		t.Fatal(err)
	}
	if room.Online != chat.MaxRoomUsers+2 || len(room.Users) != chat.MaxRoomUsers {
		t.Fatalf("watch: %d online, %d named; want %d and %d", room.Online, len(room.Users), chat.MaxRoomUsers+2, chat.MaxRoomUsers)
	}
}
