package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/storetest"
)

// openStore opens a store on a database of its own.
func openStore(tb testing.TB) chat.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), NewDatabase(tb))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

// TestStore runs the conformance suite, each subtest on a new database.
func TestStore(t *testing.T) { storetest.Run(t, openStore) }

// BenchmarkAppend measures the append path against a local PostgreSQL.
func BenchmarkAppend(b *testing.B) { storetest.BenchmarkAppend(b, openStore) }

// BenchmarkSearch measures full-text search over SWITCHBOARD_BENCH_SEARCH_ROWS
// messages (default 20,000; docs/benchmarks.md has the 1,000,000 run).
func BenchmarkSearch(b *testing.B) {
	storetest.BenchmarkSearch(b, openStore, storetest.SearchRows(20_000))
}

// openOutbox opens a store with the push outbox on, on a database of its own.
func openOutbox(tb testing.TB) chat.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), NewDatabase(tb), postgres.WithPushOutbox(storetest.OutboxGrace*time.Millisecond))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

// TestPushOutbox runs the push outbox suite on stores opened with it.
func TestPushOutbox(t *testing.T) { storetest.RunPushOutbox(t, openOutbox) }

// BenchmarkAppendPushOutbox is BenchmarkAppend with the push outbox on.
func BenchmarkAppendPushOutbox(b *testing.B) { storetest.BenchmarkAppend(b, openOutbox) }
