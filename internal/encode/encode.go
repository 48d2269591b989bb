// Package encode turns the core's types into their wire shapes. The gateway
// and the HTTP API share it so a message looks the same on both.
package encode

import (
	"github.com/switchboard-chat/switchboard/internal/chat"
	"github.com/switchboard-chat/switchboard/wire"
)

// User returns the public view of u.
func User(u chat.User) wire.User {
	return wire.User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Avatar: u.AvatarID, Deleted: u.Deleted}
}

// Media returns the wire view of m; nil stays nil.
func Media(m *chat.Media) *wire.Media {
	if m == nil {
		return nil
	}
	return &wire.Media{ID: m.ID, ContentType: m.ContentType, Size: m.Size, Width: m.Width, Height: m.Height, SHA256: m.SHA256}
}

// Message returns the wire view of m.
func Message(m chat.Message) wire.Message {
	return wire.Message{
		ID:           m.ID,
		Conversation: m.ConversationID,
		Seq:          m.Seq,
		From:         m.Sender,
		TS:           m.TS,
		Text:         m.Text,
		Media:        Media(m.Media),
		ClientMsgID:  m.ClientMsgID,
		Rev:          m.Rev,
		EditedAt:     m.EditedAt,
		Deleted:      m.Deleted,
		ReplyTo:      m.ReplyTo,
		Mentions:     m.Mentions,
		Reactions:    Reactions(m.Reactions),
		Pinned:       m.Pinned,
	}
}

// Reactions returns the wire view of rs; nil stays nil.
func Reactions(rs []chat.Reaction) []wire.Reaction {
	if len(rs) == 0 {
		return nil
	}
	out := make([]wire.Reaction, len(rs))
	for i, r := range rs {
		out[i] = wire.Reaction{Emoji: r.Emoji, Count: r.Count, Users: r.Users}
	}
	return out
}

// Messages returns the wire views of ms; never nil, so JSON shows [].
func Messages(ms []chat.Message) []wire.Message {
	out := make([]wire.Message, len(ms))
	for i, m := range ms {
		out[i] = Message(m)
	}
	return out
}

// Conversation returns a member's view of a conversation.
func Conversation(c chat.ConversationState) wire.Conversation {
	return wire.Conversation{
		ID:           c.ID,
		Kind:         c.Kind,
		Name:         c.Name,
		Title:        c.Title,
		Peer:         c.Peer,
		LastSeq:      c.LastSeq,
		ReadSeq:      c.ReadSeq,
		DeliveredSeq: c.DeliveredSeq,
		Unread:       c.Unread(),
		Description:  c.Description,
		Visibility:   c.Visibility,
		History:      c.History,
		Role:         groupOnly(c, c.Role),
		MemberCount:  c.MemberCount,
		LastRev:      c.LastRev,

		UnreadMentions: c.UnreadMentions,
	}
}

// Conversations returns the views of cs; never nil.
func Conversations(cs []chat.ConversationState) []wire.Conversation {
	out := make([]wire.Conversation, len(cs))
	for i, c := range cs {
		out[i] = Conversation(c)
	}
	return out
}

// Presence returns the wire view of p.
func Presence(p chat.PresenceInfo) wire.Presence {
	return wire.Presence{User: p.Username, Online: p.Online, LastSeen: p.LastSeen}
}

// Event returns the frame that pushes ev to a client, and false for events
// that are not pushed as frames (revoke).
func Event(ev *chat.Event) (wire.ServerFrame, bool) {
	switch ev.Kind {
	case chat.EventMessage:
		m := Message(*ev.Message)
		return wire.ServerFrame{Type: wire.TypeMessage, Msg: &m}, true
	case chat.EventUpdate:
		m := Message(*ev.Message)
		return wire.ServerFrame{Type: wire.TypeUpdate, Conversation: m.Conversation, Rev: m.Rev, Msg: &m}, true
	case chat.EventReceipt:
		r := ev.Receipt
		return wire.ServerFrame{Type: wire.TypeReceiptEv, Conversation: r.ConversationID, UserName: r.Username, Status: r.Status, Seq: r.Seq}, true
	case chat.EventPresence:
		p := ev.Presence
		online, last := p.Online, p.LastSeen
		return wire.ServerFrame{Type: wire.TypePresence, UserName: p.Username, Online: &online, LastSeen: &last}, true
	case chat.EventTyping:
		return wire.ServerFrame{Type: wire.TypeTypingEv, Conversation: ev.Typing.ConversationID, UserName: ev.Typing.Username}, true
	case chat.EventMember:
		m := ev.Member
		return wire.ServerFrame{Type: wire.TypeMember, Conversation: m.ConversationID, UserName: m.Username, Event: m.Event, By: m.By, Role: m.Role}, true
	case chat.EventRoom:
		r := ev.Room
		online := r.Online
		return wire.ServerFrame{Type: wire.TypeRoom, Conversation: r.ConversationID, UserName: r.Username, Event: r.Event, OnlineCount: &online}, true
	case chat.EventResync:
		return wire.ServerFrame{Type: wire.TypeResync}, true
	}
	return wire.ServerFrame{}, false
}

// groupOnly returns v for a group and "" for a direct conversation, whose
// members have no roles.
func groupOnly(c chat.ConversationState, v string) string {
	if c.Kind != chat.KindGroup {
		return ""
	}
	return v
}
