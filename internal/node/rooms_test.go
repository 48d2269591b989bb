package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
)

// A watched room counts its online members from presence and member
// events, one room event per change; an unwatched room costs nothing.
func TestRoomCounts(t *testing.T) {
	d := keep(chat.EventRoom, func(ev *chat.Event) chat.RoomEvent { return *ev.Room })
	svc, _, _ := setup(t, inmem.NewBus("n1"), 0, d)
	ctx := context.Background()
	owner, ann, ben, cat := signup(t, svc, "owner"), signup(t, svc, "ann"), signup(t, svc, "ben"), signup(t, svc, "cat")
	g, err := svc.CreateGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"ann", "cat"} {
		if _, err := svc.AddToGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", u); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Connected(ctx, owner); err != nil {
		t.Fatal(err)
	}
	snap, err := svc.Watch(ctx, owner, g.ID)
	if err != nil || snap.Online != 1 || len(snap.Users) != 1 || snap.Users[0] != "owner" {
		t.Fatalf("watch = %+v, %v; want the owner online", snap, err)
	}
	_, err = svc.Watch(ctx, ben, g.ID)
	if chat.ErrorCode(err) != chat.EForbidden {
		t.Fatalf("a non-member's watch: %v; want forbidden", err)
	}
	if err := svc.Connected(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if err := svc.Connected(ctx, ben); err != nil { // not a member: no change
		t.Fatal(err)
	}
	evs := d.wait(t, 1)
	want := chat.RoomEvent{ConversationID: g.ID, Online: 2, UserID: ann.UserID, Username: "ann", Event: chat.RoomOnline}
	if evs[0] != want {
		t.Fatalf("room event %+v; want %+v", evs[0], want)
	}
	// ben, online, is added: he counts at once; ann is removed: she goes.
	if _, err := svc.AddToGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", "ben"); err != nil {
		t.Fatal(err)
	}
	if err := svc.RemoveFromGroup(ctx, chat.Session{UserID: owner.UserID, Username: owner.Username}, "room", "ann"); err != nil {
		t.Fatal(err)
	}
	evs = d.wait(t, 3)
	if evs[1].Online != 3 || evs[1].Username != "ben" || evs[1].Event != chat.RoomOnline ||
		evs[2].Online != 2 || evs[2].Username != "ann" || evs[2].Event != chat.RoomOffline {
		t.Fatalf("room events %+v; want ben online (3), then ann offline (2)", evs[1:])
	}
	// Unwatched, presence changes make no room events: cat, a member,
	// comes online unannounced to the room.
	svc.Unwatch(g.ID)
	if err := svc.Connected(ctx, cat); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(d.wait(t, 3)); n != 3 {
		t.Fatalf("%d room events after unwatch; want none more", n-3)
	}
}
