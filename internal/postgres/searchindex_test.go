package postgres

import (
	"context"
	"math"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/storetest"
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
	for _, q := range storetest.Schema40Rows {
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
	var indexed int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM message_search`).Scan(&indexed); err != nil || indexed != 3 {
		t.Errorf("message_search rows after the migration = %d, %v; want 3", indexed, err)
	}
	storetest.CheckMigratedSearch(t, s)
	storetest.CheckMigratedSenders(t, s)
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
