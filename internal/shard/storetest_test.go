package shard_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/media/mediatest"
	"github.com/switchboard-chat/switchboard/internal/postgres"
	"github.com/switchboard-chat/switchboard/internal/shard"
	"github.com/switchboard-chat/switchboard/internal/storetest"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// newCluster creates a directory and n shard databases for one test (each
// dropped when it ends) and returns their URLs.
func newCluster(tb testing.TB, n int) (dir string, shards []string) {
	tb.Helper()
	dir = testenv.Postgres(tb)
	for range n {
		shards = append(shards, testenv.Postgres(tb))
	}
	return dir, shards
}

// mustOpen opens a sharded store on the databases; the caller closes it.
func mustOpen(tb testing.TB, dir string, shards []string) *shard.Store {
	tb.Helper()
	s, err := shard.Open(context.Background(), dir, shards)
	if err != nil {
		tb.Fatalf("shard.Open: %v", err)
	}
	return s
}

// openStore opens a store on a directory and three shards of its own.
func openStore(tb testing.TB) chat.Store {
	tb.Helper()
	dir, shards := newCluster(tb, 3)
	return mustOpen(tb, dir, shards)
}

// TestStore runs the conformance suite on a directory and three shards.
// AppendIdempotent's retry "to another conversation" holds here because
// its two groups hash to the same shard; across shards a client id is
// another message (TestRetryAcrossShards, docs/architecture.md).
func TestStore(t *testing.T) { storetest.Run(t, openStore) }

// TestMediaStore runs the media records' suite on a directory and three
// shards.
func TestMediaStore(t *testing.T) {
	mediatest.Run(t, func(tb testing.TB) mediatest.Store {
		dir, shards := newCluster(tb, 3)
		s := mustOpen(tb, dir, shards)
		tb.Cleanup(func() { s.Close() })
		return s
	})
}

// TestPushOutbox runs the push outbox suite on a directory and three
// shards: entries on the shards, jobs in the directory.
func TestPushOutbox(t *testing.T) {
	storetest.RunPushOutbox(t, func(tb testing.TB) chat.Store {
		tb.Helper()
		dir, shards := newCluster(tb, 3)
		s, err := shard.Open(context.Background(), dir, shards, postgres.WithPushOutbox(storetest.OutboxGrace*time.Millisecond))
		if err != nil {
			tb.Fatalf("shard.Open: %v", err)
		}
		return s
	})
}
