package tui

import (
	"sort"

	"github.com/switchboard-chat/switchboard/wire"
)

// line is one message as the chat view holds it: stored (Seq > 0) or
// still on its way (pending; queued while offline; or failed).
type line struct {
	wire.Message
	pending bool
	queued  bool
	failed  bool
}

// conversation is one conversation as the UI holds it: what the server
// said about it, the messages loaded so far in seq order, the other
// members' positions and who is typing.
type conversation struct {
	wire.Conversation

	lines       []line // stored lines by seq, then local ones
	loaded      bool   // the newest page was fetched
	loadingOld  bool   // a page of older history is on its way
	complete    bool   // seq 1 is loaded (or there is nothing)
	members     map[string]wire.Member
	typing      map[string]int // user -> generation of the indicator
	scroll      int            // lines scrolled up from the bottom
	readSent    int64          // highest read receipt asked for
	membersAsks bool           // members were asked for since connecting
}

func newConversation(c wire.Conversation) *conversation {
	return &conversation{Conversation: c, members: map[string]wire.Member{}, typing: map[string]int{}}
}

// key names the conversation: its id, or "@peer" for a direct one that
// has no message yet.
func (c *conversation) key() string {
	if c.ID == "" {
		return "@" + c.Peer
	}
	return c.ID
}

// label is the conversation's name in the list and the chat header.
func (c *conversation) label() string {
	if c.Kind == "group" {
		return "#" + c.Name
	}
	return "@" + c.Peer
}

// update takes the server's view of the conversation's positions; they
// only move forward.
func (c *conversation) update(w wire.Conversation) {
	if c.ID == "" {
		c.ID = w.ID
	}
	c.Kind, c.Name, c.Title, c.Peer = w.Kind, w.Name, w.Title, w.Peer
	c.LastSeq = max(c.LastSeq, w.LastSeq)
	c.ReadSeq = max(c.ReadSeq, w.ReadSeq)
	c.DeliveredSeq = max(c.DeliveredSeq, w.DeliveredSeq)
	c.Unread = max(0, c.LastSeq-c.ReadSeq)
}

// unread is how many messages are past the read position.
func (c *conversation) unread() int64 { return max(0, c.LastSeq-c.ReadSeq) }

// oldest is the lowest stored seq loaded, or 0.
func (c *conversation) oldest() int64 {
	if len(c.lines) > 0 && c.lines[0].Seq > 0 {
		return c.lines[0].Seq
	}
	return 0
}

// add merges stored messages by seq, dropping those already held and the
// pending line each one confirms. It reports how many were new.
func (c *conversation) add(ms ...wire.Message) int {
	added := 0
	for _, m := range ms {
		if m.Seq <= 0 {
			continue
		}
		c.LastSeq = max(c.LastSeq, m.Seq)
		if m.ClientMsgID != "" {
			c.dropLocal(m.ClientMsgID)
		}
		n := c.storedCount()
		i := sort.Search(n, func(i int) bool { return c.lines[i].Seq >= m.Seq })
		if i < n && c.lines[i].Seq == m.Seq {
			continue
		}
		c.lines = append(c.lines, line{})
		copy(c.lines[i+1:], c.lines[i:])
		c.lines[i] = line{Message: m}
		added++
		if m.Seq == 1 {
			c.complete = true
		}
	}
	return added
}

// storedCount is how many lines have a seq (they come first).
func (c *conversation) storedCount() int {
	n := len(c.lines)
	for n > 0 && c.lines[n-1].Seq == 0 {
		n--
	}
	return n
}

// addLocal appends a line being sent.
func (c *conversation) addLocal(m wire.Message) {
	c.lines = append(c.lines, line{Message: m, pending: true})
}

// dropLocal removes the local line with the given client_msg_id.
func (c *conversation) dropLocal(id string) {
	for i := c.storedCount(); i < len(c.lines); i++ {
		if c.lines[i].ClientMsgID == id {
			c.lines = append(c.lines[:i], c.lines[i+1:]...)
			return
		}
	}
}

// failLocal marks the local line with the given client_msg_id as not sent.
func (c *conversation) failLocal(id string) {
	for i := c.storedCount(); i < len(c.lines); i++ {
		if c.lines[i].ClientMsgID == id {
			c.lines[i].pending, c.lines[i].failed = false, true
		}
	}
}

// queueLocal marks the local line with the given client_msg_id as
// waiting for the connection.
func (c *conversation) queueLocal(id string) {
	for i := c.storedCount(); i < len(c.lines); i++ {
		if c.lines[i].ClientMsgID == id {
			c.lines[i].pending, c.lines[i].queued = false, true
		}
	}
}

// takeQueued marks the queued lines pending again and returns them, oldest
// first, to be sent now.
func (c *conversation) takeQueued() []line {
	var out []line
	for i := c.storedCount(); i < len(c.lines); i++ {
		if c.lines[i].queued {
			c.lines[i].queued, c.lines[i].pending = false, true
			out = append(out, c.lines[i])
		}
	}
	return out
}

// receipt applies a receipt frame: user's position moved to seq.
func (c *conversation) receipt(user, status string, seq int64) {
	m := c.members[user]
	m.Username = user
	m.DeliveredSeq = max(m.DeliveredSeq, seq)
	if status == "read" {
		m.ReadSeq = max(m.ReadSeq, seq)
	}
	c.members[user] = m
}

// Tick marks for one's own messages.
const (
	tickPending   = "…"
	tickQueued    = "… queued"
	tickFailed    = "✗ not sent"
	tickSent      = "✓"
	tickDelivered = "✓✓"
	tickRead      = "✓✓ read"
)

// tick is the mark of the user me's own line l: sent once stored,
// delivered once every other member has it, read once every other member
// has read it.
func (c *conversation) tick(me string, l line) string {
	switch {
	case l.failed:
		return tickFailed
	case l.queued:
		return tickQueued
	case l.pending:
		return tickPending
	}
	delivered, read, others := true, true, 0
	for name, m := range c.members {
		if name == me {
			continue
		}
		others++
		if m.DeliveredSeq < l.Seq {
			delivered = false
		}
		if m.ReadSeq < l.Seq {
			read = false
		}
	}
	switch {
	case others == 0:
		return tickSent
	case read:
		return tickRead
	case delivered:
		return tickDelivered
	}
	return tickSent
}
