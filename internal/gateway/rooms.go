package gateway

import (
	"context"
	"slices"

	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// MaxWatchedRooms is how many rooms one connection may watch at once.
const MaxWatchedRooms = 100

// watchRoom answers a watch frame: the room's online count and first
// online users, then room frames while the connection watches.
func (c *conn) watchRoom(ctx context.Context, f wire.ClientFrame) {
	g := c.g
	g.mu.RLock()
	already := slices.Contains(c.rooms, f.Conversation)
	n := len(c.rooms)
	g.mu.RUnlock()
	if !already && n >= MaxWatchedRooms {
		c.sendError(f.ID, chat.Errorf(chat.ETooLarge, "a connection may watch at most %d rooms", MaxWatchedRooms))
		return
	}
	snap, err := g.svc.Watch(ctx, c.info, f.Conversation)
	if err != nil {
		c.sendError(f.ID, err)
		return
	}
	var hidden map[string]struct{}
	if !already {
		hidden, err = g.svc.HiddenFrom(ctx, c.info.UserID)
		if err != nil {
			g.svc.Unwatch(f.Conversation)
			c.sendError(f.ID, err)
			return
		}
	}
	g.mu.Lock()
	_, open := g.conns[c]
	keep := open && !slices.Contains(c.rooms, f.Conversation)
	if keep {
		add(g.rooms, f.Conversation, c)
		c.rooms = append(c.rooms, f.Conversation)
		c.hidden = hidden
	}
	g.mu.Unlock()
	if !keep {
		// Watched already (this call only read the count), or closed meanwhile.
		g.svc.Unwatch(f.Conversation)
	}
	online := snap.Online
	users := snap.Users
	if users == nil {
		users = []string{}
	}
	c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID, Conversation: f.Conversation, OnlineCount: &online, OnlineUsers: users})
}

// unwatchRoom answers an unwatch frame; unwatching a room not watched is
// not an error.
func (c *conn) unwatchRoom(f wire.ClientFrame) {
	g := c.g
	g.mu.Lock()
	i := slices.Index(c.rooms, f.Conversation)
	if i >= 0 {
		c.rooms = slices.Delete(c.rooms, i, i+1)
		remove(g.rooms, f.Conversation, c)
	}
	g.mu.Unlock()
	if i >= 0 {
		g.svc.Unwatch(f.Conversation)
	}
	c.send(wire.ServerFrame{Type: wire.TypeAck, ID: f.ID})
}

// deliverRoom pushes a room frame to the room's watchers here, but not to
// those blocked by the user it names.
func (g *Gateway) deliverRoom(ev *chat.Event, out outFrame) int {
	var targets []*conn
	g.mu.RLock()
	for c := range g.rooms[ev.Room.ConversationID] {
		if _, hide := c.hidden[ev.Room.UserID]; !hide {
			targets = append(targets, c)
		}
	}
	g.mu.RUnlock()
	for _, c := range targets {
		c.enqueue(out, false)
	}
	return len(targets)
}

// memberGone stops the room watches a membership change ends: the one who
// left, was removed or banned, or everyone's when the group was deleted.
func (g *Gateway) memberGone(m *chat.MemberEvent) {
	var dropped int
	g.mu.Lock()
	for c := range g.rooms[m.ConversationID] {
		if m.Event == chat.MemberDeleted || c.info.UserID == m.UserID {
			remove(g.rooms, m.ConversationID, c)
			if i := slices.Index(c.rooms, m.ConversationID); i >= 0 {
				c.rooms = slices.Delete(c.rooms, i, i+1)
			}
			dropped++
		}
	}
	g.mu.Unlock()
	for range dropped {
		g.svc.Unwatch(m.ConversationID)
	}
}

// blockChanged keeps presence away from a blocked user's connections here:
// they stop watching the blocker, and its room changes are hidden from them.
func (g *Gateway) blockChanged(b *chat.BlockEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.byUser[b.Blocked] {
		if b.On {
			remove(g.watchers, b.Blocker, c)
			if i := slices.Index(c.watching, b.Blocker); i >= 0 {
				c.watching = slices.Delete(c.watching, i, i+1)
			}
			if c.hidden == nil {
				c.hidden = make(map[string]struct{})
			}
			c.hidden[b.Blocker] = struct{}{}
		} else {
			delete(c.hidden, b.Blocker)
		}
	}
}
