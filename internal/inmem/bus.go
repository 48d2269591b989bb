package inmem

import (
	"context"
	"sync"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.Bus = (*Bus)(nil)

// Bus is the bus of a single node: Send to this node and Broadcast hand the
// event to the running consumer. It never drops an event while Run runs.
type Bus struct {
	node string

	mu      sync.RWMutex
	handler func(*chat.Event)
}

// NewBus returns a Bus for the node with the given id.
func NewBus(node string) *Bus { return &Bus{node: node} }

// Send delivers ev if node is this node; there are no others.
func (b *Bus) Send(_ context.Context, node string, ev *chat.Event) error {
	if node != b.node {
		return chat.Errorf(chat.EUnavailable, "no node %q in a single-node setup", node)
	}
	return b.deliver(ev)
}

// Broadcast delivers ev to this node.
func (b *Bus) Broadcast(_ context.Context, ev *chat.Event) error { return b.deliver(ev) }

func (b *Bus) deliver(ev *chat.Event) error {
	b.mu.RLock()
	h := b.handler
	b.mu.RUnlock()
	if h == nil {
		return chat.Errorf(chat.EUnavailable, "bus is not running")
	}
	h(ev)
	return nil
}

// Run installs h as the consumer until ctx ends.
func (b *Bus) Run(ctx context.Context, h func(*chat.Event)) error {
	b.mu.Lock()
	b.handler = h
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	b.handler = nil
	b.mu.Unlock()
	return ctx.Err()
}
