package chat

import (
	"context"
	"slices"
)

// Room presence: a member who watches a group's room learns how many of its
// members are online and, while it watches, each change. A presence change
// already reaches every node once (a broadcast); each node keeps the online
// members of the rooms its connections watch and fans the change out to its
// own watchers, so one change costs one message per node, not per member.

// Room events.
const (
	RoomOnline  = "online"
	RoomOffline = "offline"
)

// MaxRoomUsers is how many online users a watch answer names.
const MaxRoomUsers = 100

// RoomSnapshot is a watched room's online members at one moment.
type RoomSnapshot struct {
	Online int
	Users  []string // usernames, sorted; at most MaxRoomUsers
}

// Watch starts watching a conversation's room for the caller's connection;
// only members may. The answer leaves out members who block the caller
// (they still count). Each Watch must be paired with one Unwatch.
func (s *Service) Watch(ctx context.Context, c ConnInfo, convID string) (RoomSnapshot, error) {
	if _, err := s.requireMember(ctx, convID, c.UserID); err != nil {
		return RoomSnapshot{}, err
	}
	snap, err := s.rt.WatchRoom(ctx, convID)
	if err != nil {
		return RoomSnapshot{}, err
	}
	hidden, err := s.hiddenFrom(ctx, c.UserID)
	if err != nil {
		s.rt.UnwatchRoom(convID)
		return RoomSnapshot{}, err
	}
	if len(hidden) > 0 {
		snap.Users = slices.DeleteFunc(slices.Clone(snap.Users), func(name string) bool {
			u, err := s.userByName(ctx, name)
			_, hide := hidden[u.ID]
			return err == nil && hide
		})
	}
	return snap, nil
}

// Unwatch ends one Watch of convID.
func (s *Service) Unwatch(convID string) { s.rt.UnwatchRoom(convID) }
