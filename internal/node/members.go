package node

import (
	"context"

	"github.com/switchboard-chat/switchboard/internal/chat"
)

// Members returns a conversation's members through a short-lived cache that
// membership changes clear on every node.
func (n *Node) Members(ctx context.Context, convID string) (*chat.MemberSet, error) {
	if ms, ok := n.members.Get(convID); ok {
		return ms, nil
	}
	epoch := n.members.Epoch()
	start := n.cfg.Now()
	list, err := n.cfg.Store.Members(ctx, convID)
	n.observe("members", start)
	if err != nil {
		return nil, err
	}
	ms := chat.NewMemberSet(list)
	// A read that overlapped an invalidation may predate the change it
	// announced: use it, but do not cache it.
	n.members.PutAt(epoch, convID, ms)
	return ms, nil
}

// largeGroupsOf returns the large groups userID is a member of.
func (n *Node) largeGroupsOf(ctx context.Context, userID string) ([]string, error) {
	convs, err := n.cfg.Store.UserConversations(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range convs {
		if c.Kind != chat.KindGroup {
			continue
		}
		ms, err := n.Members(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		if ms.Len() > n.cfg.LargeGroup {
			out = append(out, c.ID)
		}
	}
	return out, nil
}
