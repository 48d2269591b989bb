package storetest

import (
	"reflect"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// testMentions: a message keeps its reply_to and mentions; a mentioned
// member counts the mentions after its read position.
func testMentions(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "devs", alice, bob, carol)
	first := f.send(t, g.ID, alice, "hello")
	m := f.msg(g.ID, alice, "@bob @carol look")
	m.ReplyTo = first.ID
	m.Mentions = []string{"bob", "carol"}
	a := &chat.Append{Message: m, MentionIDs: []string{bob.ID, carol.ID}}
	if err := f.s.AppendMessages(f.ctx, []*chat.Append{a}); err != nil || a.Err != nil {
		t.Fatalf("append: %v, %v", err, a.Err)
	}
	if a.Result.ReplyTo != first.ID || !reflect.DeepEqual(a.Result.Mentions, m.Mentions) {
		t.Errorf("Result = %+v; want reply_to and mentions kept", a.Result)
	}
	h := f.history(t, g.ID)
	if h[1].ReplyTo != first.ID || !reflect.DeepEqual(h[1].Mentions, []string{"bob", "carol"}) {
		t.Errorf("history = %+v; want reply_to %s and mentions [bob carol]", h[1], first.ID)
	}
	m2 := f.msg(g.ID, alice, "@bob again")
	m2.Mentions = []string{"bob"}
	if err := f.s.AppendMessages(f.ctx, []*chat.Append{{Message: m2, MentionIDs: []string{bob.ID}}}); err != nil {
		t.Fatal(err)
	}
	if st := f.state(t, g.ID, bob); st.UnreadMentions != 2 {
		t.Errorf("bob's unread mentions = %d; want 2", st.UnreadMentions)
	}
	if _, _, err := f.s.AdvanceReceipt(f.ctx, bob.ID, g.ID, chat.StatusRead, 2); err != nil {
		t.Fatal(err)
	}
	cs, err := f.s.UserConversations(f.ctx, bob.ID)
	if err != nil || len(cs) != 1 || cs[0].UnreadMentions != 1 {
		t.Errorf("bob's conversations = %+v, %v; want 1 unread mention", cs, err)
	}
	if st := f.state(t, g.ID, alice); st.UnreadMentions != 0 {
		t.Errorf("alice's unread mentions = %d; want 0", st.UnreadMentions)
	}
	// A deleted message's mention no longer counts.
	f.change(t, chat.Change{Kind: chat.ChangeDelete, MessageID: h[2-1].ID, UserID: alice.ID})
	if st := f.state(t, g.ID, carol); st.UnreadMentions != 0 {
		t.Errorf("carol's unread mentions after the delete = %d; want 0", st.UnreadMentions)
	}
}
