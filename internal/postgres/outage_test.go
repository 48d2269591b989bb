package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// outageFixture is a store with a user and a group, opened with a logger.
func outageFixture(t *testing.T, dbURL string, logs *syncBuffer) (*postgres.Store, func(id string) []*chat.Append) {
	t.Helper()
	s, err := postgres.Open(context.Background(), dbURL, postgres.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	alice := chat.User{ID: "u1", Username: "alice", CreatedAt: 1}
	if err := s.CreateUser(ctx, alice, "h"); err != nil {
		t.Fatal(err)
	}
	g := chat.Conversation{ID: "g1", Kind: chat.KindGroup, Name: "gophers", CreatedAt: 1}
	if err := s.CreateGroup(ctx, g, alice.ID); err != nil {
		t.Fatal(err)
	}
	return s, func(id string) []*chat.Append {
		return []*chat.Append{{Message: chat.Message{ID: id, ConversationID: g.ID, SenderID: alice.ID, TS: 2, Text: id, ClientMsgID: id}}}
	}
}

// appendUntil retries an append (same client_msg_id) until it succeeds.
func appendUntil(t *testing.T, s *postgres.Store, batch []*chat.Append) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.AppendMessages(context.Background(), batch)
		if err == nil && batch[0].Err == nil {
			return
		}
		if chat.ErrorCode(err) != chat.EUnavailable {
			t.Fatalf("append: %v (code %q), want success or %q", err, chat.ErrorCode(err), chat.EUnavailable)
		}
		if time.Now().After(deadline) {
			t.Fatalf("append still fails: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// An outage is logged twice (start, end with its length), however many
// operations fail during it.
func TestOutageLoggedOnce(t *testing.T) {
	u, err := url.Parse(NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartProxy(t, u.Host)
	u.Host = p.Addr
	var logs syncBuffer
	s, msg := outageFixture(t, u.String(), &logs)
	appendUntil(t, s, msg("m1"))

	p.Stop()
	ctx := context.Background()
	for range 20 {
		if err := s.AppendMessages(ctx, msg("m2")); chat.ErrorCode(err) != chat.EUnavailable {
			t.Fatalf("append with the database gone = %v, want %q", err, chat.EUnavailable)
		}
		if err := s.Ping(ctx); chat.ErrorCode(err) != chat.EUnavailable {
			t.Fatalf("ping with the database gone = %v, want %q", err, chat.EUnavailable)
		}
	}
	p.Start()
	appendUntil(t, s, msg("m2"))
	appendUntil(t, s, msg("m3"))

	out := logs.String()
	for what, want := range map[string]int{"PostgreSQL unavailable": 1, "PostgreSQL available again": 1} {
		if got := strings.Count(out, what); got != want {
			t.Errorf("%q logged %d times, want %d:\n%s", what, got, want, out)
		}
	}
	if !strings.Contains(out, "outage=") || strings.Contains(out, "failed_operations=1 ") {
		t.Errorf("the end of the outage does not say how long it lasted and how much failed:\n%s", out)
	}
}

// A primary that turns read-only (a demoted primary, a standby behind the
// URL) fails writes with EUnavailable, so nothing is acknowledged, and the
// pool drops its connections, so once a writable server is back behind the
// URL the store writes again without a restart.
func TestReadOnlyPrimary(t *testing.T) {
	dbURL := NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var logs syncBuffer
	s, msg := outageFixture(t, dbURL, &logs)
	appendUntil(t, s, msg("m1"))

	// New sessions are read-only; the store's sessions end.
	exec := func(sql string) {
		t.Helper()
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("ALTER DATABASE " + pgx.Identifier{name}.Sanitize() + " SET default_transaction_read_only = on")
	exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	for range 10 {
		err := s.AppendMessages(ctx, msg("m2"))
		if code := chat.ErrorCode(err); code != chat.EUnavailable {
			t.Fatalf("append on a read-only server = %v (code %q), want %q", err, code, chat.EUnavailable)
		}
	}
	// The server is writable again; the pool must not keep its read-only
	// sessions.
	exec("ALTER DATABASE " + pgx.Identifier{name}.Sanitize() + " SET default_transaction_read_only = off")
	appendUntil(t, s, msg("m2"))
	got, err := s.Messages(ctx, "g1", chat.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 {
		t.Errorf("history after the read-only period = %+v, want m1 and m2 as seq 1 and 2", got)
	}
}
