package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Schema40Rows fill a database at schema 0040 (before search indexing
// moved off the send path) with two users, a group and three messages;
// both stores' migration tests write them, migrate, and then run
// CheckMigratedSearch.
var Schema40Rows = []string{
	`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u1', 'alice', 'A', 'h', 1), ('u2', 'bob', 'B', 'h', 1)`,
	`INSERT INTO conversations (id, kind, name, created_at, last_seq, last_ts, visibility, history) VALUES ('c1', 'group', 'old', 1, 3, 1, 'public', 'all')`,
	`INSERT INTO members (conversation_id, user_id, joined_at, role) VALUES ('c1', 'u1', 1, 'owner'), ('c1', 'u2', 1, 'member')`,
	`INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text) VALUES
		('c1', 1, 'm1', 'u1', 1, 'old apple'), ('c1', 2, 'm2', 'u1', 2, 'old banana'), ('c1', 3, 'm3', 'u2', 3, 'old cherry')`,
}

// CheckMigratedSearch checks a store opened on Schema40Rows after the
// migrations: nothing is left to index, the old messages are found, an
// edit of one keeps the index right, and a new message is found too.
func CheckMigratedSearch(t *testing.T, s chat.Store) {
	t.Helper()
	ctx := context.Background()
	if n, err := indexerOf(t, s).SearchBacklog(ctx); err != nil || n != 0 {
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
