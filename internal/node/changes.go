package node

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Change commits a change to a message and fans out its update; see
// chat.Runtime. Changes do not share the group-committed path of sends:
// they are rare next to sends, and each must answer with the message as it
// now is. Two changes committed at once may reach the fan-out in either
// order; every node's rev sequencer puts them back in rev order.
func (n *Node) Change(ctx context.Context, ch chat.Change, conn chat.ConnInfo) (chat.ChangeResult, error) {
	select {
	case <-n.stopping:
		return chat.ChangeResult{}, chat.Errorf(chat.EUnavailable, "node is shutting down")
	default:
	}
	start := n.cfg.Now()
	// Like a send, the write finishes even if the client has gone, so that
	// its retry finds it done rather than half known.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	res, err := n.cfg.Store.ChangeMessage(wctx, ch)
	cancel()
	n.observe("change", start)
	if err != nil || !res.Changed {
		return res, err
	}
	ms, err := n.Members(context.WithoutCancel(ctx), res.Message.ConversationID)
	if err != nil {
		// Committed: members who miss the push see the rev gap and sync.
		n.log.Warn("update fan-out members", "err", err)
		return res, nil
	}
	m := res.Message
	n.Publish(context.WithoutCancel(ctx), &chat.Event{Kind: chat.EventUpdate, Message: &m, ExceptConn: conn.ConnID, PrevTS: res.PrevTS}, ms, ms.IDs())
	return res, nil
}
