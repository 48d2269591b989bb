package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func (f *fixture) react(tb testing.TB, m chat.Message, u chat.User, emoji string, on bool) chat.ChangeResult {
	tb.Helper()
	return f.change(tb, chat.Change{Kind: chat.ChangeReact, MessageID: m.ID, UserID: u.ID, Emoji: emoji, On: on})
}

// testReactions: reactions are counted per emoji in the order the emoji were
// first used, list their users in the order they reacted, and are
// idempotent both ways.
func testReactions(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "devs", alice, bob, carol)
	m := f.send(t, g.ID, alice, "ship it")
	f.react(t, m, bob, "👍", true)
	f.react(t, m, carol, "🎉", true)
	r := f.react(t, m, alice, "👍", true)
	want := []chat.Reaction{{Emoji: "👍", Count: 2, Users: []string{"bob", "alice"}}, {Emoji: "🎉", Count: 1, Users: []string{"carol"}}}
	if !r.Changed || r.Message.Rev != 3 || !reflect.DeepEqual(r.Message.Reactions, want) {
		t.Fatalf("reactions = %+v at rev %d; want %+v at rev 3", r.Message.Reactions, r.Message.Rev, want)
	}
	if again := f.react(t, m, alice, "👍", true); again.Changed || again.Message.Rev != 3 {
		t.Errorf("the same reaction again: changed %v at rev %d; want unchanged at 3", again.Changed, again.Message.Rev)
	}
	if h := f.history(t, g.ID); !reflect.DeepEqual(h[0].Reactions, want) {
		t.Errorf("history reactions = %+v; want %+v", h[0].Reactions, want)
	}
	r = f.react(t, m, carol, "🎉", false)
	want = want[:1]
	if !r.Changed || r.Message.Rev != 4 || !reflect.DeepEqual(r.Message.Reactions, want) {
		t.Errorf("after removing = %+v at rev %d; want %+v at rev 4", r.Message.Reactions, r.Message.Rev, want)
	}
	if again := f.react(t, m, carol, "🎉", false); again.Changed {
		t.Errorf("removing a reaction that is not there changed the message")
	}
}

// testReactionLimit: a message carries at most chat.MaxReactions distinct
// emoji; more users of an emoji already there are fine; only the first
// chat.MaxReactionUsers users are listed.
func testReactionLimit(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	g := f.group(t, "devs", alice)
	m := f.send(t, g.ID, alice, "vote")
	for i := range chat.MaxReactions {
		f.react(t, m, alice, fmt.Sprintf("e%02d", i), true)
	}
	before := f.state(t, g.ID, alice).LastRev
	_, err := f.s.ChangeMessage(f.ctx, chat.Change{Kind: chat.ChangeReact, MessageID: m.ID, UserID: alice.ID, Emoji: "one too many", On: true, TS: f.ts()})
	wantCode(t, "a 21st distinct emoji", err, chat.ETooLarge)
	if after := f.state(t, g.ID, alice).LastRev; after != before {
		t.Errorf("last rev moved from %d to %d on a refused reaction", before, after)
	}
	users := make([]string, chat.MaxReactionUsers+2)
	for i := range users {
		u := f.user(t, fmt.Sprintf("user%02d", i))
		f.join(t, g.ID, u)
		users[i] = u.Username
		f.react(t, m, u, "e00", true)
	}
	got, err := f.s.Message(f.ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.Reactions); n != chat.MaxReactions {
		t.Fatalf("%d distinct reactions; want %d", n, chat.MaxReactions)
	}
	r := got.Reactions[0]
	if r.Emoji != "e00" || r.Count != len(users)+1 || len(r.Users) != chat.MaxReactionUsers || r.Users[0] != "alice" || r.Users[1] != users[0] {
		t.Errorf("e00 = %+v; want count %d with the first %d users, alice first", r, len(users)+1, chat.MaxReactionUsers)
	}
}
