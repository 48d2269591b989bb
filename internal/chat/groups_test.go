package chat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestGroupMembership(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", true)
	bob := c.user(t, "bob", true)
	g, err := c.svc.CreateGroup(ctx, c.session(alice), "Team", chat.GroupSettings{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name != "team" || g.Title != "team" {
		t.Fatalf("group %q titled %q; want the name lowercased and the title defaulting to it", g.Name, g.Title)
	}
	_, err = c.svc.CreateGroup(ctx, c.session(bob), "team", chat.GroupSettings{})
	wantCode(t, err, chat.EConflict)
	_, err = c.svc.CreateGroup(ctx, c.session(bob), "x", chat.GroupSettings{})
	wantCode(t, err, chat.EBadRequest)
	_, err = c.svc.CreateGroup(ctx, c.session(bob), "long-title", chat.GroupSettings{Title: ptr(strings.Repeat("t", chat.MaxGroupTitle+1))})
	wantCode(t, err, chat.EBadRequest)
	_, err = c.svc.CreateGroup(ctx, c.session(bob), "disguised", chat.GroupSettings{Title: ptr("team\u202Emoor")})
	wantCode(t, err, chat.EBadRequest)
	_, err = c.svc.CreateGroup(ctx, c.session(bob), "nul-title", chat.GroupSettings{Title: ptr("a\x00b")})
	wantCode(t, err, chat.EBadRequest)

	_, err = c.svc.GroupMembers(ctx, c.session(bob), "team")
	wantCode(t, err, chat.EForbidden)
	if _, err := c.svc.JoinGroup(ctx, c.session(bob), "team"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.JoinGroup(ctx, c.session(bob), "team"); err != nil {
		t.Fatalf("joining twice: %v", err)
	}
	c.got.wait(t, "joined", func(ev chat.Event) bool {
		return ev.Kind == chat.EventMember && ev.Member.Event == chat.MemberJoined && ev.Member.UserID == bob.UserID && ev.Member.Members == 2
	})
	ms, err := c.svc.GroupMembers(ctx, c.session(bob), "team")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Username != "alice" || ms[1].Username != "bob" || !ms[0].Online {
		t.Fatalf("members %+v", ms)
	}
	c.mustSend(t, bob, chat.SendRequest{Conversation: g.ID, Text: "hi all"})

	if err := c.svc.LeaveGroup(ctx, c.session(bob), "team"); err != nil {
		t.Fatal(err)
	}
	ev := c.got.wait(t, "left", func(ev chat.Event) bool {
		return ev.Kind == chat.EventMember && ev.Member.Event == chat.MemberLeft && ev.Member.UserID == bob.UserID
	})
	if !contains(ev.Recipients, bob.UserID) {
		t.Fatal("the one who left was not told")
	}
	// The member cache was cleared: the sender who left is refused at once.
	_, err = c.send(bob, chat.SendRequest{Conversation: g.ID, Text: "still here?"})
	wantCode(t, err, chat.EForbidden)
	err = c.svc.LeaveGroup(ctx, c.session(bob), "team")
	wantCode(t, err, chat.ENotFound)
	_, err = c.svc.History(ctx, c.session(bob), g.ID, chat.HistoryQuery{})
	wantCode(t, err, chat.EForbidden)
	_, err = c.svc.JoinGroup(ctx, c.session(bob), "nosuchgroup")
	wantCode(t, err, chat.ENotFound)
}

func TestHistoryQueries(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	alice := c.user(t, "alice", false)
	c.user(t, "bob", false)
	var conv string
	for range 5 {
		conv = c.mustSend(t, alice, chat.SendRequest{ToUser: "bob", Text: "m"}).ConversationID
	}
	for _, tc := range []struct {
		name string
		q    chat.HistoryQuery
		code string
		seqs []int64
	}{
		{"the newest page", chat.HistoryQuery{Limit: 2}, "", []int64{4, 5}},
		{"after a seq", chat.HistoryQuery{After: 2, Limit: 2}, "", []int64{3, 4}},
		{"before a seq", chat.HistoryQuery{Before: 3}, "", []int64{1, 2}},
		{"both", chat.HistoryQuery{After: 1, Before: 4}, chat.EBadRequest, nil},
		{"negative", chat.HistoryQuery{After: -1}, chat.EBadRequest, nil},
		{"over the page limit", chat.HistoryQuery{Limit: chat.MaxHistoryLimit + 1}, chat.EBadRequest, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := c.svc.History(ctx, c.session(alice), conv, tc.q)
			wantCode(t, err, tc.code)
			var got []int64
			for _, m := range ms {
				got = append(got, m.Seq)
			}
			if !equal(got, tc.seqs) {
				t.Fatalf("seqs %v, want %v", got, tc.seqs)
			}
		})
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
func ptr[T any](v T) *T { return &v }
