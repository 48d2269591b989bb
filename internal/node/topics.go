package node

import (
	"context"
	"log/slog"
	"sync"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// topics counts, per large group, this node's online members of it, and
// keeps the node subscribed to the group's topic while the count is above
// zero. Counting takes a short lock; the bus calls that follow a count
// crossing zero run after it, one sync at a time, so a slow bus delays
// only connects and disconnects that change subscriptions, never a send.
type topics struct {
	bus chat.TopicBus
	log *slog.Logger

	mu    sync.Mutex
	refs  map[string]int      // group -> local online members
	dirty map[string]struct{} // groups whose count crossed zero since the last sync

	syncMu sync.Mutex      // one sync at a time, in order; held over bus calls
	have   map[string]bool // subscribed topics; guarded by syncMu
}

func newTopics(bus chat.TopicBus, log *slog.Logger) *topics {
	return &topics{bus: bus, log: log, refs: make(map[string]int), dirty: make(map[string]struct{}), have: make(map[string]bool)}
}

// acquire counts one more local online member of each group and returns
// once the node is subscribed to those that had none.
func (t *topics) acquire(ctx context.Context, groups []string) {
	t.change(ctx, groups, +1)
}

// release undoes acquire.
func (t *topics) release(ctx context.Context, groups []string) {
	t.change(ctx, groups, -1)
}

func (t *topics) change(ctx context.Context, groups []string, d int) {
	if len(groups) == 0 {
		return
	}
	t.mu.Lock()
	for _, g := range groups {
		before := t.refs[g]
		after := max(before+d, 0)
		if after == 0 {
			delete(t.refs, g)
		} else {
			t.refs[g] = after
		}
		if (before == 0) != (after == 0) {
			t.dirty[g] = struct{}{}
		}
	}
	t.mu.Unlock()
	t.sync(ctx)
}

// sync brings the bus subscriptions in line with the counts. A failed
// subscribe is tried again at the next sync.
func (t *topics) sync(ctx context.Context) {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.mu.Lock()
	want := make(map[string]bool, len(t.dirty))
	for g := range t.dirty {
		want[g] = t.refs[g] > 0
	}
	clear(t.dirty)
	t.mu.Unlock()
	for g, on := range want {
		switch {
		case on && !t.have[g]:
			if err := t.bus.SubscribeTopic(ctx, g); err != nil {
				t.log.Warn("subscribe topic", "group", g, "err", err)
				t.mu.Lock()
				t.dirty[g] = struct{}{}
				t.mu.Unlock()
				continue
			}
			t.have[g] = true
		case !on && t.have[g]:
			if err := t.bus.UnsubscribeTopic(ctx, g); err != nil {
				t.log.Warn("unsubscribe topic", "group", g, "err", err)
			}
			delete(t.have, g)
		}
	}
}

// count returns the local online members counted for group.
func (t *topics) count(group string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refs[group]
}
