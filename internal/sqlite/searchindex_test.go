package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
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
	for _, q := range []string{
		`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u1', 'alice', 'A', 'h', 1), ('u2', 'bob', 'B', 'h', 1)`,
		`INSERT INTO conversations (id, kind, name, created_at, last_seq, last_ts, visibility, history) VALUES ('c1', 'group', 'old', 1, 3, 1, 'public', 'all')`,
		`INSERT INTO members (conversation_id, user_id, joined_at, role) VALUES ('c1', 'u1', 1, 'owner'), ('c1', 'u2', 1, 'member')`,
		`INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text) VALUES
			('c1', 1, 'm1', 'u1', 1, 'old apple'), ('c1', 2, 'm2', 'u1', 2, 'old banana'), ('c1', 3, 'm3', 'u2', 3, 'old cherry')`,
	} {
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
	if n, err := s.SearchBacklog(ctx); err != nil || n != 0 {
		t.Errorf("backlog after the migration = %d, %v; want 0", n, err)
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
