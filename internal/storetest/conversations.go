package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- conversations

func testDirectConversation(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	id, ts := f.id("d"), f.ts()
	c, err := f.s.DirectConversation(f.ctx, id, bob.ID, alice.ID, ts)
	if err != nil {
		t.Fatalf("DirectConversation: %v", err)
	}
	want := chat.Conversation{ID: id, Kind: chat.KindDirect, CreatedAt: ts}
	if c != want {
		t.Errorf("DirectConversation = %+v; want %+v", c, want)
	}
	for _, pair := range [][2]chat.User{{bob, alice}, {alice, bob}} {
		again, err := f.s.DirectConversation(f.ctx, f.id("d"), pair[0].ID, pair[1].ID, f.ts())
		if err != nil {
			t.Fatalf("DirectConversation(%s, %s) again: %v", pair[0].Username, pair[1].Username, err)
		}
		if again != want {
			t.Errorf("DirectConversation(%s, %s) again = %+v; want the first %+v", pair[0].Username, pair[1].Username, again, want)
		}
	}
	got, err := f.s.Conversation(f.ctx, id)
	if err != nil || got != want {
		t.Errorf("Conversation = %+v, %v; want %+v", got, err, want)
	}
	if got, want := f.members(t, id), []string{"alice", "bob"}; !slices.Equal(got, want) {
		t.Errorf("Members = %q; want %q", got, want)
	}
	for _, tc := range []struct {
		me   chat.User
		peer string
	}{{alice, "bob"}, {bob, "alice"}} {
		st := f.state(t, id, tc.me)
		if st.Conversation != want || st.Peer != tc.peer || posOf(st) != (positions{}) {
			t.Errorf("ConversationState as %s = %+v; want %+v with peer %q and zero positions", tc.me.Username, st, want, tc.peer)
		}
	}
	// A third user's pair with alice is another conversation.
	carol := f.user(t, "carol")
	if other := f.direct(t, alice, carol); other.ID == id {
		t.Errorf("DirectConversation(alice, carol) = %q, the id of (alice, bob)", other.ID)
	}
}

func testDirectConversationSelf(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	f.user(t, "bob")
	id, ts := f.id("d"), f.ts()
	c, err := f.s.DirectConversation(f.ctx, id, alice.ID, alice.ID, ts)
	if err != nil {
		t.Fatalf("DirectConversation(alice, alice): %v", err)
	}
	want := chat.Conversation{ID: id, Kind: chat.KindDirect, CreatedAt: ts}
	if c != want {
		t.Errorf("DirectConversation(alice, alice) = %+v; want %+v", c, want)
	}
	again, err := f.s.DirectConversation(f.ctx, f.id("d"), alice.ID, alice.ID, f.ts())
	if err != nil || again != want {
		t.Errorf("DirectConversation(alice, alice) again = %+v, %v; want %+v", again, err, want)
	}
	if got, want := f.members(t, id), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Members = %q; want %q", got, want)
	}
	if st := f.state(t, id, alice); st.Peer != "alice" {
		t.Errorf("ConversationState.Peer = %q; want %q (oneself)", st.Peer, "alice")
	}
	m := f.send(t, id, alice, "note to self")
	if m.Seq != 1 {
		t.Errorf("seq = %d; want 1", m.Seq)
	}
}

func testDirectConversationUnknownUser(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	for _, tc := range []struct{ name, a, b string }{
		{"unknown second", alice.ID, "no-such-user"},
		{"unknown first", "no-such-user", alice.ID},
		{"both unknown", "nobody-1", "nobody-2"},
		{"self unknown", "nobody-1", "nobody-1"},
	} {
		id := f.id("d")
		_, err := f.s.DirectConversation(f.ctx, id, tc.a, tc.b, f.ts())
		wantCode(t, "DirectConversation "+tc.name, err, chat.ENotFound)
		_, err = f.s.Conversation(f.ctx, id)
		wantCode(t, "Conversation after a failed DirectConversation ("+tc.name+")", err, chat.ENotFound)
	}
	if got, err := f.s.UserConversations(f.ctx, alice.ID); err != nil || len(got) != 0 {
		t.Errorf("UserConversations = %+v, %v; want none", got, err)
	}
}

func testGroups(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	want := chat.Conversation{ID: f.id("g"), Kind: chat.KindGroup, Name: "gophers", Title: "Gophers & friends", CreatedAt: f.ts()}
	if err := f.s.CreateGroup(f.ctx, want, alice.ID); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	got, err := f.s.GroupByName(f.ctx, "gophers")
	if err != nil || got != want {
		t.Errorf("GroupByName = %+v, %v; want %+v", got, err, want)
	}
	got, err = f.s.Conversation(f.ctx, want.ID)
	if err != nil || got != want {
		t.Errorf("Conversation = %+v, %v; want %+v", got, err, want)
	}
	if got, want := f.members(t, want.ID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Members = %q; want %q (the creator)", got, want)
	}
	st := f.state(t, want.ID, alice)
	if st.Conversation != want || st.Peer != "" || posOf(st) != (positions{}) {
		t.Errorf("ConversationState = %+v; want %+v with no peer and zero positions", st, want)
	}
}

func testGroupConflict(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	first := f.group(t, "gophers", alice)
	err := f.s.CreateGroup(f.ctx, chat.Conversation{ID: f.id("g"), Kind: chat.KindGroup, Name: "gophers", Title: "again", CreatedAt: f.ts()}, bob.ID)
	wantCode(t, "CreateGroup with a taken name", err, chat.EConflict)
	got, err := f.s.GroupByName(f.ctx, "gophers")
	if err != nil || got != first {
		t.Errorf("GroupByName = %+v, %v; want the first %+v", got, err, first)
	}
	if got, want := f.members(t, first.ID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Members = %q; want %q", got, want)
	}
}

func testGroupNotFound(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	f.group(t, "gophers", alice)
	_, err := f.s.GroupByName(f.ctx, "rustaceans")
	wantCode(t, "GroupByName(unknown)", err, chat.ENotFound)
	_, err = f.s.Conversation(f.ctx, "no-such-conversation")
	wantCode(t, "Conversation(unknown)", err, chat.ENotFound)
}

func testMembers(t *testing.T, f *fixture) {
	// Created out of username order, so ids and insertion order differ from it.
	carol, alice, bob, dave := f.user(t, "carol"), f.user(t, "alice"), f.user(t, "bob"), f.user(t, "dave")
	g := f.group(t, "gophers", carol)
	for _, step := range []struct {
		op    string
		user  chat.User
		want  bool
		after []string
	}{
		{"add", dave, true, []string{"carol", "dave"}},
		{"add", alice, true, []string{"alice", "carol", "dave"}},
		{"add", bob, true, []string{"alice", "bob", "carol", "dave"}},
		{"add", alice, false, []string{"alice", "bob", "carol", "dave"}},
		{"remove", carol, true, []string{"alice", "bob", "dave"}},
		{"remove", carol, false, []string{"alice", "bob", "dave"}},
		{"add", carol, true, []string{"alice", "bob", "carol", "dave"}},
		{"remove", dave, true, []string{"alice", "bob", "carol"}},
	} {
		var got bool
		var err error
		if step.op == "add" {
			got, err = f.s.AddMember(f.ctx, g.ID, step.user.ID, f.ts())
		} else {
			got, err = f.s.RemoveMember(f.ctx, g.ID, step.user.ID)
		}
		if err != nil || got != step.want {
			t.Fatalf("%s %s = %v, %v; want %v, nil", step.op, step.user.Username, got, err, step.want)
		}
		if m := f.members(t, g.ID); !slices.Equal(m, step.after) {
			t.Errorf("after %s %s: Members = %q; want %q", step.op, step.user.Username, m, step.after)
		}
	}
	ms, err := f.s.Members(f.ctx, g.ID)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	// carol created the group (owner), left and came back: a member now.
	want := []chat.Member{{UserID: alice.ID, Username: "alice", Role: chat.RoleMember}, {UserID: bob.ID, Username: "bob", Role: chat.RoleMember}, {UserID: carol.ID, Username: "carol", Role: chat.RoleMember}}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("Members = %+v; want %+v", ms, want)
	}
	_, err = f.s.ConversationState(f.ctx, g.ID, dave.ID)
	wantCode(t, "ConversationState of a removed member", err, chat.EForbidden)
	// Members carry their positions: the sender has read its own messages,
	// another member's receipts move its own.
	f.sendN(t, g.ID, alice, 3)
	if _, _, err := f.s.AdvanceReceipt(f.ctx, bob.ID, g.ID, chat.StatusDelivered, 2); err != nil {
		t.Fatal(err)
	}
	ms, err = f.s.Members(f.ctx, g.ID)
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	want = []chat.Member{
		{UserID: alice.ID, Username: "alice", ReadSeq: 3, DeliveredSeq: 3, Role: chat.RoleMember},
		{UserID: bob.ID, Username: "bob", DeliveredSeq: 2, Role: chat.RoleMember},
		{UserID: carol.ID, Username: "carol", Role: chat.RoleMember},
	}
	if !reflect.DeepEqual(ms, want) {
		t.Errorf("Members with positions = %+v; want %+v", ms, want)
	}
	// Members of a conversation that does not exist: an empty list.
	if ms, err := f.s.Members(f.ctx, "no-such-conversation"); err != nil || len(ms) != 0 {
		t.Errorf("Members(unknown) = %+v, %v; want empty, nil", ms, err)
	}
}

func testMemberErrors(t *testing.T, f *fixture) {
	alice := f.user(t, "alice")
	g := f.group(t, "gophers", alice)
	_, err := f.s.AddMember(f.ctx, "no-such-conversation", alice.ID, f.ts())
	wantCode(t, "AddMember(unknown conversation)", err, chat.ENotFound)
	_, err = f.s.AddMember(f.ctx, g.ID, "no-such-user", f.ts())
	wantCode(t, "AddMember(unknown user)", err, chat.ENotFound)
	bob := f.user(t, "bob")
	if removed, err := f.s.RemoveMember(f.ctx, g.ID, bob.ID); err != nil || removed {
		t.Errorf("RemoveMember(non-member) = %v, %v; want false, nil", removed, err)
	}
	if got, want := f.members(t, g.ID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Members = %q; want %q", got, want)
	}
}

func testJoinerStartsAtLastSeq(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice)
	f.sendN(t, g.ID, alice, 3)
	f.join(t, g.ID, bob)
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{3, 3, 3}); got != want {
		t.Errorf("joiner's positions = %+v; want %+v", got, want)
	}
	f.sendN(t, g.ID, alice, 2)
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{5, 3, 3}); got != want {
		t.Errorf("after two more messages = %+v; want %+v", got, want)
	}
	if removed, err := f.s.RemoveMember(f.ctx, g.ID, bob.ID); err != nil || !removed {
		t.Fatalf("RemoveMember = %v, %v; want true, nil", removed, err)
	}
	f.sendN(t, g.ID, alice, 2)
	f.join(t, g.ID, bob)
	if got, want := posOf(f.state(t, g.ID, bob)), (positions{7, 7, 7}); got != want {
		t.Errorf("rejoined member's positions = %+v; want %+v", got, want)
	}
}

func testConversationState(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "gophers", alice, bob)
	d := f.direct(t, alice, bob)
	f.sendN(t, g.ID, alice, 4)
	f.sendN(t, d.ID, bob, 2)
	for _, tc := range []struct {
		conv chat.Conversation
		user chat.User
		peer string
		pos  positions
	}{
		{g, alice, "", positions{4, 4, 4}},
		{g, bob, "", positions{4, 0, 0}},
		{d, alice, "bob", positions{2, 0, 0}},
		{d, bob, "alice", positions{2, 2, 2}},
	} {
		st := f.state(t, tc.conv.ID, tc.user)
		if st.Conversation != tc.conv || st.Peer != tc.peer || posOf(st) != tc.pos {
			t.Errorf("ConversationState(%s, %s) = %+v; want %+v, peer %q, %+v", tc.conv.ID, tc.user.Username, st, tc.conv, tc.peer, tc.pos)
		}
	}
	_, err := f.s.ConversationState(f.ctx, g.ID, carol.ID)
	wantCode(t, "ConversationState(group, non-member)", err, chat.EForbidden)
	_, err = f.s.ConversationState(f.ctx, d.ID, carol.ID)
	wantCode(t, "ConversationState(direct, third user)", err, chat.EForbidden)
	_, err = f.s.ConversationState(f.ctx, "no-such-conversation", alice.ID)
	wantCode(t, "ConversationState(unknown conversation)", err, chat.ENotFound)
}

func testUserConversations(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g1 := f.group(t, "first", alice, bob)
	g2 := f.group(t, "second", alice)
	d := f.direct(t, alice, bob)
	dc := f.direct(t, bob, carol) // not alice's

	type row struct {
		ID, Kind, Name, Peer string
		Pos                  positions
	}
	check := func(u chat.User, want []row) {
		t.Helper()
		got, err := f.s.UserConversations(f.ctx, u.ID)
		if err != nil {
			t.Fatalf("UserConversations(%s): %v", u.Username, err)
		}
		rows := []row{}
		for _, c := range got {
			rows = append(rows, row{c.ID, c.Kind, c.Name, c.Peer, posOf(c)})
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("UserConversations(%s):\n got %+v\nwant %+v", u.Username, rows, want)
		}
	}

	f.sendN(t, g1.ID, bob, 2) // oldest activity
	f.sendN(t, d.ID, bob, 3)
	f.sendN(t, g2.ID, alice, 1)
	f.sendN(t, dc.ID, carol, 1)
	check(alice, []row{
		{g2.ID, chat.KindGroup, "second", "", positions{1, 1, 1}},
		{d.ID, chat.KindDirect, "", "bob", positions{3, 0, 0}},
		{g1.ID, chat.KindGroup, "first", "", positions{2, 0, 0}},
	})
	f.send(t, g1.ID, alice, "bump")
	check(alice, []row{
		{g1.ID, chat.KindGroup, "first", "", positions{3, 3, 3}},
		{g2.ID, chat.KindGroup, "second", "", positions{1, 1, 1}},
		{d.ID, chat.KindDirect, "", "bob", positions{3, 0, 0}},
	})
	check(bob, []row{
		{g1.ID, chat.KindGroup, "first", "", positions{3, 2, 2}},
		{dc.ID, chat.KindDirect, "", "carol", positions{1, 0, 0}},
		{d.ID, chat.KindDirect, "", "alice", positions{3, 3, 3}},
	})
	// A conversation without messages is active from its creation.
	g3 := f.group(t, "third", alice)
	check(alice, []row{
		{g3.ID, chat.KindGroup, "third", "", positions{}},
		{g1.ID, chat.KindGroup, "first", "", positions{3, 3, 3}},
		{g2.ID, chat.KindGroup, "second", "", positions{1, 1, 1}},
		{d.ID, chat.KindDirect, "", "bob", positions{3, 0, 0}},
	})
	// Leaving a group drops it from the list.
	if removed, err := f.s.RemoveMember(f.ctx, g1.ID, bob.ID); err != nil || !removed {
		t.Fatalf("RemoveMember = %v, %v", removed, err)
	}
	check(bob, []row{
		{dc.ID, chat.KindDirect, "", "carol", positions{1, 0, 0}},
		{d.ID, chat.KindDirect, "", "alice", positions{3, 3, 3}},
	})
	check(chat.User{ID: "no-such-user", Username: "nobody"}, []row{})
	// The full rows carry the conversation itself.
	got, err := f.s.UserConversations(f.ctx, alice.ID)
	if err != nil {
		t.Fatalf("UserConversations: %v", err)
	}
	if got[0].Conversation != g3 {
		t.Errorf("UserConversations[0].Conversation = %+v; want %+v", got[0].Conversation, g3)
	}
}
