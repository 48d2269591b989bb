package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
	"github.com/switchboard-chat/switchboard/internal/storetest"
)

// open returns a Store on a new file in a temporary directory.
func open(tb testing.TB) chat.Store {
	tb.Helper()
	return mustOpen(tb, filepath.Join(tb.TempDir(), "switchboard.db"))
}

func mustOpen(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppend(b, open)
}

// BenchmarkSearch measures full-text search over SWITCHBOARD_BENCH_SEARCH_ROWS
// messages (default 20,000; docs/benchmarks.md has the 1,000,000 run).
func BenchmarkSearch(b *testing.B) {
	storetest.BenchmarkSearch(b, open, storetest.SearchRows(20_000))
}

// TestReopen checks that what was acknowledged is there after a reopen and
// that numbering goes on where it stopped.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	s := mustOpen(t, path)
	u := chat.User{ID: "u1", Username: "alice", DisplayName: "Alice", CreatedAt: 1}
	if err := s.CreateUser(ctx, u, "hash"); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	c := chat.Conversation{ID: "g1", Kind: chat.KindGroup, Name: "gophers", Title: "Gophers", CreatedAt: 2}
	if err := s.CreateGroup(ctx, c, u.ID); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	appendOne := func(s *sqlite.Store, id string) chat.Message {
		t.Helper()
		a := &chat.Append{Message: chat.Message{ID: id, ConversationID: c.ID, SenderID: u.ID, TS: 3, Text: id, ClientMsgID: "c-" + id}}
		if err := s.AppendMessages(ctx, []*chat.Append{a}); err != nil || a.Err != nil {
			t.Fatalf("AppendMessages: %v, %v", err, a.Err)
		}
		return a.Result
	}
	first := appendOne(s, "m1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = mustOpen(t, path)
	defer s.Close()
	ms, err := s.Messages(ctx, c.ID, chat.HistoryQuery{Limit: 10})
	if err != nil || len(ms) != 1 || !reflect.DeepEqual(ms[0], first) {
		t.Fatalf("Messages after reopen = %+v, %v; want [%+v]", ms, err, first)
	}
	if got := appendOne(s, "m2"); got.Seq != 2 {
		t.Errorf("seq after reopen = %d; want 2", got.Seq)
	}
}

// TestNewerSchema checks that a file migrated by a newer build is refused
// rather than written with an older idea of the schema.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	mustOpen(t, path).Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO schema_version (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := sqlite.Open(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "9999") {
		t.Errorf("Open error = %v; want it to name version 9999", err)
	}
}

// TestClosed checks that calls on a closed store fail cleanly, also when
// they race with Close.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "switchboard.db"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for k := range 50 {
				name := fmt.Sprintf("user%d-%d", i, k)
				u := chat.User{ID: "id-" + name, Username: name}
				err := s.CreateUser(ctx, u, "h")
				if err != nil && chat.ErrorCode(err) != chat.EUnavailable {
					t.Errorf("CreateUser while closing: %v; want nil or unavailable", err)
				}
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	err := s.CreateUser(ctx, chat.User{ID: "late", Username: "late"}, "h")
	if code := chat.ErrorCode(err); code != chat.EUnavailable {
		t.Errorf("CreateUser after Close: %v; want code %q", err, chat.EUnavailable)
	}
	if err := s.Ping(ctx); chat.ErrorCode(err) != chat.EUnavailable {
		t.Errorf("Ping after Close: %v; want code %q", err, chat.EUnavailable)
	}
}

// TestBadPath checks that Open reports a file it cannot create.
func TestBadPath(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "missing-dir", "x.db"), "a?b.db"} {
		if s, err := sqlite.Open(context.Background(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; want an error", path)
		}
	}
}

// BenchmarkReceipts measures read receipts from many concurrent clients,
// which share commits through the writer's group commit.
func BenchmarkReceipts(b *testing.B) {
	ctx := context.Background()
	s := mustOpen(b, filepath.Join(b.TempDir(), "switchboard.db"))
	defer s.Close()
	const readers = 64
	owner := chat.User{ID: "owner", Username: "owner"}
	if err := s.CreateUser(ctx, owner, "h"); err != nil {
		b.Fatal(err)
	}
	g := chat.Conversation{ID: "g", Kind: chat.KindGroup, Name: "g", CreatedAt: 1}
	if err := s.CreateGroup(ctx, g, owner.ID); err != nil {
		b.Fatal(err)
	}
	for i := range readers {
		u := chat.User{ID: fmt.Sprintf("r%d", i), Username: fmt.Sprintf("reader%d", i)}
		if err := s.CreateUser(ctx, u, "h"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.AddMember(ctx, g.ID, u.ID, 1); err != nil {
			b.Fatal(err)
		}
	}
	const msgs = 20_000
	for sent := 0; sent < msgs; sent += 500 {
		batch := make([]*chat.Append, 500)
		for i := range batch {
			batch[i] = &chat.Append{Message: chat.Message{ID: fmt.Sprintf("m%d", sent+i), ConversationID: g.ID, SenderID: owner.ID, Text: "x"}}
		}
		if err := s.AppendMessages(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Int64
	b.SetParallelism(readers / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		user := fmt.Sprintf("r%d", next.Add(1)%readers)
		seq := int64(0)
		for pb.Next() {
			seq = min(seq+1, msgs)
			if _, _, err := s.AdvanceReceipt(ctx, user, g.ID, chat.StatusRead, seq); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "receipts/s")
}

// openOutbox returns a Store with the push outbox on.
func openOutbox(tb testing.TB) chat.Store {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "switchboard.db")
	s, err := sqlite.Open(context.Background(), path, sqlite.WithPushOutbox(storetest.OutboxGrace*time.Millisecond))
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

// TestPushOutbox runs the push outbox suite on stores opened with it.
func TestPushOutbox(t *testing.T) { storetest.RunPushOutbox(t, openOutbox) }

// BenchmarkAppendPushOutbox is BenchmarkAppend with the push outbox on.
func BenchmarkAppendPushOutbox(b *testing.B) { storetest.BenchmarkAppend(b, openOutbox) }
