package postgres

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestSearchIndexMigration: a database made before search indexing moved
// off the send path (schema 0040) has its messages indexed by the
// migration, edits of them keep the index right, and new messages are
// found too.
func TestSearchIndexMigration(t *testing.T) {
	ctx := context.Background()
	dbURL := testenv.Postgres(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, pool, 40); err != nil {
		t.Fatalf("migrate to 0040: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u1', 'alice', 'A', 'h', 1), ('u2', 'bob', 'B', 'h', 1)`,
		`INSERT INTO conversations (id, kind, name, created_at, last_seq, last_ts, visibility, history) VALUES ('c1', 'group', 'old', 1, 3, 1, 'public', 'all')`,
		`INSERT INTO members (conversation_id, user_id, joined_at, role) VALUES ('c1', 'u1', 1, 'owner'), ('c1', 'u2', 1, 'member')`,
		`INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text) VALUES
			('c1', 1, 'm1', 'u1', 1, 'old apple'), ('c1', 2, 'm2', 'u1', 2, 'old banana'), ('c1', 3, 'm3', 'u2', 3, 'old cherry')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pool.Close()

	s, err := Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	// The migration indexed what existed: no pass is needed for it.
	s.StopIndexer()
	if n, err := s.SearchBacklog(ctx); err != nil || n != 0 {
		t.Errorf("backlog after the migration = %d, %v; want 0", n, err)
	}
	var indexed int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM message_search`).Scan(&indexed); err != nil || indexed != 3 {
		t.Errorf("message_search rows after the migration = %d, %v; want 3", indexed, err)
	}
	search := func(text string) string {
		t.Helper()
		ms, err := s.Search(ctx, "u2", chat.SearchQuery{Text: text})
		if err != nil {
			t.Fatalf("Search(%q): %v", text, err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Text)
		}
		return fmt.Sprint(got)
	}
	if got, want := search("old"), "[old cherry old banana old apple]"; got != want {
		t.Errorf("Search(old) = %s; want %s", got, want)
	}
	if _, err := s.ChangeMessage(ctx, chat.Change{Kind: chat.ChangeEdit, MessageID: "m2", UserID: "u1", Text: "new banana", TS: 5}); err != nil {
		t.Fatalf("edit: %v", err)
	}
	a := &chat.Append{Message: chat.Message{ID: "m4", ConversationID: "c1", SenderID: "u2", Sender: "bob", TS: 6, Text: "new durian"}}
	if err := s.AppendMessages(ctx, []*chat.Append{a}); err != nil || a.Err != nil {
		t.Fatalf("append: %v, %v", err, a.Err)
	}
	if got, want := search("old"), "[old cherry old apple]"; got != want {
		t.Errorf("Search(old) after the edit = %s; want %s", got, want)
	}
	if got, want := search("new"), "[new durian new banana]"; got != want {
		t.Errorf("Search(new) = %s; want %s", got, want)
	}
}

// TestSearchIndexSlowCommit: a send whose transaction drew its search_id
// and then stays open while passes run (and commit) is indexed once it
// commits. Its transaction id is the newest assigned, above every
// snapshot's xmax while it runs (xmax is one past the latest completed
// id, not the next to be assigned), so passes that bounded the running
// transactions by xmax took the step over its search_id and skipped it for
// ever.
func TestSearchIndexSlowCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.StopIndexer() // the passes run here, in order
	if err := s.CreateUser(ctx, chat.User{ID: "u1", Username: "alice", CreatedAt: 1}, "h"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, chat.Conversation{ID: "g1", Kind: chat.KindGroup, Name: "g1", CreatedAt: 1}, "u1"); err != nil {
		t.Fatal(err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text)
		VALUES ('g1', 1, 'slow', 'u1', 1, 'slow walnut')`); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.indexPasses(ctx, true, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE conversations SET last_seq = 1 WHERE id = 'g1'`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Search(ctx, "u1", chat.SearchQuery{Text: "walnut"})
	if err != nil || len(ms) != 1 || ms[0].ID != "slow" {
		t.Fatalf("search after the slow commit: %+v, %v; want the message slow", ms, err)
	}
	if n, err := s.SearchBacklog(ctx); err != nil || n != 0 {
		t.Errorf("backlog = %d, %v; want 0", n, err)
	}
}
