package postgres_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/schema"
)

func monthMS(y int, m time.Month, d int) int64 {
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).UnixMilli()
}

func partitionNames(t *testing.T, s *postgres.Store) []string {
	t.Helper()
	ps, err := s.Partitions(context.Background())
	if err != nil {
		t.Fatalf("Partitions: %v", err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestPartitions: the months around now exist from the start; a message
// of a month without a partition lands in the default one and moves when
// its month is made; a retired month's messages are gone from history
// (archived or dropped), and uniqueness holds across months.
func TestPartitions(t *testing.T) {
	ctx := context.Background()
	url := NewDatabase(t)
	s := MustOpen(t, url)
	now := time.Now().UTC()
	names := partitionNames(t, s)
	for i := range postgres.MonthsAhead + 1 {
		m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, i, 0)
		want := fmt.Sprintf("messages_y%04dm%02d", m.Year(), m.Month())
		if !slices.Contains(names, want) {
			t.Errorf("partitions %v lack %s", names, want)
		}
	}
	if names[len(names)-1] != "messages_default" {
		t.Errorf("partitions %v; want messages_default last", names)
	}

	alice := chat.User{ID: "u1", Username: "alice", CreatedAt: 1}
	if err := s.CreateUser(ctx, alice, "h"); err != nil {
		t.Fatal(err)
	}
	g := chat.Conversation{ID: "g1", Kind: chat.KindGroup, Name: "g", CreatedAt: 1}
	if err := s.CreateGroup(ctx, g, alice.ID); err != nil {
		t.Fatal(err)
	}
	send := func(id string, ts int64, client string) *chat.Append {
		t.Helper()
		b := []*chat.Append{{Message: chat.Message{ID: id, ConversationID: g.ID, SenderID: alice.ID, TS: ts, Text: id, ClientMsgID: client}}}
		if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil {
			t.Fatalf("append %s: %v, %v", id, err, b[0].Err)
		}
		return b[0]
	}
	send("m1", monthMS(2024, 1, 15), "c1")
	send("m2", monthMS(2024, 2, 15), "c2")
	send("m3", now.UnixMilli(), "c3")
	// The same client id in another month is a retry.
	if a := send("m4", now.UnixMilli(), "c1"); !a.Duplicate || a.Result.ID != "m1" {
		t.Errorf("retry of c1 in another month: duplicate %v, id %s; want m1", a.Duplicate, a.Result.ID)
	}
	if _, err := s.ChangeMessage(ctx, chat.Change{Kind: chat.ChangeReact, MessageID: "m1", ConversationID: g.ID, UserID: alice.ID, Emoji: "👍", On: true, TS: 5}); err != nil {
		t.Fatalf("react to m1: %v", err)
	}

	created, err := s.EnsurePartitions(ctx, time.UnixMilli(monthMS(2024, 1, 1)), 1)
	if err != nil || !slices.Equal(created, []string{"messages_y2024m01", "messages_y2024m02"}) {
		t.Fatalf("EnsurePartitions(2024-01, 1) = %v, %v", created, err)
	}
	count := func(table string) int {
		t.Helper()
		var n int
		db, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close(ctx)
		if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	if got := count("messages_y2024m01"); got != 1 {
		t.Errorf("messages_y2024m01 holds %d rows; want 1 (moved from the default partition)", got)
	}
	if got := count("messages_default"); got != 0 {
		t.Errorf("messages_default holds %d rows; want 0", got)
	}
	if ms, err := s.Messages(ctx, g.ID, chat.HistoryQuery{Limit: 10}); err != nil || len(ms) != 3 {
		t.Fatalf("history: %d messages, %v; want 3", len(ms), err)
	}

	retired, err := s.RetireMonths(ctx, time.UnixMilli(monthMS(2024, 2, 1)).Truncate(24*time.Hour), false)
	if err != nil || !slices.Equal(retired, []string{"messages_y2024m01"}) {
		t.Fatalf("RetireMonths(before 2024-02, archive) = %v, %v", retired, err)
	}
	if got := count("messages_archived_y2024m01"); got != 1 {
		t.Errorf("archived January holds %d rows; want 1", got)
	}
	if _, err := s.Message(ctx, "m1"); chat.ErrorCode(err) != chat.ENotFound {
		t.Errorf("Message(m1) after archiving its month: %v; want ENotFound", err)
	}
	retired, err = s.RetireMonths(ctx, time.UnixMilli(monthMS(2024, 3, 1)).Truncate(24*time.Hour), true)
	if err != nil || !slices.Equal(retired, []string{"messages_y2024m02"}) {
		t.Fatalf("RetireMonths(before 2024-03, drop) = %v, %v", retired, err)
	}
	if got := count("messages_y2024m02"); got != -1 {
		t.Errorf("dropped February still holds %d rows", got)
	}
	ms, err := s.Messages(ctx, g.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(ms) != 1 || ms[0].ID != "m3" {
		t.Fatalf("history after retiring: %+v, %v; want only m3", ms, err)
	}
	// The conversation goes on numbering after its retired messages.
	if a := send("m5", now.UnixMilli(), "c5"); a.Result.Seq != 4 {
		t.Errorf("next message has seq %d; want 4", a.Result.Seq)
	}
}

// TestPartitionMigration migrates a database holding messages, reactions
// and a client id in the pre-partition schema and checks that they are all
// there afterwards, in their months, with the uniqueness kept.
func TestPartitionMigration(t *testing.T) {
	ctx := context.Background()
	url := NewDatabase(t)
	ms, err := schema.Load(os.DirFS("."), "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE TABLE schema_version (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version >= 70 {
			break
		}
		if _, err := db.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `
		INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u1', 'alice', 'A', 'h', 1);
		INSERT INTO conversations (id, kind, name, created_at, last_seq, last_rev, member_count) VALUES ('g1', 'group', 'g', 1, 3, 1, 1);
		INSERT INTO members (conversation_id, user_id, joined_at, role) VALUES ('g1', 'u1', 1, 'owner');
		INSERT INTO messages (conversation_id, seq, id, sender_id, ts, text, client_msg_id) VALUES
			('g1', 1, 'm1', 'u1', 1, 'ancient', 'c1'),
			('g1', 2, 'm2', 'u1', 1704067200000, 'january words', 'c2'),
			('g1', 3, 'm3', 'u1', 1706745600000, 'february words', '');
		UPDATE messages SET rev = 1 WHERE id = 'm2';
		INSERT INTO reactions (message_id, emoji, user_id, at) VALUES ('m2', 'x', 'u1', 1);`); err != nil {
		t.Fatal(err)
	}
	s := MustOpen(t, url)
	names := partitionNames(t, s)
	for _, want := range []string{"messages_y1970m01", "messages_y2024m01", "messages_y2024m02"} {
		if !slices.Contains(names, want) {
			t.Errorf("partitions %v lack %s", names, want)
		}
	}
	got, err := s.Messages(ctx, "g1", chat.HistoryQuery{Limit: 10})
	if err != nil || len(got) != 3 || got[1].Text != "january words" || len(got[1].Reactions) != 1 {
		t.Fatalf("history after migrating: %+v, %v", got, err)
	}
	hits, err := s.Search(ctx, "u1", chat.SearchQuery{Text: "words"})
	if err != nil || len(hits) != 2 {
		t.Errorf("search after migrating: %d hits, %v; want 2", len(hits), err)
	}
	b := []*chat.Append{{Message: chat.Message{ID: "m4", ConversationID: "g1", SenderID: "u1", TS: time.Now().UnixMilli(), Text: "retry", ClientMsgID: "c1"}}}
	if err := s.AppendMessages(ctx, b); err != nil || b[0].Err != nil || !b[0].Duplicate || b[0].Result.ID != "m1" {
		t.Errorf("retry of a migrated client id: %v, %v, duplicate %v, id %s; want m1", err, b[0].Err, b[0].Duplicate, b[0].Result.ID)
	}
	b = []*chat.Append{{Message: chat.Message{ID: "m1", ConversationID: "g1", SenderID: "u1", TS: time.Now().UnixMilli(), Text: "same id"}}}
	if err := s.AppendMessages(ctx, b); err == nil && b[0].Err == nil {
		t.Errorf("a second message with a migrated message's id was stored")
	}
}
