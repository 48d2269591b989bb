package chat_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/password"
)

func TestSignupRefusals(t *testing.T) {
	c := newCore(t, options{common: func(pw string) bool { return pw == "password123" }})
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
		{"a Kelvin sign that lowercases to k", "\u212Aelvin", "a long password", "", chat.EBadRequest},
		{"a password of spaces", "fresh", "          ", "", chat.EBadRequest},
		{"a common password", "fresh", "password123", "", chat.EBadRequest},
		{"a display name with NUL", "fresh", "a long password", "Fresh\x00", chat.EBadRequest},
		{"a display name with a bidi override", "fresh", "a long password", "evil\u202Egnp.exe", chat.EBadRequest},
		{"a display name with a bidi isolate", "fresh", "a long password", "a\u2067b", chat.EBadRequest},
		{"a display name with a zero-width space", "fresh", "a long password", "ad\u200Bmin", chat.EBadRequest},
		{"a display name with a newline", "fresh", "a long password", "two\nlines", chat.EBadRequest},
		{"a blank display name", "fresh", "a long password", "   ", chat.EBadRequest},
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
	ctx := context.Background()
	at := func(addr string) context.Context { return chat.WithPeer(ctx, addr) }
	t.Run("guesses from one address, then wait", func(t *testing.T) {
		c := newCore(t, options{})
		c.user(t, "alice", false)
		for i := range 10 {
			_, _, _, err := c.svc.Login(at("10.0.0.1"), "alice", "guess")
			if chat.ErrorCode(err) != chat.EUnauthorized {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		_, _, _, err := c.svc.Login(at("10.0.0.1"), "alice", "guess")
		wantCode(t, err, chat.ERateLimited)
		if chat.RetryAfter(err) <= 0 {
			t.Fatal("a refused login does not say when to retry")
		}
		// The owner, from another address, is not locked out.
		if _, _, _, err := c.svc.Login(at("10.0.0.2"), "alice", "a long password"); err != nil {
			t.Fatalf("the owner from elsewhere: %v", err)
		}
		c.clock.advance(7 * time.Second) // one failure's worth refilled
		if _, _, _, err := c.svc.Login(at("10.0.0.1"), "alice", "a long password"); err != nil {
			t.Fatalf("login after the brake refilled: %v", err)
		}
	})
	t.Run("parallel guesses are all counted", func(t *testing.T) {
		c := newCore(t, options{})
		c.user(t, "alice", false)
		var wg sync.WaitGroup
		var unauthorized, limited atomic.Int64
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, _, err := c.svc.Login(at("10.0.0.1"), "alice", "guess")
				switch chat.ErrorCode(err) {
				case chat.EUnauthorized:
					unauthorized.Add(1)
				case chat.ERateLimited:
					limited.Add(1)
				default:
					t.Errorf("guess: %v", err)
				}
			}()
		}
		wg.Wait()
		if unauthorized.Load() != 10 || limited.Load() != 30 {
			t.Fatalf("%d guesses checked, %d refused; want 10 and 30", unauthorized.Load(), limited.Load())
		}
	})
	t.Run("the right password never spends the budget", func(t *testing.T) {
		c := newCore(t, options{})
		c.user(t, "alice", false)
		for i := range 30 {
			if _, _, _, err := c.svc.Login(at("10.0.0.1"), "alice", "a long password"); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		}
	})
	t.Run("one address spraying many usernames", func(t *testing.T) {
		c := newCore(t, options{})
		for i := range 50 {
			_, _, _, err := c.svc.Login(at("10.0.0.9"), fmt.Sprintf("user%03d", i), "guess")
			wantCode(t, err, chat.EUnauthorized)
		}
		_, _, _, err := c.svc.Login(at("10.0.0.9"), "user999", "guess")
		wantCode(t, err, chat.ERateLimited)
		_, _, _, err = c.svc.Login(at("10.0.0.10"), "user999", "guess")
		wantCode(t, err, chat.EUnauthorized)
	})
}

// gatedHasher holds every password check until the test opens the gate.
type gatedHasher struct {
	chat.PasswordHasher
	entered chan struct{}
	gate    chan struct{}
}

func (h gatedHasher) Verify(hash, pw string) (bool, error) {
	h.entered <- struct{}{}
	<-h.gate
	return h.PasswordHasher.Verify(hash, pw)
}

func TestPasswordHashingIsBounded(t *testing.T) {
	ctx := context.Background()
	h := gatedHasher{PasswordHasher: password.Argon2id{MemoryKiB: 64, Time: 1}, entered: make(chan struct{}, 8), gate: make(chan struct{})}
	c := newCore(t, options{hasher: h, hashSlots: 1, hashWait: time.Millisecond})
	c.user(t, "alice", false)
	first := make(chan error, 1)
	go func() {
		_, _, _, err := c.svc.Login(chat.WithPeer(ctx, "10.0.0.1"), "alice", "a long password")
		first <- err
	}()
	<-h.entered // the only slot is taken
	_, _, _, err := c.svc.Login(chat.WithPeer(ctx, "10.0.0.2"), "alice", "a long password")
	wantCode(t, err, chat.EUnavailable)
	if chat.RetryAfter(err) <= 0 {
		t.Fatal("no retry hint when the hash slots are full")
	}
	close(h.gate)
	if err := <-first; err != nil {
		t.Fatalf("the login holding the slot: %v", err)
	}
	// The refused login spent nothing: it succeeds now.
	if _, _, _, err := c.svc.Login(chat.WithPeer(ctx, "10.0.0.2"), "alice", "a long password"); err != nil {
		t.Fatal(err)
	}
}

func TestSignupLimitPerAddress(t *testing.T) {
	ctx := context.Background()
	c := newCore(t, options{signupRate: 1.0 / 60, signupBurst: 2})
	a := chat.WithPeer(ctx, "10.0.0.1")
	for i := range 2 {
		if _, err := c.svc.Signup(a, fmt.Sprintf("user%d", i), "a long password", ""); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.svc.Signup(a, "user2", "a long password", "")
	wantCode(t, err, chat.ERateLimited)
	if _, _, err := c.store.UserByName(ctx, "user2"); chat.ErrorCode(err) != chat.ENotFound {
		t.Fatalf("a refused signup stored its user: %v", err)
	}
	if _, err := c.svc.Signup(chat.WithPeer(ctx, "10.0.0.2"), "user2", "a long password", ""); err != nil {
		t.Fatalf("another address: %v", err)
	}
	c.clock.advance(61 * time.Second)
	if _, err := c.svc.Signup(a, "user3", "a long password", ""); err != nil {
		t.Fatalf("after the refill: %v", err)
	}
}
