// Package mediatest is the conformance suite for media.MetaStore, run by
// every store that implements it.
package mediatest

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/media"
)

// Store is a chat store that keeps media records too.
type Store interface {
	chat.Store
	media.MetaStore
}

// Run runs the suite; open returns an empty store for each subtest.
func Run(t *testing.T, open func(tb testing.TB) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"PutGet", testPutGet},
		{"Missing", testMissing},
		{"Duplicate", testDuplicate},
		{"UnknownUploader", testUnknownUploader},
		{"Access", testAccess},
		{"AccessEndsWithMembership", testLeave},
		{"Usage", testUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

// MustUser creates a user with the given id and username.
func MustUser(tb testing.TB, s chat.Store, id, name string) chat.User {
	tb.Helper()
	u := chat.User{ID: id, Username: name, DisplayName: name, CreatedAt: 1}
	if err := s.CreateUser(context.Background(), u, "hash"); err != nil {
		tb.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// MustGroup creates a group with the given id, creator and other members.
func MustGroup(tb testing.TB, s chat.Store, id string, creator string, members ...string) chat.Conversation {
	tb.Helper()
	ctx := context.Background()
	c := chat.Conversation{ID: id, Kind: chat.KindGroup, Name: "group-" + id, CreatedAt: 1}
	if err := s.CreateGroup(ctx, c, creator); err != nil {
		tb.Fatalf("CreateGroup(%s): %v", id, err)
	}
	for _, m := range members {
		if _, err := s.AddMember(ctx, id, m, 2); err != nil {
			tb.Fatalf("AddMember(%s, %s): %v", id, m, err)
		}
	}
	return c
}

// MustSendMedia stores a message from sender in conv carrying md.
func MustSendMedia(tb testing.TB, s chat.Store, msgID, conv, sender string, md chat.Media) {
	tb.Helper()
	a := &chat.Append{Message: chat.Message{ID: msgID, ConversationID: conv, SenderID: sender, TS: 3, Media: &md}}
	if err := s.AppendMessages(context.Background(), []*chat.Append{a}); err != nil {
		tb.Fatalf("AppendMessages: %v", err)
	}
	if a.Err != nil {
		tb.Fatalf("AppendMessages: %v", a.Err)
	}
}

// MustPutMedia records an upload of uploader and returns it.
func MustPutMedia(tb testing.TB, s media.MetaStore, id, uploader string) chat.Media {
	tb.Helper()
	md := chat.Media{ID: id, UploaderID: uploader, ContentType: "image/png", Size: 1234, Width: 640, Height: 480,
		SHA256: fmt.Sprintf("%064x", len(id)), CreatedAt: 1700000000000}
	if err := s.PutMedia(context.Background(), md); err != nil {
		tb.Fatalf("PutMedia(%s): %v", id, err)
	}
	return md
}

func wantCode(tb testing.TB, what string, err error, code string) {
	tb.Helper()
	if got := chat.ErrorCode(err); got != code {
		tb.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func testPutGet(t *testing.T, s Store) {
	MustUser(t, s, "u1", "alice")
	want := MustPutMedia(t, s, "m1", "u1")
	text := chat.Media{ID: "m2", UploaderID: "u1", ContentType: "text/plain; charset=utf-8", Size: 0,
		SHA256: fmt.Sprintf("%064x", 0), CreatedAt: 5}
	if err := s.PutMedia(context.Background(), text); err != nil {
		t.Fatalf("PutMedia(text): %v", err)
	}
	for _, w := range []chat.Media{want, text} {
		got, err := s.Media(context.Background(), w.ID)
		if err != nil {
			t.Fatalf("Media(%s): %v", w.ID, err)
		}
		if got != w {
			t.Errorf("Media(%s) = %+v, want %+v", w.ID, got, w)
		}
	}
}

func testMissing(t *testing.T, s Store) {
	_, err := s.Media(context.Background(), "nope")
	wantCode(t, "Media(missing)", err, chat.ENotFound)
	MustUser(t, s, "u1", "alice")
	ok, err := s.CanAccessMedia(context.Background(), "nope", "u1")
	if err != nil || ok {
		t.Errorf("CanAccessMedia(missing) = %v, %v; want false, nil", ok, err)
	}
}

func testDuplicate(t *testing.T, s Store) {
	MustUser(t, s, "u1", "alice")
	md := MustPutMedia(t, s, "m1", "u1")
	md.Size = 99
	wantCode(t, "PutMedia(same id)", s.PutMedia(context.Background(), md), chat.EConflict)
	got, err := s.Media(context.Background(), "m1")
	if err != nil || got.Size != 1234 {
		t.Errorf("Media after a conflicting put = %+v, %v; want the first record", got, err)
	}
}

func testUnknownUploader(t *testing.T, s Store) {
	md := chat.Media{ID: "m1", UploaderID: "ghost", ContentType: "image/png", Size: 1, SHA256: "x", CreatedAt: 1}
	if err := s.PutMedia(context.Background(), md); err == nil {
		t.Fatalf("PutMedia with an unknown uploader succeeded")
	}
}

// testAccess is invariant 6 as a table: the uploader, members of a group
// and the parties of a direct conversation where the media was sent, and
// nobody else.
func testAccess(t *testing.T, s Store) {
	ctx := context.Background()
	alice := MustUser(t, s, "u1", "alice")
	bob := MustUser(t, s, "u2", "bob")
	carol := MustUser(t, s, "u3", "carol")
	dave := MustUser(t, s, "u4", "dave")
	erin := MustUser(t, s, "u5", "erin")

	sentToGroup := MustPutMedia(t, s, "m-group", alice.ID)
	sentDirect := MustPutMedia(t, s, "m-direct", alice.ID)
	unsent := MustPutMedia(t, s, "m-unsent", alice.ID)
	other := MustPutMedia(t, s, "m-other", erin.ID)

	g := MustGroup(t, s, "g1", alice.ID, bob.ID)
	MustGroup(t, s, "g2", carol.ID, alice.ID) // carol shares a group with alice, not the media
	MustSendMedia(t, s, "msg1", g.ID, alice.ID, sentToGroup)
	d, err := s.DirectConversation(ctx, "d1", alice.ID, dave.ID, 1)
	if err != nil {
		t.Fatalf("DirectConversation: %v", err)
	}
	MustSendMedia(t, s, "msg2", d.ID, alice.ID, sentDirect)

	cases := []struct {
		media, user string
		want        bool
	}{
		{sentToGroup.ID, alice.ID, true}, // uploader
		{sentToGroup.ID, bob.ID, true},   // member of the group
		{sentToGroup.ID, carol.ID, false},
		{sentToGroup.ID, dave.ID, false},
		{sentDirect.ID, dave.ID, true}, // the other party
		{sentDirect.ID, bob.ID, false},
		{unsent.ID, alice.ID, true},
		{unsent.ID, bob.ID, false},
		{other.ID, erin.ID, true},
		{other.ID, alice.ID, false},
		{sentToGroup.ID, "nobody", false},
	}
	for _, c := range cases {
		got, err := s.CanAccessMedia(ctx, c.media, c.user)
		if err != nil {
			t.Fatalf("CanAccessMedia(%s, %s): %v", c.media, c.user, err)
		}
		if got != c.want {
			t.Errorf("CanAccessMedia(%s, %s) = %v, want %v", c.media, c.user, got, c.want)
		}
	}
}

// testLeave checks that a member who leaves loses access and one who joins
// later gains it (the history is the group's).
func testLeave(t *testing.T, s Store) {
	ctx := context.Background()
	alice := MustUser(t, s, "u1", "alice")
	bob := MustUser(t, s, "u2", "bob")
	carol := MustUser(t, s, "u3", "carol")
	md := MustPutMedia(t, s, "m1", alice.ID)
	g := MustGroup(t, s, "g1", alice.ID, bob.ID)
	MustSendMedia(t, s, "msg1", g.ID, alice.ID, md)

	check := func(user string, want bool) {
		t.Helper()
		got, err := s.CanAccessMedia(ctx, md.ID, user)
		if err != nil || got != want {
			t.Errorf("CanAccessMedia(%s) = %v, %v; want %v", user, got, err, want)
		}
	}
	check(bob.ID, true)
	if _, err := s.RemoveMember(ctx, g.ID, bob.ID); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	check(bob.ID, false)
	check(carol.ID, false)
	if _, err := s.AddMember(ctx, g.ID, carol.ID, 5); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	check(carol.ID, true)
}

// testUsage: a user's uploads since a time (with the oldest of them) and
// the bytes of all their uploads; other users' uploads do not count.
func testUsage(t *testing.T, s Store) {
	ctx := context.Background()
	MustUser(t, s, "u1", "alice")
	MustUser(t, s, "u2", "bob")
	MustUser(t, s, "u3", "carol")
	for i, m := range []struct {
		uploader string
		size     int64
		at       int64
	}{
		{"u1", 100, 1000}, {"u1", 20, 2000}, {"u1", 3, 3000}, {"u1", 5_000_000_000, 3000}, {"u2", 7, 2500},
	} {
		md := chat.Media{ID: fmt.Sprintf("m%d", i), UploaderID: m.uploader, ContentType: "text/plain; charset=utf-8",
			Size: m.size, SHA256: fmt.Sprintf("%064x", i), CreatedAt: m.at}
		if err := s.PutMedia(ctx, md); err != nil {
			t.Fatalf("PutMedia: %v", err)
		}
	}
	cases := []struct {
		user  string
		since int64
		want  chat.MediaUsage
	}{
		{"u1", 0, chat.MediaUsage{Uploads: 4, Oldest: 1000, Bytes: 5_000_000_123}},
		{"u1", 1000, chat.MediaUsage{Uploads: 4, Oldest: 1000, Bytes: 5_000_000_123}},
		{"u1", 1001, chat.MediaUsage{Uploads: 3, Oldest: 2000, Bytes: 5_000_000_123}},
		{"u1", 3001, chat.MediaUsage{Uploads: 0, Oldest: 0, Bytes: 5_000_000_123}},
		{"u2", 0, chat.MediaUsage{Uploads: 1, Oldest: 2500, Bytes: 7}},
		{"u3", 0, chat.MediaUsage{}},
		{"nobody", 0, chat.MediaUsage{}},
	}
	for _, c := range cases {
		got, err := s.MediaUsage(ctx, c.user, c.since)
		if err != nil {
			t.Fatalf("MediaUsage(%s, %d): %v", c.user, c.since, err)
		}
		if got != c.want {
			t.Errorf("MediaUsage(%s, %d) = %+v, want %+v", c.user, c.since, got, c.want)
		}
	}
}
