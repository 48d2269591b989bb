package storetest

import (
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// ---- users and sessions

func testPing(t *testing.T, f *fixture) {
	if err := f.s.Ping(f.ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testUsers(t *testing.T, f *fixture) {
	want := chat.User{ID: f.id("u"), Username: "alice", DisplayName: "Alice A.", CreatedAt: f.ts()}
	if err := f.s.CreateUser(f.ctx, want, "argon2id$secret"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	got, hash, err := f.s.UserByName(f.ctx, "alice")
	if err != nil {
		t.Fatalf("UserByName: %v", err)
	}
	if got != want || hash != "argon2id$secret" {
		t.Errorf("UserByName = %+v, %q; want %+v, %q", got, hash, want, "argon2id$secret")
	}
	got, err = f.s.UserByID(f.ctx, want.ID)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	if got != want {
		t.Errorf("UserByID = %+v; want %+v", got, want)
	}
}

func testUserConflict(t *testing.T, f *fixture) {
	f.user(t, "alice")
	err := f.s.CreateUser(f.ctx, chat.User{ID: f.id("u"), Username: "alice", DisplayName: "Other", CreatedAt: f.ts()}, "h")
	wantCode(t, "CreateUser with a taken username", err, chat.EConflict)
	f.user(t, "alice2") // a different name is fine
}

func testUserNotFound(t *testing.T, f *fixture) {
	f.user(t, "alice")
	_, _, err := f.s.UserByName(f.ctx, "bob")
	wantCode(t, "UserByName(unknown)", err, chat.ENotFound)
	_, err = f.s.UserByID(f.ctx, "no-such-id")
	wantCode(t, "UserByID(unknown)", err, chat.ENotFound)
}

func testSetLastSeen(t *testing.T, f *fixture) {
	u := f.user(t, "alice")
	for _, ts := range []int64{baseTS + 5000, baseTS + 9000} {
		if err := f.s.SetLastSeen(f.ctx, ts, []string{u.ID}); err != nil {
			t.Fatalf("SetLastSeen: %v", err)
		}
		got, err := f.s.UserByID(f.ctx, u.ID)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if got.LastSeen != ts {
			t.Errorf("UserByID.LastSeen = %d; want %d", got.LastSeen, ts)
		}
		got, _, err = f.s.UserByName(f.ctx, u.Username)
		if err != nil {
			t.Fatalf("UserByName: %v", err)
		}
		if got.LastSeen != ts {
			t.Errorf("UserByName.LastSeen = %d; want %d", got.LastSeen, ts)
		}
	}
}

func testSessions(t *testing.T, f *fixture) {
	u := f.user(t, "alice")
	want := chat.Session{ID: f.id("s"), TokenHash: "feedbeef", UserID: u.ID, Username: u.Username, CreatedAt: f.ts(), ExpiresAt: baseTS + 1e9}
	in := want
	in.Username = "" // the store fills it in from the user
	if err := f.s.CreateSession(f.ctx, in); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	other := chat.Session{ID: f.id("s"), TokenHash: "0ddba11", UserID: u.ID, CreatedAt: f.ts(), ExpiresAt: baseTS + 1e9}
	if err := f.s.CreateSession(f.ctx, other); err != nil {
		t.Fatalf("CreateSession(second): %v", err)
	}
	got, err := f.s.SessionByTokenHash(f.ctx, "feedbeef")
	if err != nil {
		t.Fatalf("SessionByTokenHash: %v", err)
	}
	if got != want {
		t.Errorf("SessionByTokenHash = %+v; want %+v", got, want)
	}
	_, err = f.s.SessionByTokenHash(f.ctx, "unknown")
	wantCode(t, "SessionByTokenHash(unknown)", err, chat.ENotFound)

	if err := f.s.DeleteSession(f.ctx, want.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = f.s.SessionByTokenHash(f.ctx, "feedbeef")
	wantCode(t, "SessionByTokenHash after DeleteSession", err, chat.ENotFound)
	if err := f.s.DeleteSession(f.ctx, want.ID); err != nil {
		t.Errorf("DeleteSession(already deleted) = %v; want nil", err)
	}
	if err := f.s.DeleteSession(f.ctx, "never-existed"); err != nil {
		t.Errorf("DeleteSession(unknown) = %v; want nil", err)
	}
	if _, err := f.s.SessionByTokenHash(f.ctx, "0ddba11"); err != nil {
		t.Errorf("the other session: %v; want it kept", err)
	}
}

func testSetLastSeenMany(t *testing.T, f *fixture) {
	var ids []string
	for i := range 3000 {
		ids = append(ids, f.user(t, fmt.Sprintf("many%04d", i)).ID)
	}
	ids = append(ids, "no-such-user") // skipped, not an error
	if err := f.s.SetLastSeen(f.ctx, baseTS+7000, ids); err != nil {
		t.Fatalf("SetLastSeen of %d users: %v", len(ids), err)
	}
	// An older time does not overwrite a newer one.
	if err := f.s.SetLastSeen(f.ctx, baseTS+6000, ids[:10]); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ids[0], ids[9], ids[1500], ids[2999]} {
		u, err := f.s.UserByID(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if u.LastSeen != baseTS+7000 {
			t.Fatalf("user %s last seen %d; want %d", id, u.LastSeen, baseTS+7000)
		}
	}
	if err := f.s.SetLastSeen(f.ctx, baseTS, nil); err != nil {
		t.Fatalf("SetLastSeen of nobody: %v", err)
	}
}
