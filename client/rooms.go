package client

import (
	"context"

	"github.com/switchboard-chat/switchboard/wire"
)

// Room is a watched room's online members at the time of the watch.
type Room struct {
	Online int      // online members
	Users  []string // the first online usernames (at most 100)
}

// Watch starts watching a conversation's room (members only): the answer
// carries its online count, and each later change arrives as a room event
// (Type "room", with OnlineCount, UserName and Event online or offline).
func (c *Conn) Watch(ctx context.Context, conversation string) (Room, error) {
	f, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypeWatch, Conversation: conversation})
	if err != nil {
		return Room{}, err
	}
	r := Room{Users: f.OnlineUsers}
	if f.OnlineCount != nil {
		r.Online = *f.OnlineCount
	}
	return r, nil
}

// Unwatch stops watching a room.
func (c *Conn) Unwatch(ctx context.Context, conversation string) error {
	_, err := c.Do(ctx, wire.ClientFrame{Type: wire.TypeUnwatch, Conversation: conversation})
	return err
}
