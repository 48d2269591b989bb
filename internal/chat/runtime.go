package chat

import "context"

// Runtime is this node's machinery as the rules use it: the group-committed
// write path, fan-out to wherever members are connected, the member cache
// and the local presence of users with its grace timers. The rules decide
// what happens; the runtime decides how and where. internal/node implements
// it.
type Runtime interface {
	// NodeID returns this node's id.
	NodeID() string
	// Start runs the runtime's loops, delivering events for this node's
	// connections to d and telling h of presence changes, until ctx ends or
	// Stop is called.
	Start(ctx context.Context, d Deliverer, h Hooks)
	// Stop finishes the writes already accepted and stops the write path.
	// A Commit after Stop answers EUnavailable.
	Stop()

	// Commit queues a (its Message and MentionIDs) for the group-committed
	// write path. done is called
	// once, after the commit (or with the error), in submission order, from
	// the write path's goroutine: it must not block. A committed message is
	// then pushed to every device of every member but conn's.
	Commit(ctx context.Context, a Append, conn ConnInfo, done func(Message, error))

	// Change commits ch in the store and, when it changed the message,
	// pushes an update event to every device of every member but conn's;
	// every node pushes a conversation's updates in rev order.
	Change(ctx context.Context, ch Change, conn ConnInfo) (ChangeResult, error)

	// Members returns a conversation's members, through a short-lived cache
	// that membership changes clear on every node.
	Members(ctx context.Context, convID string) (*MemberSet, error)
	// Publish delivers ev, an event of a conversation whose members are ms,
	// to the online devices of recipients, wherever they are connected.
	Publish(ctx context.Context, ev *Event, ms *MemberSet, recipients []string)
	// Broadcast delivers ev to every node, this one included. A member event
	// also clears every node's cached members of its conversation.
	Broadcast(ctx context.Context, ev *Event)

	// Connected records a new connection; cameOnline is true when the user
	// had no connection (and was not merely back within the grace period),
	// conns is the user's live connections on every node, this one included.
	Connected(ctx context.Context, c ConnInfo) (cameOnline bool, conns int, err error)
	// Disconnected records a closed connection. When the user then has no
	// connection on any node, Hooks.Offline runs after the grace period,
	// unless the user came back meanwhile.
	Disconnected(ctx context.Context, c ConnInfo)
	// WatchRoom starts keeping convID's online members on this node (a
	// count of watchers: each call is paired with one UnwatchRoom) and
	// returns them. While watched, each presence or membership change that
	// moves the count is delivered here as one EventRoom, for this node's
	// watchers.
	WatchRoom(ctx context.Context, convID string) (RoomSnapshot, error)
	// UnwatchRoom ends one WatchRoom.
	UnwatchRoom(convID string)

	// Departing cancels the offline announcements still waiting out their
	// grace period and returns those users, for a last write of their
	// last-seen at shutdown.
	Departing() []string
}

// Hooks are the rules the runtime calls back into.
type Hooks struct {
	// Offline runs when a user's grace period ended with no connection on
	// any node; lastSeen is when its last connection closed.
	Offline func(ctx context.Context, userID, username string, lastSeen int64)
	// Blocked runs for every block event a node receives, its own too.
	Blocked func(b *BlockEvent)
}

// ConnInfo identifies the connection a request came from.
type ConnInfo struct {
	UserID   string
	Username string
	ConnID   string
	Session  string
}

// MemberSet is a conversation's members at one moment.
type MemberSet struct {
	List []Member
	set  map[string]struct{}
	ids  []string // the List's user ids, made once: every message's fan-out asks for them
}

// NewMemberSet returns the set of ms.
func NewMemberSet(ms []Member) *MemberSet {
	s := &MemberSet{List: ms, set: make(map[string]struct{}, len(ms)), ids: memberIDs(ms)}
	for _, m := range ms {
		s.set[m.UserID] = struct{}{}
	}
	return s
}

// Has reports whether userID is a member.
func (s *MemberSet) Has(userID string) bool {
	_, ok := s.set[userID]
	return ok
}

// Len is the number of members.
func (s *MemberSet) Len() int { return len(s.List) }

// IDs returns the members' user ids. The slice is shared by every caller
// and must not be changed; its capacity is its length, so appending to it
// copies.
func (s *MemberSet) IDs() []string { return s.ids[:len(s.ids):len(s.ids)] }

// Except returns the members' user ids but userID's.
func (s *MemberSet) Except(userID string) []string {
	out := make([]string, 0, len(s.List))
	for _, m := range s.List {
		if m.UserID != userID {
			out = append(out, m.UserID)
		}
	}
	return out
}

func memberIDs(ms []Member) []string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	return ids
}
