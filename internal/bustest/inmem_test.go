package bustest_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/internal/bustest"
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/internal/inmem"
)

// TestInmem runs the suite against the single-node Bus.
func TestInmem(t *testing.T) {
	bustest.Run(t, func(t *testing.T, node string) chat.Bus {
		return inmem.NewBus(node)
	}, false)
}
