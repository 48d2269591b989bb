package postgres_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/media/mediatest"
)

func TestMediaStore(t *testing.T) {
	mediatest.Run(t, func(tb testing.TB) mediatest.Store {
		return MustOpen(tb, NewDatabase(tb))
	})
}
