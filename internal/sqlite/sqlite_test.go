package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/sqlite"
	"github.com/switchboard-chat/switchboard/internal/storetest"
)

// open returns a Store on a new file in a temporary directory.
func open(tb testing.TB) chat.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "switchboard.db"))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppend(b, open)
}
