package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/storetest"
)

// TestSearchIndexMigration: a database made before search indexing moved
// off the send path (schema 0040) keeps finding its messages after the
// migration, edits of them keep the index right, and new messages are
// found too.
func TestSearchIndexMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_pragma": {"journal_mode(WAL)", "foreign_keys(1)"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateTo(ctx, db, 40); err != nil {
		t.Fatalf("migrate to 0040: %v", err)
	}
	for _, q := range storetest.Schema40Rows {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	storetest.CheckMigratedSearch(t, s)
	storetest.CheckMigratedSenders(t, s)
}
