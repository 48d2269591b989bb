package storetest

import (
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- group settings, roles, bans, the directory and blocks (GroupStore,
// BlockStore)

// groupWith creates a group with settings; creator is its owner.
func (f *fixture) groupWith(tb testing.TB, name, visibility, history string, creator chat.User) chat.Conversation {
	tb.Helper()
	c := chat.Conversation{ID: f.id("g"), Kind: chat.KindGroup, Name: name, Title: "Title of " + name, CreatedAt: f.ts(),
		Description: "about " + name, Visibility: visibility, History: history}
	if err := f.s.CreateGroup(f.ctx, c, creator.ID); err != nil {
		tb.Fatalf("CreateGroup(%q): %v", name, err)
	}
	return c
}

func testGroupSettings(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.groupWith(t, "gophers", chat.VisibilityPrivate, chat.HistorySinceJoin, alice)
	got, err := f.s.GroupByName(f.ctx, "gophers")
	if err != nil || got != g {
		t.Fatalf("GroupByName = %+v, %v; want %+v", got, err, g)
	}
	st := f.state(t, g.ID, alice)
	if st.Conversation != g || st.Role != chat.RoleOwner || st.MemberCount != 1 || st.JoinedSeq != 0 {
		t.Errorf("the creator's state = %+v; want the group, owner, 1 member, joined at 0", st)
	}
	f.sendN(t, g.ID, alice, 3)
	f.join(t, g.ID, bob)
	st = f.state(t, g.ID, bob)
	if st.Role != chat.RoleMember || st.JoinedSeq != 3 || st.MemberCount != 2 {
		t.Errorf("a joiner's state = %+v; want member, joined at 3, 2 members", st)
	}
	convs, err := f.s.UserConversations(f.ctx, bob.ID)
	if err != nil || len(convs) != 1 || convs[0] != st {
		t.Errorf("UserConversations = %+v, %v; want [%+v]", convs, err, st)
	}

	g.Title, g.Description, g.Visibility, g.History = "New title", "", chat.VisibilityPublic, chat.HistoryAll
	if err := f.s.UpdateGroup(f.ctx, g); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	if got, err := f.s.Conversation(f.ctx, g.ID); err != nil || got != g {
		t.Errorf("after UpdateGroup: Conversation = %+v, %v; want %+v", got, err, g)
	}
	err = f.s.UpdateGroup(f.ctx, chat.Conversation{ID: "no-such-group", Kind: chat.KindGroup, Title: "x"})
	wantCode(t, "UpdateGroup of an unknown group", err, chat.ENotFound)
	// A direct conversation has no group settings and cannot be updated.
	d := f.direct(t, alice, bob)
	if d.Visibility != "" || d.History != "" {
		t.Errorf("a direct conversation has visibility %q and history %q; want none", d.Visibility, d.History)
	}
	err = f.s.UpdateGroup(f.ctx, chat.Conversation{ID: d.ID, Title: "x"})
	wantCode(t, "UpdateGroup of a direct conversation", err, chat.ENotFound)
	if st := f.state(t, d.ID, alice); st.MemberCount != 2 {
		t.Errorf("a direct conversation's MemberCount = %d; want 2", st.MemberCount)
	}
}

func testGroupRoles(t *testing.T, f *fixture) {
	alice, bob, carol, dave := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol"), f.user(t, "dave")
	g := f.group(t, "gophers", alice, bob, carol)
	roles := func() map[string]string {
		ms, err := f.s.Members(f.ctx, g.ID)
		if err != nil {
			t.Fatalf("Members: %v", err)
		}
		out := map[string]string{}
		for _, m := range ms {
			out[m.Username] = m.Role
		}
		return out
	}
	if err := f.s.SetRole(f.ctx, g.ID, bob.ID, chat.RoleAdmin); err != nil {
		t.Fatalf("SetRole admin: %v", err)
	}
	want := map[string]string{"alice": chat.RoleOwner, "bob": chat.RoleAdmin, "carol": chat.RoleMember}
	if got := roles(); !mapsEqual(got, want) {
		t.Errorf("roles = %v; want %v", got, want)
	}
	// Making carol the owner makes alice an admin in the same step.
	if err := f.s.SetRole(f.ctx, g.ID, carol.ID, chat.RoleOwner); err != nil {
		t.Fatalf("SetRole owner: %v", err)
	}
	want = map[string]string{"alice": chat.RoleAdmin, "bob": chat.RoleAdmin, "carol": chat.RoleOwner}
	if got := roles(); !mapsEqual(got, want) {
		t.Errorf("roles after the transfer = %v; want %v", got, want)
	}
	err := f.s.SetRole(f.ctx, g.ID, dave.ID, chat.RoleAdmin)
	wantCode(t, "SetRole of a non-member", err, chat.ENotFound)
	if got := roles(); !mapsEqual(got, want) {
		t.Errorf("roles after a failed SetRole = %v; want %v", got, want)
	}
}

func testGroupBans(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	g := f.group(t, "gophers", alice, bob)
	was, err := f.s.Ban(f.ctx, g.ID, bob.ID, f.ts())
	if err != nil || !was {
		t.Fatalf("Ban(member) = %v, %v; want true, nil", was, err)
	}
	if got, want := f.members(t, g.ID), []string{"alice"}; !slices.Equal(got, want) {
		t.Errorf("Members after the ban = %q; want %q", got, want)
	}
	if st := f.state(t, g.ID, alice); st.MemberCount != 1 {
		t.Errorf("MemberCount after the ban = %d; want 1", st.MemberCount)
	}
	added, err := f.s.AddMember(f.ctx, g.ID, bob.ID, f.ts())
	wantCode(t, "AddMember of a banned user", err, chat.EForbidden)
	if added || !slices.Equal(f.members(t, g.ID), []string{"alice"}) {
		t.Errorf("a banned user was added")
	}
	// Banning a non-member keeps it out too; banning twice is no error.
	if was, err := f.s.Ban(f.ctx, g.ID, carol.ID, f.ts()); err != nil || was {
		t.Errorf("Ban(non-member) = %v, %v; want false, nil", was, err)
	}
	if was, err := f.s.Ban(f.ctx, g.ID, carol.ID, f.ts()); err != nil || was {
		t.Errorf("Ban twice = %v, %v; want false, nil", was, err)
	}
	_, err = f.s.Ban(f.ctx, g.ID, "no-such-user", f.ts())
	wantCode(t, "Ban of an unknown user", err, chat.ENotFound)
	_, err = f.s.Ban(f.ctx, "no-such-group", bob.ID, f.ts())
	wantCode(t, "Ban in an unknown group", err, chat.ENotFound)
	bans, err := f.s.Bans(f.ctx, g.ID)
	if err != nil || len(bans) != 2 || bans[0].Username != "bob" || bans[1].Username != "carol" || bans[0].UserID != bob.ID || bans[0].CreatedAt == 0 {
		t.Errorf("Bans = %+v, %v; want bob and carol", bans, err)
	}
	if lifted, err := f.s.Unban(f.ctx, g.ID, bob.ID); err != nil || !lifted {
		t.Errorf("Unban = %v, %v; want true, nil", lifted, err)
	}
	if lifted, err := f.s.Unban(f.ctx, g.ID, bob.ID); err != nil || lifted {
		t.Errorf("Unban twice = %v, %v; want false, nil", lifted, err)
	}
	f.join(t, g.ID, bob)
	if bans, err := f.s.Bans(f.ctx, "no-such-group"); err != nil || len(bans) != 0 {
		t.Errorf("Bans of an unknown group = %+v, %v; want none", bans, err)
	}
}

func testDeleteGroup(t *testing.T, f *fixture) {
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "gophers", alice, bob)
	other := f.group(t, "others", alice, bob)
	f.sendN(t, g.ID, alice, 3)
	f.sendN(t, other.ID, alice, 2)
	if _, err := f.s.Ban(f.ctx, g.ID, bob.ID, f.ts()); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteGroup(f.ctx, g.ID); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	_, err := f.s.GroupByName(f.ctx, "gophers")
	wantCode(t, "GroupByName after DeleteGroup", err, chat.ENotFound)
	_, err = f.s.ConversationState(f.ctx, g.ID, alice.ID)
	wantCode(t, "ConversationState after DeleteGroup", err, chat.ENotFound)
	if ms := f.members(t, g.ID); len(ms) != 0 {
		t.Errorf("Members after DeleteGroup = %q; want none", ms)
	}
	if ms := f.messages(t, g.ID, chat.HistoryQuery{Limit: 10}); len(ms) != 0 {
		t.Errorf("Messages after DeleteGroup = %d; want none", len(ms))
	}
	if got := seqs(f.messages(t, other.ID, chat.HistoryQuery{Limit: 10})); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("another group's messages = %v; want [1 2]", got)
	}
	err = f.s.DeleteGroup(f.ctx, g.ID)
	wantCode(t, "DeleteGroup twice", err, chat.ENotFound)
	d := f.direct(t, alice, bob)
	err = f.s.DeleteGroup(f.ctx, d.ID)
	wantCode(t, "DeleteGroup of a direct conversation", err, chat.ENotFound)
	// The name is free again, and the old ban went with the group.
	g2 := f.group(t, "gophers", alice, bob)
	if got := f.members(t, g2.ID); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("members of the new group = %q", got)
	}
}

func testSearchGroups(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	small := f.groupWith(t, "go-small", chat.VisibilityPublic, chat.HistoryAll, alice)
	big := f.groupWith(t, "go-big", chat.VisibilityPublic, chat.HistoryAll, alice)
	f.join(t, big.ID, bob)
	f.join(t, big.ID, carol)
	mid := f.groupWith(t, "rustaceans", chat.VisibilityPublic, chat.HistoryAll, bob)
	mid.Title = "Crabs who GO fast"
	if err := f.s.UpdateGroup(f.ctx, mid); err != nil {
		t.Fatal(err)
	}
	f.join(t, mid.ID, carol)
	f.groupWith(t, "go-secret", chat.VisibilityPrivate, chat.HistoryAll, alice)
	f.groupWith(t, "under_score", chat.VisibilityPublic, chat.HistoryAll, alice)

	names := func(q string, limit int) []string {
		gs, err := f.s.SearchGroups(f.ctx, q, limit)
		if err != nil {
			t.Fatalf("SearchGroups(%q): %v", q, err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	for _, tc := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"go", 10, []string{"go-big", "rustaceans", "go-small"}}, // title matches, any case; most members first
		{"GO-", 10, []string{"go-big", "go-small"}},
		{"", 10, []string{"go-big", "rustaceans", "go-small", "under_score"}},
		{"", 2, []string{"go-big", "rustaceans"}},
		{"secret", 10, nil}, // private groups are never listed
		{"o_s", 10, nil},    // '_' is a character, not a wildcard
		{"r_s", 10, []string{"under_score"}},
		{"%", 10, nil},
		{"nothing", 10, nil},
	} {
		if got := names(tc.q, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("SearchGroups(%q, %d) = %q; want %q", tc.q, tc.limit, got, tc.want)
		}
	}
	gs, err := f.s.SearchGroups(f.ctx, "go-big", 1)
	if err != nil || len(gs) != 1 || gs[0].MemberCount != 3 || gs[0].Conversation != big || gs[0].Title != big.Title {
		t.Errorf("SearchGroups(go-big) = %+v, %v; want %+v with 3 members", gs, err, big)
	}
	_ = small
}

func testBlocks(t *testing.T, f *fixture) {
	alice, bob, carol := f.user(t, "alice"), f.user(t, "bob"), f.user(t, "carol")
	for range 2 { // blocking twice is no error
		if err := f.s.Block(f.ctx, alice.ID, bob.ID, f.ts()); err != nil {
			t.Fatalf("Block: %v", err)
		}
	}
	if err := f.s.Block(f.ctx, carol.ID, bob.ID, f.ts()); err != nil {
		t.Fatalf("Block: %v", err)
	}
	if err := f.s.Block(f.ctx, alice.ID, carol.ID, f.ts()); err != nil {
		t.Fatalf("Block: %v", err)
	}
	err := f.s.Block(f.ctx, alice.ID, "no-such-user", f.ts())
	wantCode(t, "Block of an unknown user", err, chat.ENotFound)
	us, err := f.s.Blocks(f.ctx, alice.ID)
	if err != nil || len(us) != 2 || us[0].Username != "bob" || us[1].Username != "carol" || us[0].DisplayName != bob.DisplayName {
		t.Errorf("Blocks(alice) = %+v, %v; want bob and carol", us, err)
	}
	ids, err := f.s.Blockers(f.ctx, bob.ID)
	want := []string{alice.ID, carol.ID}
	slices.Sort(want)
	if err != nil || !slices.Equal(ids, want) {
		t.Errorf("Blockers(bob) = %q, %v; want %q", ids, err, want)
	}
	if lifted, err := f.s.Unblock(f.ctx, alice.ID, bob.ID); err != nil || !lifted {
		t.Errorf("Unblock = %v, %v; want true, nil", lifted, err)
	}
	if lifted, err := f.s.Unblock(f.ctx, alice.ID, bob.ID); err != nil || lifted {
		t.Errorf("Unblock twice = %v, %v; want false, nil", lifted, err)
	}
	if ids, err := f.s.Blockers(f.ctx, bob.ID); err != nil || !slices.Equal(ids, []string{carol.ID}) {
		t.Errorf("Blockers(bob) after the unblock = %q, %v; want carol", ids, err)
	}
	if us, err := f.s.Blocks(f.ctx, bob.ID); err != nil || len(us) != 0 {
		t.Errorf("Blocks(bob) = %+v, %v; want none", us, err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
