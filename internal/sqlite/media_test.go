package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/media/mediatest"
)

func TestMediaStore(t *testing.T) {
	mediatest.Run(t, func(tb testing.TB) mediatest.Store {
		return mustOpen(tb, filepath.Join(tb.TempDir(), "switchboard.db"))
	})
}
