package presencetest_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
	"github.com/switchboard-chat/switchboard/internal/presencetest"
)

// TestInmem runs the suite against the single-node Presence.
func TestInmem(t *testing.T) {
	presencetest.Run(t, func(t *testing.T, node string) chat.Presence {
		return inmem.NewPresence(node)
	}, false)
}
