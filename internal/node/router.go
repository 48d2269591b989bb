package node

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Publish delivers ev, an event of a conversation whose members are ms, to
// the online devices of recipients: one topic publish for a large group's
// event to most of its members (every node delivers a topic event to all
// its online members), else routed by node, as a group receipt to the
// few it concerns is.
func (n *Node) Publish(ctx context.Context, ev *chat.Event, ms *chat.MemberSet, recipients []string) {
	if n.topics == nil || ms.Len() <= n.cfg.LargeGroup || 2*len(recipients) <= ms.Len() {
		n.route(ctx, ev, recipients)
		return
	}
	if err := n.topics.bus.PublishTopic(ctx, eventConversation(ev), ev); err != nil {
		// At most once, like every bus send: members see the gap and sync.
		n.log.Warn("topic publish", "err", err)
	}
}

// route delivers ev to the online users among recipients: local ones
// directly, others with one bus envelope per node that holds any of them.
func (n *Node) route(ctx context.Context, ev *chat.Event, recipients []string) {
	if n.nodeLocal {
		// Every online user is here, and the deliverer passes over those
		// with no connection: asking who is online first would cost a map
		// for every message.
		e := *ev
		e.Recipients = recipients
		n.deliver(&e)
		return
	}
	byNode, err := n.cfg.Presence.Locate(ctx, recipients)
	if err != nil {
		n.log.Warn("locate recipients", "err", err)
		// Still reach this node's users; the others sync.
		byNode = map[string][]string{n.cfg.NodeID: recipients}
	}
	for node, users := range byNode {
		e := *ev
		e.Recipients = users
		if node == n.cfg.NodeID {
			n.deliver(&e)
			continue
		}
		if err := n.cfg.Bus.Send(ctx, node, &e); err != nil {
			n.log.Warn("bus send", "node", node, "err", err)
		}
	}
}

// eventConversation returns the conversation an event belongs to, if any.
func eventConversation(ev *chat.Event) string {
	switch {
	case ev.Message != nil:
		return ev.Message.ConversationID
	case ev.Receipt != nil:
		return ev.Receipt.ConversationID
	case ev.Typing != nil:
		return ev.Typing.ConversationID
	case ev.Member != nil:
		return ev.Member.ConversationID
	}
	return ""
}

// onBusEvent handles an event from another node (or a broadcast).
func (n *Node) onBusEvent(ev *chat.Event) {
	ctx := context.Background()
	if ev.Kind == chat.EventResync {
		// The cluster link was down and may have lost this node's presence
		// entries: publish them again before clients sync, or pushes sent
		// between their sync and the next periodic refresh would be lost.
		if r, ok := n.cfg.Presence.(chat.PresenceRefresher); ok {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := r.Refresh(rctx); err != nil {
				n.log.Warn("presence refresh after resync", "err", err)
			}
			cancel()
		}
	}
	if ev.Kind == chat.EventMember && ev.Member != nil {
		n.members.Forget(ev.Member.ConversationID)
		n.memberTopics(ctx, ev.Member)
		// After the member frame: the gateway first ends the watches of one
		// who left, so the room change reaches only those still in it.
		defer n.rooms.member(ctx, ev.Member)
	}
	if ev.Kind == chat.EventPresence && ev.Presence != nil {
		n.rooms.presence(ev.Presence)
	}
	if ev.Kind == chat.EventBlock && ev.Block != nil && n.hooks.Blocked != nil {
		n.hooks.Blocked(ev.Block)
	}
	if ev.Kind == chat.EventResync {
		n.rooms.reload(ctx)
	}
	switch ev.Kind {
	case chat.EventMessage, chat.EventUpdate, chat.EventReceipt, chat.EventTyping:
		if len(ev.Recipients) == 0 {
			// A topic event: this node's online members are its recipients.
			ms, err := n.Members(ctx, eventConversation(ev))
			if err != nil {
				n.log.Warn("topic event members", "err", err)
				return
			}
			ev.Recipients = ms.IDs()
		} else {
			// The sending node addressed it from its own member list, which
			// may predate a removal this node has already heard of.
			ev.Recipients = n.stillMembers(eventConversation(ev), ev.Recipients)
		}
	}
	n.deliver(ev)
}

// deliver hands ev to this node's connections, message pushes in seq order
// and updates in rev order. Its recipients come from this node's member
// list (local fan-out and topic events) or were checked against it on
// arrival (onBusEvent): once a member event removing someone has reached
// this node, nothing more of the group reaches that user's connections
// here, even from a node that had not heard of it yet.
func (n *Node) deliver(ev *chat.Event) {
	if ev.Kind == chat.EventMessage && ev.Message != nil {
		n.order.push(ev)
		return
	}
	if ev.Kind == chat.EventUpdate && ev.Message != nil {
		n.revOrder.push(ev)
		return
	}
	n.deliverer.Deliver(ev)
}

// stillMembers returns the members of convID among recipients.
func (n *Node) stillMembers(convID string, recipients []string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ms, err := n.Members(ctx, convID)
	if err != nil {
		n.log.Warn("members at delivery", "err", err)
		return recipients
	}
	out := recipients[:0:0]
	for _, u := range recipients {
		if ms.Has(u) {
			out = append(out, u)
		}
	}
	return out
}
