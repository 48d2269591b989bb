package node

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// localPresence is what this node knows of its own users: how many
// connections each has here, the offline announcement waiting out its
// grace period, and the large groups whose topics the user keeps
// subscribed. The cluster-wide view is chat.Presence; this lock is never
// held over its calls.
type localPresence struct {
	n     *Node
	mu    sync.Mutex
	users map[string]*userPresence
}

type userPresence struct {
	conns   int
	pending *time.Timer // offline announcement waiting out the grace period
	groups  []string    // large groups whose topics this user keeps subscribed
}

func newLocalPresence(n *Node) *localPresence {
	return &localPresence{n: n, users: make(map[string]*userPresence)}
}

// Connected records a new connection; see chat.Runtime.
func (n *Node) Connected(ctx context.Context, c chat.ConnInfo) (bool, int, error) {
	conns, err := n.cfg.Presence.Connect(ctx, c.UserID, c.ConnID)
	if err != nil {
		return false, 0, err
	}
	lp := n.local
	lp.mu.Lock()
	p := lp.users[c.UserID]
	if p == nil {
		p = &userPresence{}
		lp.users[c.UserID] = p
	}
	p.conns++
	first := p.conns == 1
	cameOnline := first && p.pending == nil
	if p.pending != nil {
		p.pending.Stop()
		p.pending = nil
	}
	lp.mu.Unlock()
	if first && n.topics != nil {
		groups, err := n.largeGroupsOf(ctx, c.UserID)
		if err != nil {
			n.log.Warn("large groups of user", "err", err)
		}
		lp.mu.Lock()
		var acquire []string
		if p.conns > 0 && p.groups == nil {
			p.groups = groups
			acquire = groups
		}
		lp.mu.Unlock()
		n.topics.acquire(ctx, acquire)
	}
	return cameOnline, conns, nil
}

// Disconnected records a closed connection; see chat.Runtime.
func (n *Node) Disconnected(ctx context.Context, c chat.ConnInfo) {
	remaining, err := n.cfg.Presence.Disconnect(ctx, c.UserID, c.ConnID)
	if err != nil {
		n.log.Warn("presence disconnect", "err", err)
	}
	lastSeen := n.cfg.Now().UnixMilli()
	lp := n.local
	lp.mu.Lock()
	p := lp.users[c.UserID]
	if p == nil {
		lp.mu.Unlock()
		return
	}
	p.conns--
	if p.conns > 0 {
		lp.mu.Unlock()
		return
	}
	release := p.groups
	p.groups = nil
	if remaining > 0 {
		delete(lp.users, c.UserID)
	} else {
		p.pending = time.AfterFunc(n.cfg.PresenceGrace, func() { n.goOffline(c, lastSeen, 0) })
	}
	lp.mu.Unlock()
	if n.topics != nil {
		n.topics.release(ctx, release)
	}
}

// goOffline ends a grace period: unless the user is back (here or on
// another node) it runs Hooks.Offline.
func (n *Node) goOffline(c chat.ConnInfo, lastSeen int64, attempt int) {
	lp := n.local
	if !lp.waiting(c.UserID) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if online, err := n.cfg.Presence.Online(ctx, []string{c.UserID}); err == nil && online[c.UserID] {
		// Online on another node, or this node's disconnect did not reach
		// the cluster's presence (its entry then lapses at its TTL): look
		// again later rather than never announce the user offline.
		lp.mu.Lock()
		if p := lp.users[c.UserID]; p != nil && p.conns == 0 {
			if attempt < 12 {
				p.pending = time.AfterFunc(n.cfg.PresenceGrace, func() { n.goOffline(c, lastSeen, attempt+1) })
			} else {
				delete(lp.users, c.UserID)
			}
		}
		lp.mu.Unlock()
		return
	}
	lp.mu.Lock()
	if p := lp.users[c.UserID]; p == nil || p.conns > 0 {
		lp.mu.Unlock()
		return
	}
	delete(lp.users, c.UserID)
	lp.mu.Unlock()
	if n.hooks.Offline != nil {
		n.hooks.Offline(ctx, c.UserID, c.Username, lastSeen)
	}
}

// waiting reports whether userID has no connection here and an entry.
func (lp *localPresence) waiting(userID string) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	p := lp.users[userID]
	return p != nil && p.conns == 0
}

// online reports whether userID has a connection on this node.
func (lp *localPresence) online(userID string) bool {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	p := lp.users[userID]
	return p != nil && p.conns > 0
}

// Departing cancels the offline announcements still waiting and returns
// their users; see chat.Runtime.
func (n *Node) Departing() []string {
	lp := n.local
	lp.mu.Lock()
	defer lp.mu.Unlock()
	var ids []string
	for id, p := range lp.users {
		if p.pending != nil && p.pending.Stop() {
			ids = append(ids, id)
		}
	}
	return ids
}

// memberTopics keeps topic subscriptions right when membership changes: a
// local online user who joins or leaves a large group, or a group that has
// just grown large while members of it are online here.
func (n *Node) memberTopics(ctx context.Context, m *chat.MemberEvent) {
	if n.topics == nil {
		return
	}
	lp := n.local
	// Most member events need nothing here: only a local online user's own
	// change, or a group that has just become large, changes subscriptions.
	crossed := m.Came() && m.Members == n.cfg.LargeGroup+1
	if m.Event == chat.MemberDeleted {
		// Every local user lets go of a deleted group's topic.
		lp.mu.Lock()
		var release []string
		for _, p := range lp.users {
			if i := slices.Index(p.groups, m.ConversationID); i >= 0 {
				p.groups = slices.Delete(p.groups, i, i+1)
				release = append(release, m.ConversationID)
			}
		}
		lp.mu.Unlock()
		n.topics.release(ctx, release)
		return
	}
	if !lp.online(m.UserID) && !crossed {
		return
	}
	if m.Gone() {
		lp.mu.Lock()
		var release []string
		if p := lp.users[m.UserID]; p != nil {
			if i := slices.Index(p.groups, m.ConversationID); i >= 0 {
				p.groups = slices.Delete(p.groups, i, i+1)
				release = []string{m.ConversationID}
			}
		}
		lp.mu.Unlock()
		n.topics.release(ctx, release)
		return
	}
	if !m.Came() {
		return // a role change
	}
	ms, err := n.Members(ctx, m.ConversationID)
	if err != nil {
		n.log.Warn("member topics", "err", err)
		return
	}
	if ms.Len() <= n.cfg.LargeGroup {
		return
	}
	// Joined: the joiner, and on crossing the threshold everyone, may need it.
	var acquire []string
	lp.mu.Lock()
	for id, p := range lp.users {
		if p.conns > 0 && ms.Has(id) && !slices.Contains(p.groups, m.ConversationID) {
			p.groups = append(p.groups, m.ConversationID)
			acquire = append(acquire, m.ConversationID)
		}
	}
	lp.mu.Unlock()
	n.topics.acquire(ctx, acquire)
}
