package chat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

func TestSignupRefusals(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "taken", false)
	for _, tc := range []struct {
		name, username, password, display string
		code                              string
	}{
		{"a taken name, any case", "TAKEN", "a long password", "", chat.EConflict},
		{"a short name", "ab", "a long password", "", chat.EBadRequest},
		{"a long name", strings.Repeat("a", 33), "a long password", "", chat.EBadRequest},
		{"a name with a space", "a b c", "a long password", "", chat.EBadRequest},
		{"a short password", "fresh", "short", "", chat.EBadRequest},
		{"a long password", "fresh", strings.Repeat("p", chat.MaxPasswordLen+1), "", chat.EBadRequest},
		{"a long display name", "fresh", "a long password", strings.Repeat("d", chat.MaxDisplayName+1), chat.EBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.svc.Signup(ctx, tc.username, tc.password, tc.display)
			wantCode(t, err, tc.code)
		})
	}
	if _, _, err := c.store.UserByName(ctx, "fresh"); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("a refused signup stored its user: %v", err)
	}
}

func TestLoginAndSessions(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "alice", false)
	_, _, _, err := c.svc.Login(ctx, "alice", "the wrong password")
	wantCode(t, err, chat.EUnauthorized)
	_, _, _, err = c.svc.Login(ctx, "nobody", "a long password")
	wantCode(t, err, chat.EUnauthorized)
	token, sess, u, err := c.svc.Login(ctx, "Alice", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || sess.UserID != u.ID {
		t.Fatalf("session %+v for user %+v", sess, u)
	}
	got, err := c.svc.Authenticate(ctx, token)
	if err != nil || got.ID != sess.ID {
		t.Fatalf("authenticate: %+v, %v", got, err)
	}
	_, err = c.svc.Authenticate(ctx, token+"x")
	wantCode(t, err, chat.EUnauthorized)
	_, err = c.svc.Authenticate(ctx, "")
	wantCode(t, err, chat.EUnauthorized)

	c.clock.advance(31 * 24 * time.Hour)
	_, err = c.svc.Authenticate(ctx, token)
	wantCode(t, err, chat.EUnauthorized)

	token, sess, _, err = c.svc.Login(ctx, "alice", "a long password")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.svc.Logout(ctx, sess); err != nil {
		t.Fatal(err)
	}
	c.got.wait(t, "revoke", func(ev chat.Event) bool { return ev.Kind == chat.EventRevoke && ev.SessionID == sess.ID })
	_, err = c.svc.Authenticate(ctx, token)
	wantCode(t, err, chat.EUnauthorized)
}

func TestLoginBrake(t *testing.T) {
	c := newCore(t, options{})
	ctx := context.Background()
	c.user(t, "alice", false)
	for i := range 10 {
		_, _, _, err := c.svc.Login(ctx, "alice", "guess")
		if chat.ErrorCode(err) != chat.EUnauthorized {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	_, _, _, err := c.svc.Login(ctx, "alice", "guess")
	wantCode(t, err, chat.ERateLimited)
	c.clock.advance(7 * time.Second) // one failure's worth refilled
	_, _, _, err = c.svc.Login(ctx, "alice", "a long password")
	if err != nil {
		t.Fatalf("login after the brake refilled: %v", err)
	}
}
