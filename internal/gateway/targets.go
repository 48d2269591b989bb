package gateway

import (
	"sync"
	"unsafe"
)

// targets remembers, per conversation, the connections a large recipient
// list resolved to, so that a group's messages do not look each member up
// in byUser again (one map lookup per member per message was 12% of the
// server's CPU under 1,000-member fan-out, docs/benchmarks.md).
//
// An entry is used only while both hold:
//   - the recipients are the very slice it was made from (the runtime
//     passes a conversation's cached member ids, the same backing array for
//     every message until the membership changes; slices are never changed
//     in place once in an event);
//   - no connection was registered or unregistered since (gen).
//
// Otherwise the list is resolved again and the entry replaced.
type targets struct {
	mu      sync.Mutex
	entries map[string]targetsEntry
}

type targetsEntry struct {
	ids   *string // the recipients' first element: the slice's identity, with n
	n     int
	gen   uint64
	conns []*conn
}

const (
	// targetsMin is the fewest recipients worth an entry: below it the
	// lookups cost little.
	targetsMin = 64
	// targetsMax bounds the entries; past it the map starts over.
	targetsMax = 4096
)

// get returns the connections of recipients, from the entry of conv when
// it is still good. It takes g.mu's read lock itself.
func (t *targets) get(g *Gateway, conv string, recipients []string) []*conn {
	if len(recipients) < targetsMin || conv == "" {
		return resolve(g, recipients)
	}
	ids := unsafe.SliceData(recipients)
	g.mu.RLock()
	gen := g.gen
	t.mu.Lock()
	e, ok := t.entries[conv]
	t.mu.Unlock()
	if ok && e.ids == ids && e.n == len(recipients) && e.gen == gen {
		g.mu.RUnlock()
		return e.conns
	}
	conns := resolveLocked(g, recipients)
	g.mu.RUnlock()
	t.mu.Lock()
	if t.entries == nil || len(t.entries) >= targetsMax {
		t.entries = make(map[string]targetsEntry)
	}
	t.entries[conv] = targetsEntry{ids: ids, n: len(recipients), gen: gen, conns: conns}
	t.mu.Unlock()
	return conns
}

// resolve returns the connections of recipients.
func resolve(g *Gateway, recipients []string) []*conn {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return resolveLocked(g, recipients)
}

// resolveLocked is resolve with g.mu held. Recipients may include users
// with no connection here (a single node routes to every member), so the
// room for the result is bounded.
func resolveLocked(g *Gateway, recipients []string) []*conn {
	out := make([]*conn, 0, min(len(recipients), 64))
	for _, u := range recipients {
		out = append(out, g.byUser[u]...)
	}
	return out
}
