package chat_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func presenceOf(userID string, online bool) func(chat.Event) bool {
	return func(ev chat.Event) bool {
		return ev.Kind == chat.EventPresence && ev.Presence.UserID == userID && ev.Presence.Online == online
	}
}

func TestPresenceGrace(t *testing.T) {
	ctx := context.Background()
	t.Run("back within the grace period: no announcement", func(t *testing.T) {
		c := newCore(t, options{grace: time.Hour})
		alice := c.user(t, "alice", true)
		c.got.wait(t, "online", presenceOf(alice.UserID, true))
		c.svc.Disconnected(ctx, alice)
		if err := c.svc.Connected(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if n := c.got.count(presenceOf(alice.UserID, false)); n != 0 {
			t.Fatalf("announced offline %d times", n)
		}
		if n := c.got.count(presenceOf(alice.UserID, true)); n != 1 {
			t.Fatalf("announced online %d times; a return within the grace is not news", n)
		}
	})
	t.Run("a second device keeps the user online", func(t *testing.T) {
		c := newCore(t, options{grace: time.Millisecond})
		alice := c.user(t, "alice", true)
		phone := alice
		phone.ConnID = "n1/alice-phone"
		if err := c.svc.Connected(ctx, phone); err != nil {
			t.Fatal(err)
		}
		c.svc.Disconnected(ctx, alice)
		// Closing the phone now makes an offline announcement due; it
		// must be the only one, so none came from the first close.
		c.svc.Disconnected(ctx, phone)
		c.got.wait(t, "offline", presenceOf(alice.UserID, false))
		if n := c.got.count(presenceOf(alice.UserID, false)); n != 1 {
			t.Fatalf("announced offline %d times", n)
		}
	})
	t.Run("gone past the grace period: offline with last seen", func(t *testing.T) {
		c := newCore(t, options{grace: time.Millisecond})
		alice := c.user(t, "alice", true)
		c.svc.Disconnected(ctx, alice)
		ev := c.got.wait(t, "offline", presenceOf(alice.UserID, false))
		if ev.Presence.LastSeen == 0 {
			t.Fatal("offline announcement without last_seen")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			u, err := c.store.UserByID(ctx, alice.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if u.LastSeen == ev.Presence.LastSeen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stored last_seen %d, announced %d", u.LastSeen, ev.Presence.LastSeen)
			}
			time.Sleep(time.Millisecond)
		}
	})
	t.Run("a shutdown flushes last seen of users still in their grace", func(t *testing.T) {
		c := newCore(t, options{grace: time.Hour})
		alice := c.user(t, "alice", true)
		c.svc.Disconnected(ctx, alice)
		c.svc.FlushPresence(ctx)
		u, err := c.store.UserByID(ctx, alice.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if u.LastSeen != c.clock.now().UnixMilli() {
			t.Fatalf("last_seen %d after the flush, want %d", u.LastSeen, c.clock.now().UnixMilli())
		}
	})
}

func TestPresenceQueries(t *testing.T) {
	c := newCore(t, options{grace: time.Hour})
	ctx := context.Background()
	c.user(t, "alice", true)
	c.user(t, "bob", false)
	ps, err := c.svc.Presence(ctx, "", []string{"alice", "BOB"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || !ps[0].Online || ps[1].Online {
		t.Fatalf("presence %+v; want alice online, bob offline", ps)
	}
	_, err = c.svc.Presence(ctx, "", []string{"alice", "nobody"})
	wantCode(t, err, chat.ENotFound)
	_, err = c.svc.Presence(ctx, "", make([]string, 1001))
	wantCode(t, err, chat.ETooLarge)
}
