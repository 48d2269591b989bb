package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- accounts and operators (chat.AccountStore)

func (f *fixture) accounts(tb testing.TB) chat.AccountStore {
	tb.Helper()
	as, ok := f.s.(chat.AccountStore)
	if !ok {
		tb.Fatalf("%T does not implement chat.AccountStore", f.s)
	}
	return as
}

func (f *fixture) session(tb testing.TB, u chat.User) chat.Session {
	tb.Helper()
	s := chat.Session{ID: f.id("s"), TokenHash: f.id("t"), UserID: u.ID, CreatedAt: f.ts(), ExpiresAt: baseTS + 1e9}
	if err := f.s.CreateSession(f.ctx, s); err != nil {
		tb.Fatalf("CreateSession: %v", err)
	}
	return s
}

func testProfileAndRoles(t *testing.T, f *fixture) {
	as := f.accounts(t)
	u := f.user(t, "alice")
	if err := as.SetProfile(f.ctx, u.ID, "Alice Liddell", "media-1"); err != nil {
		t.Fatalf("SetProfile: %v", err)
	}
	if err := as.SetAdmin(f.ctx, u.ID, true); err != nil {
		t.Fatalf("SetAdmin: %v", err)
	}
	if err := as.SetPasswordHash(f.ctx, u.ID, "new-hash"); err != nil {
		t.Fatalf("SetPasswordHash: %v", err)
	}
	got, hash, err := f.s.UserByName(f.ctx, "alice")
	if err != nil {
		t.Fatalf("UserByName: %v", err)
	}
	want := u
	want.DisplayName, want.AvatarID, want.Admin = "Alice Liddell", "media-1", true
	if got != want || hash != "new-hash" {
		t.Errorf("after changes: %+v, %q; want %+v, %q", got, hash, want, "new-hash")
	}
	if err := as.SetAdmin(f.ctx, u.ID, false); err != nil {
		t.Fatalf("SetAdmin(false): %v", err)
	}
	if got, _ := f.s.UserByID(f.ctx, u.ID); got.Admin {
		t.Errorf("Admin after SetAdmin(false) = true")
	}
	for name, err := range map[string]error{
		"SetProfile":      as.SetProfile(f.ctx, "nobody", "x", ""),
		"SetPasswordHash": as.SetPasswordHash(f.ctx, "nobody", "x"),
		"SetAdmin":        as.SetAdmin(f.ctx, "nobody", true),
		"SetSuspended":    as.SetSuspended(f.ctx, "nobody", 1),
	} {
		wantCode(t, name+"(unknown user)", err, chat.ENotFound)
	}
}

func testUserSessions(t *testing.T, f *fixture) {
	as := f.accounts(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	s1, s2, s3 := f.session(t, alice), f.session(t, alice), f.session(t, alice)
	other := f.session(t, bob)
	got, err := as.UserSessions(f.ctx, alice.ID)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(got) != 3 || got[0].ID != s3.ID || got[2].ID != s1.ID || got[0].Username != "alice" {
		t.Fatalf("UserSessions = %+v; want s3, s2, s1 of alice", got)
	}
	ids, err := as.DeleteUserSessions(f.ctx, alice.ID, s2.ID)
	if err != nil {
		t.Fatalf("DeleteUserSessions: %v", err)
	}
	if len(ids) != 2 || !(ids[0] == s1.ID || ids[1] == s1.ID) || !(ids[0] == s3.ID || ids[1] == s3.ID) {
		t.Errorf("DeleteUserSessions removed %v; want %s and %s", ids, s1.ID, s3.ID)
	}
	for _, s := range []chat.Session{s1, s3} {
		_, err := f.s.SessionByTokenHash(f.ctx, s.TokenHash)
		wantCode(t, "removed session", err, chat.ENotFound)
	}
	for _, s := range []chat.Session{s2, other} {
		if _, err := f.s.SessionByTokenHash(f.ctx, s.TokenHash); err != nil {
			t.Errorf("kept session %s: %v", s.ID, err)
		}
	}
	if ids, err := as.DeleteUserSessions(f.ctx, alice.ID, ""); err != nil || len(ids) != 1 || ids[0] != s2.ID {
		t.Errorf("DeleteUserSessions(all) = %v, %v; want [%s]", ids, err, s2.ID)
	}
	if got, err := as.UserSessions(f.ctx, alice.ID); err != nil || len(got) != 0 {
		t.Errorf("UserSessions after removing all = %v, %v; want none", got, err)
	}
}

func testSuspended(t *testing.T, f *fixture) {
	as := f.accounts(t)
	u := f.user(t, "alice")
	s := f.session(t, u)
	if err := as.SetSuspended(f.ctx, u.ID, f.ts()); err != nil {
		t.Fatalf("SetSuspended: %v", err)
	}
	_, err := f.s.SessionByTokenHash(f.ctx, s.TokenHash)
	wantCode(t, "session of a suspended user", err, chat.ENotFound)
	if got, _ := f.s.UserByID(f.ctx, u.ID); !got.Suspended {
		t.Errorf("Suspended = false after SetSuspended")
	}
	if err := as.SetSuspended(f.ctx, u.ID, 0); err != nil {
		t.Fatalf("SetSuspended(0): %v", err)
	}
	if _, err := f.s.SessionByTokenHash(f.ctx, s.TokenHash); err != nil {
		t.Errorf("session after lifting the suspension: %v", err)
	}
}

func testDeleteUser(t *testing.T, f *fixture) {
	as := f.accounts(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "team", alice, bob)
	d := f.direct(t, alice, bob)
	m := f.send(t, g.ID, alice, "hello from alice")
	s := f.session(t, alice)
	bs := f.session(t, bob)
	ps, ok := f.s.(chat.PushStore)
	if !ok {
		t.Fatalf("%T keeps no push subscriptions", f.s)
	}
	sub := chat.PushSubscription{Endpoint: "https://push.example/alice", UserID: alice.ID, P256dh: "k", Auth: "a", Device: "d", CreatedAt: f.ts()}
	if err := ps.PutSubscription(f.ctx, sub, 10); err != nil {
		t.Fatal(err)
	}
	ids, err := as.DeleteUser(f.ctx, alice.ID, f.ts())
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if len(ids) != 1 || ids[0] != s.ID {
		t.Errorf("DeleteUser removed sessions %v; want [%s]", ids, s.ID)
	}
	wantCode(t, "the deleted user's push subscription", ps.DeleteSubscription(f.ctx, alice.ID, sub.Endpoint), chat.ENotFound)
	got, hash, err := f.s.UserByName(f.ctx, "alice")
	if err != nil {
		t.Fatalf("UserByName(deleted): %v; the username stays reserved", err)
	}
	if !got.Deleted || got.DisplayName != chat.DeletedDisplayName || hash != "" || got.Admin || got.AvatarID != "" {
		t.Errorf("deleted user = %+v, hash %q", got, hash)
	}
	err = f.s.CreateUser(f.ctx, chat.User{ID: f.id("u"), Username: "alice", DisplayName: "x", CreatedAt: f.ts()}, "h")
	wantCode(t, "CreateUser with a deleted user's name", err, chat.EConflict)
	for _, c := range []string{g.ID, d.ID} {
		if ms := f.members(t, c); len(ms) != 1 || ms[0] != "bob" {
			t.Errorf("members of %s after deletion = %v; want [bob]", c, ms)
		}
	}
	h := f.history(t, g.ID)
	if len(h) != 1 || h[0].ID != m.ID || h[0].Text != "hello from alice" || h[0].Sender != "alice" {
		t.Errorf("history after deletion = %v; want alice's message kept", h)
	}
	if _, err := f.s.SessionByTokenHash(f.ctx, bs.TokenHash); err != nil {
		t.Errorf("bob's session: %v", err)
	}
	_, err = as.DeleteUser(f.ctx, alice.ID, f.ts())
	wantCode(t, "DeleteUser twice", err, chat.ENotFound)
	if c, err := as.Counts(f.ctx); err != nil || c.Users != 1 {
		t.Errorf("Counts().Users = %d, %v; want 1 (deleted users do not count)", c.Users, err)
	}
}

func testSearchUsers(t *testing.T, f *fixture) {
	as := f.accounts(t)
	for _, n := range []string{"alice", "alina", "bob", "carol"} {
		f.user(t, n)
	}
	if err := as.SetProfile(f.ctx, mustUser(t, f, "carol").ID, "Carol ALInsky", ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query, after string
		limit        int
		want         []string
	}{
		{"", "", 10, []string{"alice", "alina", "bob", "carol"}},
		{"ali", "", 10, []string{"alice", "alina", "carol"}},
		{"ALI", "", 2, []string{"alice", "alina"}},
		{"ali", "alina", 10, []string{"carol"}},
		{"%", "", 10, nil},
		{"_", "", 10, nil},
		{"zzz", "", 10, nil},
	}
	for _, tt := range tests {
		us, err := as.SearchUsers(f.ctx, tt.query, tt.after, tt.limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q): %v", tt.query, err)
		}
		var got []string
		for _, u := range us {
			got = append(got, u.Username)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("SearchUsers(%q, after %q, %d) = %v; want %v", tt.query, tt.after, tt.limit, got, tt.want)
		}
	}
}

func mustUser(tb testing.TB, f *fixture, name string) chat.User {
	tb.Helper()
	u, _, err := f.s.UserByName(f.ctx, name)
	if err != nil {
		tb.Fatalf("UserByName(%q): %v", name, err)
	}
	return u
}

func testAudit(t *testing.T, f *fixture) {
	as := f.accounts(t)
	var want []chat.AuditEntry
	for i := range 5 {
		e := chat.AuditEntry{ID: f.id("a"), TS: f.ts(), ActorID: "u1", Actor: "root", Action: chat.AuditSuspend,
			Target: fmt.Sprintf("user%d", i), Details: "why"}
		if err := as.AppendAudit(f.ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
		want = append([]chat.AuditEntry{e}, want...)
	}
	got, err := as.Audit(f.ctx, "", 3)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want[:3]) {
		t.Errorf("Audit(newest 3) = %v, %v; want %v", got, err, want[:3])
	}
	got, err = as.Audit(f.ctx, want[2].ID, 10)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want[3:]) {
		t.Errorf("Audit(before %s) = %v, %v; want %v", want[2].ID, got, err, want[3:])
	}
}

func testSentMessagesAndMedia(t *testing.T, f *fixture) {
	as := f.accounts(t)
	alice, bob := f.user(t, "alice"), f.user(t, "bob")
	g := f.group(t, "team", alice, bob)
	d := f.direct(t, alice, bob)
	left := f.group(t, "left", bob, alice)
	gone := f.group(t, "gone", alice, bob)
	quiet := f.group(t, "quiet", bob, alice) // alice never sends here
	sent := map[string][]chat.Message{}
	keep := func(m chat.Message) { sent[m.ConversationID] = append(sent[m.ConversationID], m) }
	// bob speaks first in d and left, so alice's first seq there is not 1.
	f.send(t, d.ID, bob, "b first")
	f.send(t, left.ID, bob, "welcome")
	for i := range 5 {
		keep(f.send(t, g.ID, alice, fmt.Sprintf("a%d", i)))
		f.send(t, d.ID, bob, fmt.Sprintf("b%d", i))
		f.send(t, quiet.ID, bob, fmt.Sprintf("q%d", i))
	}
	keep(f.send(t, d.ID, alice, "to bob"))
	f.send(t, gone.ID, alice, "soon gone")
	// A batch in which alice's first message in a conversation is not the
	// batch's first (first_seq is hers, not the batch's), and in which she
	// sends twice into a conversation new to her (first_seq is the first of
	// the two, not the last).
	for _, a := range f.append(t, f.msg(g.ID, bob, "b in batch"), f.msg(g.ID, alice, "a in batch"), f.msg(d.ID, alice, "d in batch"),
		f.msg(left.ID, alice, "hi"), f.msg(left.ID, alice, "bye")) {
		if a.Err != nil || a.Duplicate {
			t.Fatalf("append: %v, duplicate %v", a.Err, a.Duplicate)
		}
		if a.Result.SenderID == alice.ID {
			keep(a.Result)
		}
	}
	// A retry is not listed twice.
	once := f.msg(g.ID, alice, "once")
	keep(f.append(t, once)[0].Result)
	retry := f.msg(g.ID, alice, "once")
	retry.ClientMsgID = once.ClientMsgID
	if a := f.append(t, retry)[0]; !a.Duplicate {
		t.Fatalf("retry: duplicate %v, err %v", a.Duplicate, a.Err)
	}
	// Messages in a conversation alice left are still hers; in a deleted
	// one they are gone.
	if _, err := f.s.RemoveMember(f.ctx, left.ID, alice.ID); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	if err := f.s.DeleteGroup(f.ctx, gone.ID); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}

	var want []string
	for _, c := range slices.Sorted(maps.Keys(sent)) {
		for _, m := range sent[c] {
			want = append(want, m.ID)
		}
	}
	for _, limit := range []int{1, 2, 4, 100} {
		var got []string
		var after chat.SentCursor
		for page := 0; page < 50; page++ {
			ms, err := as.SentMessages(f.ctx, alice.ID, after, limit)
			if err != nil {
				t.Fatalf("SentMessages: %v", err)
			}
			if len(ms) > limit {
				t.Fatalf("SentMessages(limit %d) gave %d", limit, len(ms))
			}
			if len(ms) == 0 {
				break
			}
			for _, m := range ms {
				if m.SenderID != alice.ID || m.Sender != "alice" {
					t.Errorf("SentMessages gave %s's message %q", m.Sender, m.Text)
				}
				got = append(got, m.ID)
			}
			last := ms[len(ms)-1]
			after = chat.SentCursor{ConversationID: last.ConversationID, Seq: last.Seq}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SentMessages pages of %d = %v; want %v", limit, got, want)
		}
	}
	if ms, err := as.SentMessages(f.ctx, f.user(t, "carol").ID, chat.SentCursor{}, 10); err != nil || len(ms) != 0 {
		t.Errorf("SentMessages(carol) = %v, %v; want none", ms, err)
	}
	put, ok := f.s.(interface {
		PutMedia(ctx context.Context, m chat.Media) error
	})
	if !ok {
		t.Fatalf("%T keeps no media", f.s)
	}
	m1 := chat.Media{ID: f.id("md"), UploaderID: alice.ID, ContentType: "image/png", Size: 5, SHA256: "x", CreatedAt: f.ts()}
	m2 := chat.Media{ID: f.id("md"), UploaderID: bob.ID, ContentType: "image/png", Size: 5, SHA256: "y", CreatedAt: f.ts()}
	for _, m := range []chat.Media{m1, m2} {
		if err := put.PutMedia(f.ctx, m); err != nil {
			t.Fatalf("PutMedia: %v", err)
		}
	}
	ms, err := as.UserMedia(f.ctx, alice.ID)
	if err != nil || len(ms) != 1 || ms[0] != m1 {
		t.Errorf("UserMedia(alice) = %+v, %v; want [%+v]", ms, err, m1)
	}
}
