// Package inmem holds the single-node Presence and Bus: everything lives in
// this process, so every online user is on this node.
package inmem

import (
	"context"
	"sync"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

var _ chat.Presence = (*Presence)(nil)

// Presence tracks the connections of one node's users.
type Presence struct {
	node  string
	mu    sync.Mutex
	conns map[string]map[string]struct{} // user -> connection ids
}

// NewPresence returns an empty Presence for the node with the given id.
func NewPresence(node string) *Presence {
	return &Presence{node: node, conns: make(map[string]map[string]struct{})}
}

// Connect records a connection and returns the user's count.
func (p *Presence) Connect(_ context.Context, userID, connID string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conns[userID]
	if cs == nil {
		cs = make(map[string]struct{}, 1)
		p.conns[userID] = cs
	}
	cs[connID] = struct{}{}
	return len(cs), nil
}

// Disconnect removes a connection and returns how many the user has left.
func (p *Presence) Disconnect(_ context.Context, userID, connID string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs := p.conns[userID]
	delete(cs, connID)
	if len(cs) == 0 {
		delete(p.conns, userID)
		return 0, nil
	}
	return len(cs), nil
}

// Locate returns the online users among userIDs, all on this node.
func (p *Presence) Locate(_ context.Context, userIDs []string) (map[string][]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var here []string
	for _, id := range userIDs {
		if len(p.conns[id]) > 0 {
			here = append(here, id)
		}
	}
	if len(here) == 0 {
		return map[string][]string{}, nil
	}
	return map[string][]string{p.node: here}, nil
}

// NodeLocal reports that every user this Presence knows is on its node
// (chat.NodeLocal).
func (p *Presence) NodeLocal() bool { return true }

// Online reports which of userIDs have a connection.
func (p *Presence) Online(_ context.Context, userIDs []string) (map[string]bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(userIDs))
	for _, id := range userIDs {
		out[id] = len(p.conns[id]) > 0
	}
	return out, nil
}
