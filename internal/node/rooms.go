package node

import (
	"context"
	"slices"
	"sync"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// rooms keeps, for each room this node's connections watch, the room's
// members and which of them are online, from the presence and member
// events that reach every node anyway. A change becomes one EventRoom for
// the local watchers: the cluster pays one message per node per change,
// whatever the size of the room. The lock is never held over I/O.
type rooms struct {
	n  *Node
	mu sync.Mutex
	m  map[string]*room
}

type room struct {
	refs    int
	loaded  chan struct{} // closed once members and online are read
	err     error
	members *chat.MemberSet
	online  map[string]string // online members: user id -> username
	touched map[string]bool   // presence seen while loading (it beats the load)
}

func newRooms(n *Node) *rooms { return &rooms{n: n, m: make(map[string]*room)} }

// WatchRoom starts watching convID here; see chat.Runtime.
func (n *Node) WatchRoom(ctx context.Context, convID string) (chat.RoomSnapshot, error) {
	rs := n.rooms
	rs.mu.Lock()
	r := rs.m[convID]
	first := r == nil
	if first {
		r = &room{loaded: make(chan struct{}), online: make(map[string]string), touched: make(map[string]bool)}
		rs.m[convID] = r
	}
	r.refs++
	rs.mu.Unlock()
	if first {
		err := rs.load(ctx, convID, r)
		rs.mu.Lock()
		r.err = err
		r.touched = nil
		rs.mu.Unlock()
		close(r.loaded)
	}
	select {
	case <-r.loaded:
	case <-ctx.Done():
		n.UnwatchRoom(convID)
		return chat.RoomSnapshot{}, ctx.Err()
	}
	rs.mu.Lock()
	err := r.err
	snap := r.snapshot()
	rs.mu.Unlock()
	if err != nil {
		n.UnwatchRoom(convID)
		return chat.RoomSnapshot{}, err
	}
	return snap, nil
}

// UnwatchRoom ends one WatchRoom; see chat.Runtime.
func (n *Node) UnwatchRoom(convID string) {
	rs := n.rooms
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.m[convID]; r != nil {
		r.refs--
		if r.refs <= 0 {
			delete(rs.m, convID)
		}
	}
}

// load reads a room's members and which of them are online.
func (rs *rooms) load(ctx context.Context, convID string, r *room) error {
	ms, err := rs.n.Members(ctx, convID)
	if err != nil {
		return err
	}
	online, err := rs.n.cfg.Presence.Online(ctx, ms.IDs())
	if err != nil {
		return err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	r.members = ms
	for id := range r.online {
		if !ms.Has(id) {
			delete(r.online, id) // came online during the load, but not a member
		}
	}
	for _, m := range ms.List {
		if r.touched[m.UserID] {
			continue // a presence event arrived meanwhile and is newer
		}
		if online[m.UserID] {
			r.online[m.UserID] = m.Username
		}
	}
	return nil
}

// snapshot is the room's count and first online usernames; rs.mu is held.
func (r *room) snapshot() chat.RoomSnapshot {
	names := make([]string, 0, len(r.online))
	for _, name := range r.online {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) > chat.MaxRoomUsers {
		names = names[:chat.MaxRoomUsers]
	}
	return chat.RoomSnapshot{Online: len(r.online), Users: names}
}

// presence applies a user's online change to the watched rooms it is a
// member of and delivers one EventRoom per room whose count moved.
func (rs *rooms) presence(p *chat.PresenceInfo) {
	var out []*chat.Event
	rs.mu.Lock()
	for convID, r := range rs.m {
		if r.members == nil {
			if r.touched != nil {
				r.touched[p.UserID] = true
				if p.Online {
					r.online[p.UserID] = p.Username // load drops it if not a member
				} else {
					delete(r.online, p.UserID)
				}
			}
			continue
		}
		if !r.members.Has(p.UserID) {
			continue
		}
		if ev := r.set(convID, p.UserID, p.Username, p.Online); ev != nil {
			out = append(out, ev)
		}
	}
	rs.mu.Unlock()
	for _, ev := range out {
		rs.n.deliverer.Deliver(ev)
	}
}

// set records userID online or not and returns the event for a change;
// rs.mu is held.
func (r *room) set(convID, userID, username string, online bool) *chat.Event {
	_, was := r.online[userID]
	if was == online {
		return nil
	}
	event := chat.RoomOffline
	if online {
		r.online[userID] = username
		event = chat.RoomOnline
	} else {
		delete(r.online, userID)
	}
	return &chat.Event{Kind: chat.EventRoom, Room: &chat.RoomEvent{
		ConversationID: convID, Online: len(r.online), UserID: userID, Username: username, Event: event,
	}}
}

// member follows a membership change of a watched room: a member who goes
// no longer counts, an online member who comes does.
func (rs *rooms) member(ctx context.Context, m *chat.MemberEvent) {
	rs.mu.Lock()
	r := rs.m[m.ConversationID]
	watched := r != nil && r.members != nil
	rs.mu.Unlock()
	if !watched || (!m.Gone() && !m.Came()) {
		return
	}
	ms, err := rs.n.Members(ctx, m.ConversationID)
	if err != nil {
		rs.n.log.Warn("room members", "err", err)
		return
	}
	online := false
	if m.Came() {
		on, err := rs.n.cfg.Presence.Online(ctx, []string{m.UserID})
		if err != nil {
			rs.n.log.Warn("room presence", "err", err)
		}
		online = on[m.UserID]
	}
	var ev *chat.Event
	rs.mu.Lock()
	if r := rs.m[m.ConversationID]; r != nil && r.members != nil {
		r.members = ms
		if m.Event != chat.MemberDeleted {
			ev = r.set(m.ConversationID, m.UserID, m.Username, online && ms.Has(m.UserID))
		}
	}
	rs.mu.Unlock()
	if ev != nil {
		rs.n.deliverer.Deliver(ev)
	}
}

// reload reads every watched room's online members again, after the bus
// link broke and presence events may have been lost.
func (rs *rooms) reload(ctx context.Context) {
	rs.mu.Lock()
	ids := make([]string, 0, len(rs.m))
	for id, r := range rs.m {
		if r.members != nil {
			ids = append(ids, id)
		}
	}
	rs.mu.Unlock()
	for _, id := range ids {
		ms, err := rs.n.Members(ctx, id)
		if err != nil {
			continue
		}
		online, err := rs.n.cfg.Presence.Online(ctx, ms.IDs())
		if err != nil {
			continue
		}
		rs.mu.Lock()
		if r := rs.m[id]; r != nil && r.members != nil {
			r.members = ms
			clear(r.online)
			for _, m := range ms.List {
				if online[m.UserID] {
					r.online[m.UserID] = m.Username
				}
			}
		}
		rs.mu.Unlock()
	}
}
