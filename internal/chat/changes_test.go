package chat_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// lifeFixture is a group (alice, bob) and a direct conversation (alice,
// bob) with one message of alice's in each; carol is in neither.
type lifeFixture struct {
	c                 *core
	alice, bob, carol chat.ConnInfo
	group, dm         chat.Message
}

func newLifeFixture(t *testing.T) *lifeFixture {
	t.Helper()
	c := newCore(t, options{})
	ctx := context.Background()
	f := &lifeFixture{c: c, alice: c.user(t, "alice", true), bob: c.user(t, "bob", true), carol: c.user(t, "carol", true)}
	g, err := c.svc.CreateGroup(ctx, c.session(f.alice), "team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.JoinGroup(ctx, c.session(f.bob), "team"); err != nil {
		t.Fatal(err)
	}
	f.group = c.mustSend(t, f.alice, chat.SendRequest{Conversation: g.ID, Text: "group hello"})
	f.dm = c.mustSend(t, f.alice, chat.SendRequest{ToUser: "bob", Text: "dm hello"})
	return f
}

func (f *lifeFixture) lastRev(t *testing.T, convID string) int64 {
	t.Helper()
	st, err := f.c.store.ConversationState(context.Background(), convID, f.alice.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return st.LastRev
}

// TestChangeRefusals crosses every limit and permission of edit, delete,
// react and pin: each gets its error and changes nothing (no rev, the
// message as it was).
func TestChangeRefusals(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	svc := f.c.svc
	// 20 distinct emoji on the dm message, so a 21st is over the limit.
	for i := range chat.MaxReactions {
		if _, err := svc.React(ctx, f.bob, f.dm.ID, string(rune('a'+i)), true); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		do   func() error
		code string
	}{
		{"edit: text over the limit", func() error {
			_, err := svc.Edit(ctx, f.alice, f.group.ID, strings.Repeat("x", chat.DefaultMaxText+1))
			return err
		}, chat.ETooLarge},
		{"edit: text not UTF-8", func() error { _, err := svc.Edit(ctx, f.alice, f.group.ID, "\xff"); return err }, chat.EBadRequest},
		{"edit: empty text", func() error { _, err := svc.Edit(ctx, f.alice, f.group.ID, ""); return err }, chat.EBadRequest},
		{"edit: someone else's message", func() error { _, err := svc.Edit(ctx, f.bob, f.group.ID, "mine now"); return err }, chat.EForbidden},
		{"edit: a non-member", func() error { _, err := svc.Edit(ctx, f.carol, f.group.ID, "x"); return err }, chat.ENotFound},
		{"edit: an unknown message", func() error { _, err := svc.Edit(ctx, f.alice, "nope", "x"); return err }, chat.ENotFound},
		{"edit: no message id", func() error { _, err := svc.Edit(ctx, f.alice, "", "x"); return err }, chat.EBadRequest},
		{"delete: a non-admin, not the author, in a group", func() error { _, err := svc.Delete(ctx, f.bob, f.group.ID); return err }, chat.EForbidden},
		{"delete: the other party in a direct chat", func() error { _, err := svc.Delete(ctx, f.bob, f.dm.ID); return err }, chat.EForbidden},
		{"delete: a non-member", func() error { _, err := svc.Delete(ctx, f.carol, f.dm.ID); return err }, chat.ENotFound},
		{"react: two graphemes", func() error { _, err := svc.React(ctx, f.bob, f.group.ID, "👍👍", true); return err }, chat.EBadRequest},
		{"react: plain text", func() error { _, err := svc.React(ctx, f.bob, f.group.ID, "ok", true); return err }, chat.EBadRequest},
		{"react: empty", func() error { _, err := svc.React(ctx, f.bob, f.group.ID, "", true); return err }, chat.EBadRequest},
		{"react: over 32 bytes", func() error {
			_, err := svc.React(ctx, f.bob, f.group.ID, "e"+strings.Repeat("\u0301", 16), true)
			return err
		}, chat.ETooLarge},
		{"react: a 21st distinct emoji", func() error { _, err := svc.React(ctx, f.alice, f.dm.ID, "🎉", true); return err }, chat.ETooLarge},
		{"react: a non-member", func() error { _, err := svc.React(ctx, f.carol, f.group.ID, "👍", true); return err }, chat.ENotFound},
		{"pin: a non-admin in a group", func() error { _, err := svc.Pin(ctx, f.bob, f.group.ID, true); return err }, chat.EForbidden},
		{"pin: a non-member", func() error { _, err := svc.Pin(ctx, f.carol, f.dm.ID, true); return err }, chat.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groupRev, dmRev := f.lastRev(t, f.group.ConversationID), f.lastRev(t, f.dm.ConversationID)
			wantCode(t, tc.do(), tc.code)
			if g, d := f.lastRev(t, f.group.ConversationID), f.lastRev(t, f.dm.ConversationID); g != groupRev || d != dmRev {
				t.Errorf("revs moved from %d, %d to %d, %d", groupRev, dmRev, g, d)
			}
			m, err := f.c.store.Message(ctx, f.group.ID)
			if err != nil || m.Text != "group hello" || m.Deleted || m.Reactions != nil {
				t.Errorf("group message now %+v, %v; want it unchanged", m, err)
			}
		})
	}
	if m, _ := f.c.store.Message(ctx, f.dm.ID); len(m.Reactions) != chat.MaxReactions || m.Text != "dm hello" {
		t.Errorf("dm message now has %d reactions, text %q; want %d and unchanged", len(m.Reactions), m.Text, chat.MaxReactions)
	}
}

// TestChangeRetries: an edit, reaction, pin or delete sent again (a retry
// after a lost ack) answers the same message and takes no second rev.
func TestChangeRetries(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	svc := f.c.svc
	for _, tc := range []struct {
		name string
		do   func() (chat.Message, error)
	}{
		{"edit", func() (chat.Message, error) { return svc.Edit(ctx, f.alice, f.dm.ID, "edited") }},
		{"react", func() (chat.Message, error) { return svc.React(ctx, f.bob, f.dm.ID, "👍🏽", true) }},
		{"unreact", func() (chat.Message, error) { return svc.React(ctx, f.bob, f.dm.ID, "👍🏽", false) }},
		{"pin", func() (chat.Message, error) { return svc.Pin(ctx, f.bob, f.dm.ID, true) }},
		{"delete", func() (chat.Message, error) { return svc.Delete(ctx, f.alice, f.dm.ID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			rev := f.lastRev(t, f.dm.ConversationID)
			if first.Rev != rev {
				t.Errorf("answered rev %d; the conversation is at %d", first.Rev, rev)
			}
			again, err := tc.do()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, first) || f.lastRev(t, f.dm.ConversationID) != rev {
				t.Errorf("retry = %+v at conversation rev %d; want %+v at %d", again, f.lastRev(t, f.dm.ConversationID), first, rev)
			}
		})
	}
}

// TestChangeUpdates: each change is pushed as an update event with the
// whole message, to the members but the connection that made it, in rev
// order; a change that changes nothing pushes nothing.
func TestChangeUpdates(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	svc := f.c.svc
	if _, err := svc.Edit(ctx, f.alice, f.group.ID, "group hello, edited"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.React(ctx, f.bob, f.group.ID, "❤️", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.React(ctx, f.bob, f.group.ID, "❤️", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, f.alice, f.group.ID); err != nil {
		t.Fatal(err)
	}
	isUpdate := func(ev chat.Event) bool { return ev.Kind == chat.EventUpdate }
	f.c.got.wait(t, "third update", func(ev chat.Event) bool { return isUpdate(ev) && ev.Message.Rev == 3 })
	var got []string
	f.c.got.mu.Lock()
	for _, ev := range f.c.got.events {
		if isUpdate(ev) {
			m := ev.Message
			got = append(got, fmt.Sprintf("%d %q %d %v %s %v", m.Rev, m.Text, len(m.Reactions), m.Deleted, ev.ExceptConn, ev.Recipients))
		}
	}
	f.c.got.mu.Unlock()
	want := []string{
		fmt.Sprintf("1 %q 0 false %s %v", "group hello, edited", f.alice.ConnID, []string{f.alice.UserID, f.bob.UserID}),
		fmt.Sprintf("2 %q 1 false %s %v", "group hello, edited", f.bob.ConnID, []string{f.alice.UserID, f.bob.UserID}),
		fmt.Sprintf("3 %q 0 true %s %v", "", f.alice.ConnID, []string{f.alice.UserID, f.bob.UserID}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("updates:\n got %q\nwant %q", got, want)
	}
}

// TestSyncRevs: a device that was away during an edit, a delete and a
// reaction sees each once after one sync, after the missed messages, and the
// answer carries the rev it has now seen up to.
func TestSyncRevs(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	svc := f.c.svc
	conv := f.group.ConversationID
	m2 := f.c.mustSend(t, f.alice, chat.SendRequest{Conversation: conv, Text: "second"})
	m3 := f.c.mustSend(t, f.alice, chat.SendRequest{Conversation: conv, Text: "third"})
	// bob's device holds seqs 1-2 and no rev; then, while it is away:
	if _, err := svc.Edit(ctx, f.alice, f.group.ID, "first, edited"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.React(ctx, f.alice, m2.ID, "👍", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, f.alice, m3.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Edit(ctx, f.alice, f.group.ID, "first, edited twice"); err != nil {
		t.Fatal(err)
	}
	var pushed []string
	convs, err := svc.Sync(ctx, f.bob, chat.SyncRequest{Cursors: map[string]int64{conv: 2, f.dm.ConversationID: 1}, Revs: map[string]int64{conv: 0}},
		func(m chat.Message, update bool) error {
			kind := "message"
			if update {
				kind = "update"
			}
			pushed = append(pushed, fmt.Sprintf("%s seq %d rev %d %q deleted=%v reactions=%d", kind, m.Seq, m.Rev, m.Text, m.Deleted, len(m.Reactions)))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`message seq 3 rev 3 "" deleted=true reactions=0`,
		`update seq 2 rev 2 "second" deleted=false reactions=1`,
		`update seq 1 rev 4 "first, edited twice" deleted=false reactions=0`,
	}
	if !reflect.DeepEqual(pushed, want) {
		t.Errorf("pushed:\n got %q\nwant %q", pushed, want)
	}
	for _, cs := range convs {
		if cs.ID == conv && cs.LastRev != 4 {
			t.Errorf("last_rev = %d; want 4", cs.LastRev)
		}
	}
	// A second sync from there pushes nothing.
	pushed = nil
	if _, err := svc.Sync(ctx, f.bob, chat.SyncRequest{Cursors: map[string]int64{conv: 3, f.dm.ConversationID: 1}, Revs: map[string]int64{conv: 4}}, func(m chat.Message, update bool) error {
		pushed = append(pushed, m.ID)
		return nil
	}); err != nil || len(pushed) != 0 {
		t.Errorf("second sync pushed %v, %v; want nothing", pushed, err)
	}
	_, err = svc.Sync(ctx, f.bob, chat.SyncRequest{Revs: map[string]int64{conv: -1}}, func(chat.Message, bool) error { return nil })
	wantCode(t, err, chat.EBadRequest)
}

// TestRepliesAndMentions: reply_to must be a message of the same
// conversation; @names of members become mentions, others stay text.
func TestRepliesAndMentions(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	conv := f.group.ConversationID
	m := f.c.mustSend(t, f.alice, chat.SendRequest{Conversation: conv, Text: "@Bob and @carol, see @bob. mail@bob.com @al", ReplyTo: f.group.ID})
	if m.ReplyTo != f.group.ID || !reflect.DeepEqual(m.Mentions, []string{"bob"}) {
		t.Errorf("sent %+v; want reply_to %s, mentions [bob] (carol is no member, mail@bob.com no mention)", m, f.group.ID)
	}
	st, err := f.c.store.ConversationState(ctx, conv, f.bob.UserID)
	if err != nil || st.UnreadMentions != 1 {
		t.Errorf("bob's unread mentions = %d, %v; want 1", st.UnreadMentions, err)
	}
	for _, tc := range []struct {
		name    string
		replyTo string
	}{{"another conversation", f.dm.ID}, {"unknown", "nope"}, {"too long", strings.Repeat("x", 65)}} {
		_, err := f.c.send(f.alice, chat.SendRequest{Conversation: conv, Text: "re", ReplyTo: tc.replyTo})
		if chat.ErrorCode(err) != chat.EBadRequest {
			t.Errorf("reply_to %s: %v; want bad_request", tc.name, err)
		}
	}
}

// TestModeration: in a group the owner and admins delete others' messages
// and pin; a member neither.
func TestModeration(t *testing.T) {
	f := newLifeFixture(t)
	ctx := context.Background()
	svc := f.c.svc
	if _, err := svc.JoinGroup(ctx, f.c.session(f.carol), "team"); err != nil {
		t.Fatal(err)
	}
	byBob := f.c.mustSend(t, f.bob, chat.SendRequest{Conversation: f.group.ConversationID, Text: "spam"})
	byCarol := f.c.mustSend(t, f.carol, chat.SendRequest{Conversation: f.group.ConversationID, Text: "more spam"})
	_, err := svc.Delete(ctx, f.carol, byBob.ID)
	wantCode(t, err, chat.EForbidden)
	if m, err := svc.Delete(ctx, f.alice, byBob.ID); err != nil || !m.Deleted {
		t.Fatalf("the owner deleting a member's message: %+v, %v", m, err)
	}
	if _, err := svc.SetRole(ctx, f.c.session(f.alice), "team", "bob", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if m, err := svc.Delete(ctx, f.bob, byCarol.ID); err != nil || !m.Deleted {
		t.Fatalf("an admin deleting a member's message: %+v, %v", m, err)
	}
	if m, err := svc.Pin(ctx, f.bob, f.group.ID, true); err != nil || !m.Pinned {
		t.Fatalf("an admin pinning: %+v, %v", m, err)
	}
	_, err = svc.Pin(ctx, f.carol, f.group.ID, false)
	wantCode(t, err, chat.EForbidden)
}
