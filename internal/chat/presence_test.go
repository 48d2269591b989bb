package chat_test

import (
	"context"
	"fmt"
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
	t.Run("a shutdown flushes last seen of many users at once", func(t *testing.T) {
		c := newCore(t, options{grace: time.Hour})
		var users []chat.ConnInfo
		for i := range 300 {
			u := c.user(t, fmt.Sprintf("user%03d", i), true)
			users = append(users, u)
		}
		for _, u := range users {
			c.svc.Disconnected(ctx, u)
		}
		c.svc.FlushPresence(ctx)
		for _, u := range users {
			got, err := c.store.UserByID(ctx, u.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastSeen != c.clock.now().UnixMilli() {
				t.Fatalf("%s: last_seen %d after the flush", u.Username, got.LastSeen)
			}
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

func TestConnectionCapPerUser(t *testing.T) {
	c := newCore(t, options{grace: time.Hour, maxConns: 2})
	ctx := context.Background()
	alice := c.user(t, "alice", false)
	dev := func(i int) chat.ConnInfo {
		d := alice
		d.ConnID = fmt.Sprintf("n1/alice-%d", i)
		return d
	}
	for i := range 2 {
		if err := c.svc.Connected(ctx, dev(i)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	err := c.svc.Connected(ctx, dev(2))
	wantCode(t, err, chat.ERateLimited)
	// The refused one was undone: closing one more frees a place, and the
	// user stays online throughout.
	c.svc.Disconnected(ctx, dev(0))
	if err := c.svc.Connected(ctx, dev(3)); err != nil {
		t.Fatalf("after one closed: %v", err)
	}
	ps, err := c.svc.Presence(ctx, "", []string{"alice"})
	if err != nil || !ps[0].Online {
		t.Fatalf("presence %+v, %v", ps, err)
	}
	if n := c.got.count(presenceOf(alice.UserID, false)); n != 0 {
		t.Fatalf("announced offline %d times", n)
	}
}
