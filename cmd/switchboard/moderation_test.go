package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/client"
	"github.com/switchboard-chat/switchboard/wire"
)

// groupView is what a failed call must leave unchanged: the group as its
// owner sees it, its members with their roles, and its bans.
type groupView struct {
	Conv    wire.Conversation
	Members []wire.Member
	Bans    []wire.Ban
}

func viewGroup(t *testing.T, owner *client.Client, name, id string) groupView {
	t.Helper()
	convs, err := owner.Conversations(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := convByID(convs, id)
	ms, err := owner.Members(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ms {
		ms[i].Online = false // presence is not what is compared
	}
	bans, err := owner.Bans(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return groupView{c, ms, bans}
}

// TestGroupBadInput: each bad request gets its clear error and changes
// nothing.
func TestGroupBadInput(t *testing.T) {
	s := startServer(t)
	owner, admin, member, outsider := user(t, s, "bi-owner"), user(t, s, "bi-admin"), user(t, s, "bi-member"), user(t, s, "bi-outsider")
	g, err := owner.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: "bad-input", Title: "Bad input", Description: "d", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	if g.Role != "owner" || g.Visibility != "private" || g.History != "all" || g.MemberCount != 1 || g.Description != "d" {
		t.Fatalf("created %+v", g)
	}
	for _, u := range []string{"bi-admin", "bi-member"} {
		if _, err := owner.AddMember(ctxT(t), "bad-input", u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := owner.SetRole(ctxT(t), "bad-input", "bi-admin", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := outsider.Block(ctxT(t), "bi-owner"); err != nil {
		t.Fatal(err)
	}
	if err := owner.Ban(ctxT(t), "bad-input", "bi-banned-later"); client.ErrorCode(err) != "not_found" {
		t.Fatalf("banning an unknown user: %v", err)
	}
	long := func(n int) *string { s := strings.Repeat("é", n/2+1); return &s }
	empty, bogus := "", "secret"
	before := viewGroup(t, owner, "bad-input", g.ID)
	for _, tc := range []struct {
		name string
		do   func(ctx context.Context) error
		code string
		says string
	}{
		{"unknown role", func(ctx context.Context) error {
			_, err := owner.SetRole(ctx, "bad-input", "bi-member", "king")
			return err
		}, "bad_request", "role must be"},
		{"owner steps down without a transfer", func(ctx context.Context) error {
			_, err := owner.SetRole(ctx, "bad-input", "bi-owner", "admin")
			return err
		}, "bad_request", "needs an owner"},
		{"role of a non-member", func(ctx context.Context) error {
			_, err := owner.SetRole(ctx, "bad-input", "bi-outsider", "admin")
			return err
		}, "not_found", "not a member"},
		{"removing the owner", func(ctx context.Context) error { return admin.RemoveMember(ctx, "bad-input", "bi-owner") }, "forbidden", "owner cannot be removed"},
		{"an admin removing an admin", func(ctx context.Context) error {
			_, err := owner.SetRole(ctx, "bad-input", "bi-member", "admin")
			if err != nil {
				return err
			}
			defer owner.SetRole(ctx, "bad-input", "bi-member", "member")
			return admin.RemoveMember(ctx, "bad-input", "bi-member")
		}, "forbidden", "only the owner"},
		{"banning yourself", func(ctx context.Context) error { return admin.Ban(ctx, "bad-input", "bi-admin") }, "bad_request", "cannot ban yourself"},
		{"banning the owner", func(ctx context.Context) error { return admin.Ban(ctx, "bad-input", "bi-owner") }, "forbidden", "owner cannot be banned"},
		{"ban without a username", func(ctx context.Context) error { return admin.Ban(ctx, "bad-input", "") }, "bad_request", "username is required"},
		{"unbanning someone not banned", func(ctx context.Context) error { return admin.Unban(ctx, "bad-input", "bi-member") }, "not_found", "not banned"},
		{"the owner leaving", func(ctx context.Context) error { return owner.LeaveGroup(ctx, "bad-input") }, "conflict", "transfer ownership"},
		{"adding a user who blocks you", func(ctx context.Context) error {
			_, err := owner.AddMember(ctx, "bad-input", "bi-outsider")
			return err
		}, "forbidden", "does not accept"},
		{"adding an unknown user", func(ctx context.Context) error {
			_, err := owner.AddMember(ctx, "bad-input", "nobody-here")
			return err
		}, "not_found", "no user"},
		{"title over its limit", func(ctx context.Context) error {
			_, err := admin.EditGroup(ctx, "bad-input", wire.GroupPatch{Title: long(128)})
			return err
		}, "bad_request", "title is"},
		{"empty title", func(ctx context.Context) error {
			_, err := admin.EditGroup(ctx, "bad-input", wire.GroupPatch{Title: &empty})
			return err
		}, "bad_request", "must not be empty"},
		{"description over its limit", func(ctx context.Context) error {
			_, err := admin.EditGroup(ctx, "bad-input", wire.GroupPatch{Description: long(1024)})
			return err
		}, "bad_request", "description is"},
		{"unknown visibility", func(ctx context.Context) error {
			_, err := admin.EditGroup(ctx, "bad-input", wire.GroupPatch{Visibility: &bogus})
			return err
		}, "bad_request", "visibility must be"},
		{"unknown history", func(ctx context.Context) error {
			_, err := admin.EditGroup(ctx, "bad-input", wire.GroupPatch{History: &bogus})
			return err
		}, "bad_request", "history must be"},
		{"a member editing", func(ctx context.Context) error {
			d := "mine now"
			_, err := member.EditGroup(ctx, "bad-input", wire.GroupPatch{Description: &d})
			return err
		}, "forbidden", "only admins"},
		{"an admin deleting", func(ctx context.Context) error { return admin.DeleteGroup(ctx, "bad-input") }, "forbidden", "only the owner"},
		{"group name over its limit", func(ctx context.Context) error {
			_, err := owner.CreateGroupWith(ctx, wire.GroupRequest{Name: strings.Repeat("g", 33)})
			return err
		}, "bad_request", "3 to 32"},
		{"description over its limit at creation", func(ctx context.Context) error {
			_, err := owner.CreateGroupWith(ctx, wire.GroupRequest{Name: "another", Description: *long(1024)})
			return err
		}, "bad_request", "description is"},
		{"private creation with an unknown history", func(ctx context.Context) error {
			_, err := owner.CreateGroupWith(ctx, wire.GroupRequest{Name: "another", History: "forever"})
			return err
		}, "bad_request", "history must be"},
		{"directory query over its limit", func(ctx context.Context) error {
			_, err := owner.SearchGroups(ctx, strings.Repeat("q", 65), 0)
			return err
		}, "bad_request", "q is"},
		{"directory limit over its maximum", func(ctx context.Context) error {
			_, err := owner.SearchGroups(ctx, "", 101)
			return err
		}, "bad_request", "limit is 1 to 100"},
		{"blocking yourself", func(ctx context.Context) error { return owner.Block(ctx, "bi-owner") }, "bad_request", "cannot block yourself"},
		{"blocking an unknown user", func(ctx context.Context) error { return owner.Block(ctx, "nobody-here") }, "not_found", "no user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do(ctxT(t))
			var e *client.Error
			if client.ErrorCode(err) != tc.code || !errorAs(err, &e) || !strings.Contains(e.Message, tc.says) {
				t.Fatalf("error %v; want %s saying %q", err, tc.code, tc.says)
			}
			if after := viewGroup(t, owner, "bad-input", g.ID); !reflect.DeepEqual(after, before) {
				t.Fatalf("the group changed:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
	if gs, err := owner.SearchGroups(ctxT(t), "another", 0); err != nil || len(gs) != 0 {
		t.Fatalf("a failed creation left %+v, %v", gs, err)
	}
}

// TestBlocks: a blocked user cannot send you direct messages nor see your
// presence, until you unblock it.
func TestBlocks(t *testing.T) {
	s := startServer(t)
	ann, ben := user(t, s, "bl-ann"), user(t, s, "bl-ben")
	annConn, benConn := dial(t, ann, "web"), dial(t, ben, "web")
	if _, err := benConn.Send(ctxT(t), client.SendRequest{ToUser: "bl-ann", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	nextMessage(t, annConn)
	ps, err := benConn.PresenceSubscribe(ctxT(t), []string{"bl-ann"})
	if err != nil || len(ps) != 1 || !ps[0].Online {
		t.Fatalf("presence before the block: %+v, %v", ps, err)
	}
	if err := ann.Block(ctxT(t), "bl-ben"); err != nil {
		t.Fatal(err)
	}
	if err := ann.Block(ctxT(t), "BL-BEN"); err != nil {
		t.Fatalf("blocking twice: %v", err)
	}
	bs, err := ann.Blocks(ctxT(t))
	if err != nil || len(bs) != 1 || bs[0].Username != "bl-ben" {
		t.Fatalf("blocks = %+v, %v", bs, err)
	}
	_, err = benConn.Send(ctxT(t), client.SendRequest{ToUser: "bl-ann", Text: "are you there?"})
	wantCode(t, err, "forbidden")
	_, err = annConn.Send(ctxT(t), client.SendRequest{ToUser: "bl-ben", Text: "one last word"})
	wantCode(t, err, "forbidden")
	quiet(t, annConn, wire.TypeMessage)
	if u, err := ben.User(ctxT(t), "bl-ann"); err != nil || u.Online == nil || *u.Online || u.LastSeen == nil || *u.LastSeen != 0 {
		t.Fatalf("ann's profile as ben sees it: %+v, %v; want offline, never seen", u, err)
	}
	ps, err = benConn.PresenceSubscribe(ctxT(t), []string{"bl-ann"})
	if err != nil || len(ps) != 1 || ps[0].Online {
		t.Fatalf("presence after the block: %+v, %v; want offline", ps, err)
	}
	// ben's earlier subscription ended with the block: ann going away and
	// coming back tells him nothing.
	annConn.Close()
	time.Sleep(600 * time.Millisecond) // past the 300ms presence grace
	annConn = dial(t, ann, "web")
	quiet(t, benConn, wire.TypePresence)

	if err := ann.Unblock(ctxT(t), "bl-ben"); err != nil {
		t.Fatal(err)
	}
	if err := ann.Unblock(ctxT(t), "bl-ben"); err != nil {
		t.Fatalf("unblocking twice: %v", err)
	}
	if _, err := benConn.Send(ctxT(t), client.SendRequest{ToUser: "bl-ann", Text: "friends again"}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, annConn); m.Text != "friends again" {
		t.Fatalf("got %+v", m)
	}
	if u, err := ben.User(ctxT(t), "bl-ann"); err != nil || !*u.Online {
		t.Fatalf("ann's profile after the unblock: %+v, %v", u, err)
	}
}

// TestSinceJoinHistory: in a since_join group a joiner reads, syncs and
// fetches media only from the seq at which it joined.
func TestSinceJoinHistory(t *testing.T) {
	s := startServer(t)
	owner, late := user(t, s, "sj-owner"), user(t, s, "sj-late")
	g, err := owner.CreateGroupWith(ctxT(t), wire.GroupRequest{Name: "since-join", History: "since_join"})
	if err != nil {
		t.Fatal(err)
	}
	oc := dial(t, owner, "web")
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	early, err := owner.UploadMedia(ctxT(t), "image/png", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "before you came", MediaID: early.ID}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: fmt.Sprintf("before %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := late.JoinGroup(ctxT(t), "since-join"); err != nil {
		t.Fatal(err)
	}
	after, err := oc.Send(ctxT(t), client.SendRequest{Conversation: g.ID, Text: "after you came"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []client.HistoryQuery{{}, {After: 1}, {Before: 10}, {Before: 3}} {
		ms, err := late.Messages(ctxT(t), g.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range ms {
			got = append(got, m.Seq)
		}
		want := []int64{after.Seq}
		if q.Before == 3 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("history %+v as the late joiner: seqs %v; want %v", q, got, want)
		}
	}
	lc := dial(t, late, "web")
	if _, err := lc.Sync(ctxT(t), map[string]int64{g.ID: 0}); err != nil {
		t.Fatal(err)
	}
	if m := nextMessage(t, lc); m.Seq != after.Seq {
		t.Fatalf("sync from 0 pushed seq %d first; want %d", m.Seq, after.Seq)
	}
	if _, err := late.OpenMedia(ctxT(t), early.ID); client.ErrorCode(err) != "forbidden" && client.ErrorCode(err) != "not_found" {
		t.Fatalf("media sent before the join: %v; want refused", err)
	}
	// Switched to all, the same member reads everything.
	all := "all"
	if _, err := owner.EditGroup(ctxT(t), "since-join", wire.GroupPatch{History: &all}); err != nil {
		t.Fatal(err)
	}
	if ms, err := late.Messages(ctxT(t), g.ID, client.HistoryQuery{}); err != nil || len(ms) != 4 {
		t.Fatalf("history with history all: %d messages, %v; want 4", len(ms), err)
	}
	resp, err := late.OpenMedia(ctxT(t), early.ID)
	if err != nil {
		t.Fatalf("media with history all: %v", err)
	}
	resp.Body.Close()
}

func errorAs(err error, e **client.Error) bool {
	for err != nil {
		if ce, ok := err.(*client.Error); ok {
			*e = ce
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
